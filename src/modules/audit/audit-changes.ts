import { parseJson } from '../../common/lossless-json';
import { RawJson } from '../../common/raw-json';
import { maskUrlSecrets } from '../../common/url-secrets';
import { maskSecret } from '../handlers/webhook-secret';

/** What replaces a value that is never recorded. */
export const REMOVED = '(removed)';

/** Fields holding a signing secret: recorded as its mask ("whsec_MfKQ…"), as GET /handler shows. */
const SECRET_FIELD = 'secret';
/** Fields holding a URL: credentials in them are masked (maskUrlSecrets), as reads do. */
const URL_FIELDS: ReadonlySet<string> = new Set(['handler', 'eventsHandler']);
/** Other field names that may hold a credential: never recorded. */
const SENSITIVE_FIELD = /secret|password|passwd|token|api_?key|authorization|credential/i;

/**
 * What an audited request asked for: the body's fields (only `fields`, the route's DTO
 * properties, when given: what validation whitelisted), with secrets removed. Nested values kept
 * as RawJson text by the body reader become plain JSON values, and the same rules apply inside
 * them. The result is written as jsonb; numbers stay exact (bigint and LosslessNumber values are
 * serialized as given).
 */
export function auditChanges(
  body: unknown,
  fields: ReadonlySet<string> | undefined,
): Record<string, unknown> {
  if (!isPlainObject(body)) return {};
  const changes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (fields !== undefined && !fields.has(name)) continue;
    defineField(changes, name, sanitizeField(name, value));
  }
  return changes;
}

function sanitizeField(name: string, value: unknown): unknown {
  if (name === SECRET_FIELD) {
    if (value === null) return null; // "remove the secrets": worth recording, holds none
    return typeof value === 'string' && value.startsWith('whsec_') ? maskSecret(value) : REMOVED;
  }
  if (SENSITIVE_FIELD.test(name)) return value === null ? null : REMOVED;
  if (URL_FIELDS.has(name) && typeof value === 'string') return maskUrlSecrets(value);
  return sanitizeValue(value);
}

function sanitizeValue(value: unknown): unknown {
  if (value instanceof RawJson) return sanitizeValue(rawToPlain(value));
  if (typeof value === 'string') return /^https?:\/\//i.test(value) ? maskUrlSecrets(value) : value;
  if (Array.isArray(value)) return value.map(sanitizeValue);
  if (!isPlainObject(value)) return value; // numbers (bigint too), booleans, null
  const nested: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    defineField(nested, name, sanitizeField(name, item));
  }
  return nested;
}

/** A RawJson value as plain JSON values; never fails (the body reader checked the text). */
function rawToPlain(raw: RawJson): unknown {
  try {
    return parseJson(raw.text);
  } catch {
    return REMOVED;
  }
}

/** Own data property, so that a field named __proto__ is a field, as in the body. */
function defineField(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
