import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { hashApiKey } from '../config/load-config';

export const UNAUTHORIZED_MESSAGE =
  'missing or invalid API key: send the header Authorization: Bearer <key>';

/** Routes open without a key: probes and API docs always, metrics unless configured otherwise. */
export function isOpenPath(path: string, metricsRequireAuth: boolean): boolean {
  if (/^\/(health|docs)(\/|$)/.test(path) || /^\/docs-(json|yaml)$/.test(path)) return true;
  return !metricsRequireAuth && /^\/metrics\/?$/.test(path);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * With API_KEYS set, every route but the open ones needs a configured key as a bearer token.
 * Only SHA-256 hashes of the keys are held (AppConfig.apiKeyHashes); the presented key is hashed
 * too, so the comparison is over equal-length digests with timingSafeEqual, and every configured
 * key is compared, so the time taken does not tell which one (if any) was close. Keys and
 * presented tokens are never logged; a refusal is a 401 the envelope filter answers.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly hashes: Buffer[];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.hashes = config.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.hashes.length === 0 || context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    if (isOpenPath(req.path, this.config.metricsRequireAuth)) return true;
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined && this.matches(token)) return true;
    http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="delay-tasks"');
    throw new UnauthorizedException(UNAUTHORIZED_MESSAGE);
  }

  private matches(token: string): boolean {
    const presented = Buffer.from(hashApiKey(token), 'hex');
    let found = false;
    for (const hash of this.hashes) found = timingSafeEqual(presented, hash) || found;
    return found;
  }
}
