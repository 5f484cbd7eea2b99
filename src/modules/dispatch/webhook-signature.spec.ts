import { Webhook } from 'standardwebhooks';
import { signatureOf, signingKey, WEBHOOK_HEADERS, webhookHeaders } from './webhook-signature';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const ID = '0b7f8a52-4c1e-4a3f-9a4d-2f6f3c1d9e10';
const BODY = '{"cate":"orders","inAdvance":false,"key":18446744073709551615,"params":{"t":"é✓"}}';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('webhook signature', () => {
  it('signs exactly as the standardwebhooks package does', () => {
    const timestamp = 1_700_000_000;
    expect(signatureOf(SECRET, ID, timestamp, BODY)).toBe(
      new Webhook(SECRET).sign(ID, new Date(timestamp * 1000), BODY),
    );
  });

  it('produces headers that Webhook.verify accepts', () => {
    const headers = webhookHeaders([SECRET], ID, nowSeconds(), BODY);
    expect(() => new Webhook(SECRET).verify(BODY, headers)).not.toThrow();
    expect(headers[WEBHOOK_HEADERS.id]).toBe(ID);
    expect(headers[WEBHOOK_HEADERS.signature]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('fails verification when one byte of the body changes', () => {
    const headers = webhookHeaders([SECRET], ID, nowSeconds(), BODY);
    const tampered = BODY.replace('"key":18446744073709551615', '"key":18446744073709551614');
    expect(() => new Webhook(SECRET).verify(tampered, headers)).toThrow(/No matching signature/);
  });

  it('carries one signature per secret, newest first, each verifying on its own', () => {
    const timestamp = nowSeconds();
    const headers = webhookHeaders([SECRET, OLD_SECRET], ID, timestamp, BODY);
    expect(headers[WEBHOOK_HEADERS.signature]).toBe(
      `${signatureOf(SECRET, ID, timestamp, BODY)} ${signatureOf(OLD_SECRET, ID, timestamp, BODY)}`,
    );
    expect(() => new Webhook(SECRET).verify(BODY, headers)).not.toThrow();
    expect(() => new Webhook(OLD_SECRET).verify(BODY, headers)).not.toThrow();
    expect(() =>
      new Webhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').verify(BODY, headers),
    ).toThrow(/No matching signature/);
  });

  it('takes the secret with or without the whsec_ prefix, as standardwebhooks does', () => {
    expect(signingKey(SECRET)).toStrictEqual(signingKey(SECRET.slice('whsec_'.length)));
  });

  it.each(['whsec_', 'whsec_not base64!', 'whsec_abc', ''])(
    'refuses the malformed secret %p without quoting it',
    (secret) => {
      expect(() => signingKey(secret)).toThrow('signing secret is not whsec_ followed by base64');
    },
  );
});
