import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { envelopeJson, JSON_CONTENT_TYPE } from '../../common/envelope';

/** Where the UI is served; its Vite build uses this base. */
export const UI_MOUNT = '/ui';
export const UI_NOT_BUILT_MESSAGE = 'dashboard not built: run npm run build';
/** Hashed build output: a changed file gets a new name, so it may be cached for good. */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** index.html names the current assets: revalidated on every load. */
export const PAGE_CACHE_CONTROL = 'no-cache';

/**
 * The path segments of a request under /ui (`path` relative to the mount, still percent-encoded),
 * decoded; undefined when it could leave the directory or name a hidden file: a segment that
 * does not decode, that decodes to `.`, `..` or anything starting with a dot, or that holds a
 * slash, a backslash or NUL once decoded (`..%2f`, `%2e%2e`, `..%5c`), or an empty segment
 * (`//`). `/` (and the mount itself) is [].
 */
export function uiPathSegments(path: string): string[] | undefined {
  if (path === '/' || path === '') return [];
  const raw = path.split('/').slice(1);
  if (raw[raw.length - 1] === '') raw.pop(); // a trailing slash
  const segments: string[] = [];
  for (const segment of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (decoded === '' || decoded.startsWith('.') || /[/\\\0]/.test(decoded)) return undefined;
    segments.push(decoded);
  }
  return segments;
}

/**
 * Serves the dashboard's built files (`uiDir`, the Vite build's output) at /ui: index.html for
 * /ui and /ui/, files by their path, with content types by extension. Hashed files under
 * assets/ are cached for a year (immutable), everything else revalidated (no-cache). A path
 * without an extension that is no file (a page of the UI's own routing, /ui/categories/orders)
 * gets index.html too; a missing file is a 404 in the envelope. Without a build (no index.html),
 * every /ui path answers 404 "dashboard not built: run npm run build". Only GET and HEAD; other
 * methods go on to the API (which answers 404).
 *
 * Mounted before Nest's middleware, so no API key is asked for (isOpenPath lists /ui as open):
 * these are public files, and the API calls the page makes carry the key. Paths are checked
 * (uiPathSegments) before any file is looked up, and serve-static (send) refuses to leave its
 * root as well.
 */
export function serveDashboardUi(uiDir: string): RequestHandler {
  const indexFile = join(uiDir, 'index.html');
  const files = express.static(uiDir, {
    index: false,
    redirect: false,
    fallthrough: true,
    dotfiles: 'deny',
    setHeaders: (res: Response, path: string) => {
      const asset = path.startsWith(join(uiDir, 'assets') + '/');
      res.setHeader('Cache-Control', asset ? ASSET_CACHE_CONTROL : PAGE_CACHE_CONTROL);
    },
  });
  const sendIndex = (res: Response): void => {
    res.setHeader('Cache-Control', PAGE_CACHE_CONTROL);
    res.sendFile(indexFile, (error?: Error) => {
      if (error && !res.headersSent) answer(res, 404, UI_NOT_BUILT_MESSAGE); // removed meanwhile
    });
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!existsSync(indexFile)) return answer(res, 404, UI_NOT_BUILT_MESSAGE);
    const segments = uiPathSegments(req.path);
    if (segments === undefined) return answer(res, 404, 'not found');
    if (segments.length === 0) return sendIndex(res);
    files(req, res, (error?: unknown) => {
      if (error !== undefined) return answer(res, 404, 'not found');
      const last = segments[segments.length - 1];
      if (segments[0] === 'assets' || extname(last) !== '') return answer(res, 404, 'not found');
      sendIndex(res);
    });
  };
}

function answer(res: Response, code: number, msg: string): void {
  res.status(code).setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.end(envelopeJson(code, msg));
}
