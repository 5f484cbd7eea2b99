import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NestMiddleware,
  UnauthorizedException,
} from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { hashApiKey } from '../config/load-config';
import { closeIfBodyUnread } from './unread-body';

export const UNAUTHORIZED_MESSAGE =
  'missing or invalid API key: send the header Authorization: Bearer <key>';

export const READ_ONLY_MESSAGE =
  'this API key is read-only (API_KEYS_READONLY): it may only use GET and HEAD; ' +
  'changes need a key of API_KEYS';

/** Methods a read-only key may use. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Hex characters of a key id: enough to tell a deployment's keys apart, nothing to guess from. */
export const API_KEY_ID_LENGTH = 12;

/**
 * The id of a key given its SHA-256 (hex, as AppConfig keeps it): the first 12 hex characters.
 * Recorded by the audit log in place of the key; `printf %s "$KEY" | sha256sum | cut -c1-12`.
 */
export function apiKeyIdOfHash(hashHex: string): string {
  return hashHex.slice(0, API_KEY_ID_LENGTH);
}

/** Where the middleware leaves the key id of the request for later code (res.locals). */
const KEY_ID_LOCAL = 'apiKeyId';

/**
 * The id of the API key the request was let through with (apiKeyIdOfHash); null when auth is off
 * or the path is open (no key checked).
 */
export function apiKeyIdOf(res: Response): string | null {
  const id = (res.locals as Record<string, unknown> | undefined)?.[KEY_ID_LOCAL];
  return typeof id === 'string' ? id : null;
}

export type KeyRole = 'full' | 'readonly';

/** Where the middleware leaves the role of that key (res.locals). */
const KEY_ROLE_LOCAL = 'apiKeyRole';

/** The role of the API key the request was let through with; null as for apiKeyIdOf. */
export function apiKeyRoleOf(res: Response): KeyRole | null {
  const role = (res.locals as Record<string, unknown> | undefined)?.[KEY_ROLE_LOCAL];
  return role === 'full' || role === 'readonly' ? role : null;
}

interface KnownKey {
  hash: Buffer;
  role: KeyRole;
}

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
 * With API_KEYS or API_KEYS_READONLY set, every request but those to open paths needs a
 * configured key as a bearer token. The first of the app's middleware after the metrics timer: it
 * runs before the body is read or parsed and before routing, so a request without a key costs no
 * parsing and learns nothing about the routes (an unknown path is a 401 too, not a 404). A
 * read-only key may only GET and HEAD: any other method is a 403, refused as early.
 *
 * Only SHA-256 hashes of the keys are held (AppConfig.apiKeyHashes, apiKeyReadonlyHashes); the
 * presented key is hashed too, so the comparison is over equal-length digests with
 * timingSafeEqual, and every configured key of both lists is compared, so the time taken does not
 * tell which one (if any) was close, nor its role. Keys and presented tokens are never logged; a
 * refusal is a 401 or 403 the envelope filter answers. A request let through with a key carries
 * the key's id (apiKeyIdOf) and role (apiKeyRoleOf) for later code: the audit log's, the
 * dashboard's session.
 */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  private readonly keys: KnownKey[];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.keys = [
      ...config.apiKeyHashes.map((hex) => ({
        hash: Buffer.from(hex, 'hex'),
        role: 'full' as const,
      })),
      ...config.apiKeyReadonlyHashes.map((hex) => ({
        hash: Buffer.from(hex, 'hex'),
        role: 'readonly' as const,
      })),
    ];
    logKeys(config);
  }

  use(req: Request, res: Response, next: NextFunction): void {
    res.locals[KEY_ID_LOCAL] = null;
    res.locals[KEY_ROLE_LOCAL] = null;
    if (this.keys.length === 0 || isOpenPath(pathOf(req), this.config.metricsRequireAuth)) {
      return next();
    }
    const token = bearerToken(req.headers.authorization);
    const match = token === undefined ? undefined : this.match(token);
    if (match === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="delay-tasks"');
      closeIfBodyUnread(req, res);
      throw new UnauthorizedException(UNAUTHORIZED_MESSAGE);
    }
    if (match.role === 'readonly' && !READ_METHODS.has(req.method)) {
      // RFC 6750 §3.1: a valid token without the rights the request needs.
      res.setHeader('WWW-Authenticate', 'Bearer realm="delay-tasks", error="insufficient_scope"');
      closeIfBodyUnread(req, res);
      throw new ForbiddenException(READ_ONLY_MESSAGE);
    }
    res.locals[KEY_ID_LOCAL] = match.id;
    res.locals[KEY_ROLE_LOCAL] = match.role;
    next();
  }

  /** The role and id of the configured key `token` is, if any; compares against every key. */
  private match(token: string): { role: KeyRole; id: string } | undefined {
    const hex = hashApiKey(token);
    const presented = Buffer.from(hex, 'hex');
    let role: KeyRole | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(presented, key.hash)) role = key.role;
    }
    return role === undefined ? undefined : { role, id: apiKeyIdOfHash(hex) };
  }
}

/** At start: which keys (by id, never the key) have which role; a warning when none can write. */
function logKeys(config: AppConfig): void {
  const full = config.apiKeyHashes.map(apiKeyIdOfHash);
  const readonly = config.apiKeyReadonlyHashes.map(apiKeyIdOfHash);
  if (full.length + readonly.length === 0) return;
  const logger = new Logger(ApiKeyMiddleware.name);
  logger.log(
    `API keys: ${full.length} with full access (ids ${full.join(', ') || 'none'}), ` +
      `${readonly.length} read-only (ids ${readonly.join(', ') || 'none'})`,
  );
  if (full.length === 0) {
    logger.warn(
      'API_KEYS_READONLY is set without API_KEYS: every key is read-only, so no request can ' +
        'change anything (tasks, categories) until API_KEYS is set',
    );
  }
}

/** The request's path without its query: Nest mounts middleware on `/{*path}`, so not req.path. */
function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
