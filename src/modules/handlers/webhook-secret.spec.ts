import { randomBytes } from 'node:crypto';
import { isWebhookSecret, maskSecret } from './webhook-secret';

const secretOf = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('isWebhookSecret', () => {
  it.each([24, 32, 33, 64])('accepts whsec_ and the base64 of %i bytes', (bytes) => {
    expect(isWebhookSecret(secretOf(bytes))).toBe(true);
  });

  it.each([
    ['23 bytes', secretOf(23)],
    ['65 bytes', secretOf(65)],
    ['no prefix', randomBytes(32).toString('base64')],
    ['another prefix', `whsk_${randomBytes(32).toString('base64')}`],
    ['base64url characters', `whsec_${'-_'.repeat(16)}`],
    ['missing padding', secretOf(25).replace(/=+$/, '')],
    ['a space', `${secretOf(32)} `],
    ['an empty key', 'whsec_'],
    ['a number', 42],
    ['null', null],
  ])('rejects %s', (_name, value) => {
    expect(isWebhookSecret(value)).toBe(false);
  });
});

describe('maskSecret', () => {
  it('keeps the prefix and four characters of the key', () => {
    expect(maskSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBe('whsec_MfKQ…');
  });
});
