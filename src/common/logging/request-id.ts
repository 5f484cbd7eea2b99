import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a caller's id may look like: it is echoed in a header and written to every log line. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's id when it is safe to log and echo; undefined otherwise (absent, repeated, odd). */
export function sanitizeRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && VALID_REQUEST_ID.test(value) ? value : undefined;
}

/**
 * The request's id: the caller's X-Request-Id when valid (so one id follows a request through
 * proxies and services), else a new UUID. It is echoed on the response either way.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = sanitizeRequestId(req.headers['x-request-id']) ?? randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}
