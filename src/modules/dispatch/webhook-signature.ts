import { createHmac } from 'node:crypto';

/** Standard Webhooks (https://www.standardwebhooks.com) header names. */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';
/** Standard base64 with its padding: what `standardwebhooks` decodes a secret with. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in `standardwebhooks`).
 * A secret that does not decode throws rather than send a delivery nobody can verify; the
 * message never contains the secret.
 */
export function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new Error('signing secret is not whsec_ followed by base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, as Standard Webhooks defines it. */
export function signatureOf(secret: string, id: string, timestamp: number, body: string): string {
  const hmac = createHmac('sha256', signingKey(secret));
  return `v1,${hmac.update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64')}`;
}

/**
 * The three Standard Webhooks headers for one attempt: one signature per secret, space-separated
 * in the given order (newest first), so receivers verify with either secret during a rotation.
 * `webhook-id` is the delivery id, the same on every retry, so receivers can de-duplicate.
 */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: secrets
      .map((secret) => signatureOf(secret, id, timestamp, body))
      .join(' '),
  };
}
