import { ForbiddenException, Inject, Injectable, NestMiddleware } from '@nestjs/common';
import { IncomingHttpHeaders } from 'node:http';
import { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { normalizeOrigin } from '../config/load-config';
import { closeIfBodyUnread } from './unread-body';

export const CROSS_SITE_MESSAGE =
  "cross-site request refused: a web page may change state only from this service's own " +
  'origin or one of ALLOWED_ORIGINS';

/** Methods that only read; every other method may change state. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What isCrossSiteRequest reads of a request. */
export interface RequestOrigin {
  method: string;
  /** The scheme the request reached this service by: express's req.protocol. */
  protocol: string;
  headers: Pick<IncomingHttpHeaders, 'host' | 'origin' | 'sec-fetch-site'>;
}

/**
 * Whether a state-changing request comes from a web page of another origin, which a browser
 * sends on the page's behalf (a form, or a `text/plain` fetch, needs no CORS preflight). Browsers
 * send `Origin` on every such request and `Sec-Fetch-Site` (Fetch Metadata) too; a page can set
 * neither. In order:
 * - an Origin listed in ALLOWED_ORIGINS is trusted, even cross-site (the operator chose it);
 * - `Sec-Fetch-Site: cross-site` is refused;
 * - no Origin: not a browser's cross-origin request (curl, servers, old clients), allowed;
 * - `Sec-Fetch-Site: same-origin`: the browser itself says so (e.g. behind a TLS proxy, where
 *   the page's https origin differs from the http the service sees), allowed;
 * - otherwise the Origin must be the service's own, scheme://Host of the request.
 */
export function isCrossSiteRequest(
  req: RequestOrigin,
  allowedOrigins: ReadonlySet<string>,
): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  const { origin, host } = req.headers;
  const fetchSite = req.headers['sec-fetch-site'];
  if (origin !== undefined && allowedOrigins.has(origin)) return false;
  if (fetchSite === 'cross-site') return true;
  if (origin === undefined || fetchSite === 'same-origin') return false;
  const own = host === undefined ? undefined : normalizeOrigin(`${req.protocol}://${host}`);
  return own === undefined || origin !== own;
}

/**
 * Refuses cross-site state-changing requests (isCrossSiteRequest) with a 403, before the body is
 * read: with or without API_KEYS, a web page cannot make a visitor's browser change tasks or
 * handlers. Runs right after the API-key check.
 */
@Injectable()
export class CrossSiteRequestMiddleware implements NestMiddleware {
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.allowedOrigins = new Set(config.allowedOrigins);
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (!isCrossSiteRequest(req, this.allowedOrigins)) return next();
    closeIfBodyUnread(req, res);
    throw new ForbiddenException(CROSS_SITE_MESSAGE);
  }
}
