import { Inject, Injectable, NestMiddleware, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { hashApiKey } from '../config/load-config';
import { closeIfBodyUnread } from './unread-body';

export const UNAUTHORIZED_MESSAGE =
  'missing or invalid API key: send the header Authorization: Bearer <key>';

/**
 * Paths open without a key: probes, the API docs and the dashboard's static files (/ui; the API
 * calls it makes carry the key) always, metrics unless configured otherwise. `path` is the raw
 * path, as the router matches it: anything spelt differently is not open.
 */
export function isOpenPath(path: string, metricsRequireAuth: boolean): boolean {
  if (/^\/(health|docs|ui)(\/|$)/.test(path) || /^\/docs-(json|yaml)$/.test(path)) return true;
  return !metricsRequireAuth && /^\/metrics\/?$/.test(path);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * With API_KEYS set, every request but those to open paths needs a configured key as a bearer
 * token. The first of the app's middleware after the metrics timer: it runs before the body is
 * read or parsed and before routing, so a request without a key costs no parsing and learns
 * nothing about the routes (an unknown path is a 401 too, not a 404).
 *
 * Only SHA-256 hashes of the keys are held (AppConfig.apiKeyHashes); the presented key is hashed
 * too, so the comparison is over equal-length digests with timingSafeEqual, and every configured
 * key is compared, so the time taken does not tell which one (if any) was close. Keys and
 * presented tokens are never logged; a refusal is a 401 the envelope filter answers.
 */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  private readonly hashes: Buffer[];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.hashes = config.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (this.hashes.length === 0 || isOpenPath(pathOf(req), this.config.metricsRequireAuth)) {
      return next();
    }
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined && this.matches(token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="delay-tasks"');
    closeIfBodyUnread(req, res);
    throw new UnauthorizedException(UNAUTHORIZED_MESSAGE);
  }

  private matches(token: string): boolean {
    const presented = Buffer.from(hashApiKey(token), 'hex');
    let found = false;
    for (const hash of this.hashes) found = timingSafeEqual(presented, hash) || found;
    return found;
  }
}

/** The request's path without its query: Nest mounts middleware on `/{*path}`, so not req.path. */
function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
