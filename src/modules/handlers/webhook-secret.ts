/**
 * Standard Webhooks signing secrets: "whsec_" and the base64 of the key. 24 to 64 bytes: at
 * least 192 bits of key, and at most the HMAC-SHA256 block size (longer keys are hashed first).
 */
export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const SECRET_MESSAGE =
  `secret must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ` +
  `${MAX_SECRET_BYTES} random bytes, or null to remove the secrets`;

/** Characters of the key shown by GET /handler: enough to tell secrets apart, not to guess one. */
const SHOWN_KEY_CHARS = 4;

/** True for "whsec_" + canonical padded base64 of 24 to 64 bytes. */
export function isWebhookSecret(value: unknown): value is string {
  if (typeof value !== 'string' || !value.startsWith(SECRET_PREFIX)) return false;
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  const key = Buffer.from(encoded, 'base64');
  // Node's decoder skips what it cannot read; re-encoding catches bad padding and stray bits.
  return (
    key.length >= MIN_SECRET_BYTES &&
    key.length <= MAX_SECRET_BYTES &&
    key.toString('base64') === encoded
  );
}

/** "whsec_MfKQ…": how a stored secret is shown; the rest of it is never returned. */
export function maskSecret(secret: string): string {
  return `${secret.slice(0, SECRET_PREFIX.length + SHOWN_KEY_CHARS)}…`;
}
