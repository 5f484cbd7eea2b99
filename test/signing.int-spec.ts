import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { AppConfig } from '../src/config/app-config';
import { useTestApp } from './support/fixtures';
import { CallbackReceiver, ReceivedCall } from './support/receiver';
import { header, postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PREVIOUS_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

const config: Partial<AppConfig> = {
  callbackTimeoutMs: 1000,
  maxAttempts: 2,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 2000,
  pollIntervalMs: 200,
  sweepIntervalMs: 200,
  leaseMarginMs: 500,
};

/** The Standard Webhooks headers of a call, as a receiver hands them to Webhook.verify. */
function webhookHeadersOf(call: ReceivedCall): Record<string, string> {
  return {
    'webhook-id': header(call, 'webhook-id'),
    'webhook-timestamp': header(call, 'webhook-timestamp'),
    'webhook-signature': header(call, 'webhook-signature'),
  };
}

describe('signed deliveries (Standard Webhooks)', () => {
  const fixture = useTestApp(config);

  /** A category whose handler is a fresh receiver, with `secrets` (newest first) set directly. */
  async function category(cate: string, secrets: string[]): Promise<CallbackReceiver> {
    const receiver = await fixture.receiver();
    await registerHandler(fixture.app, cate, receiver.url());
    await fixture.db.query('UPDATE handlers SET secrets = $2::text[] WHERE cate = $1', [
      cate,
      secrets,
    ]);
    return receiver;
  }

  it('signs the exact body so that standardwebhooks verifies it; one changed byte fails', async () => {
    const receiver = await category('signed', [SECRET]);
    const before = Math.floor(Date.now() / 1000);
    await postTask(fixture.app, 'signed', {
      timestamp: unixSeconds(),
      key: '18446744073709551615',
      params: '{"n":123456789012345678901234567890,"s":"é✓"}',
    });
    const [call] = await receiver.waitForCalls(1);
    const headers = webhookHeadersOf(call);

    expect(() => new Webhook(SECRET).verify(call.body, headers)).not.toThrow();
    expect(headers['webhook-id']).toBe(header(call, 'x-delivery-id'));
    expect(Number(headers['webhook-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(Number(headers['webhook-timestamp'])).toBeLessThanOrEqual(Date.now() / 1000);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    const tampered = call.body.replace('"key":18446744073709551615', '"key":18446744073709551614');
    expect(tampered).not.toBe(call.body);
    expect(() => new Webhook(SECRET).verify(tampered, headers)).toThrow(WebhookVerificationError);
  });

  it('carries a signature per secret during a rotation, newest first; each secret verifies', async () => {
    const receiver = await category('rotating', [SECRET, PREVIOUS_SECRET]);
    await postTask(fixture.app, 'rotating', {
      timestamp: unixSeconds(),
      key: 1,
      params: '{"a":1}',
    });
    const [call] = await receiver.waitForCalls(1);
    const headers = webhookHeadersOf(call);

    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    expect(() => new Webhook(SECRET).verify(call.body, headers)).not.toThrow();
    expect(() => new Webhook(PREVIOUS_SECRET).verify(call.body, headers)).not.toThrow();
    const newestOnly = { ...headers, 'webhook-signature': signatures[0] };
    expect(() => new Webhook(SECRET).verify(call.body, newestOnly)).not.toThrow();
  });

  it('keeps webhook-id across retries and signs each attempt at its own time', async () => {
    const receiver = await category('retried', [SECRET]);
    // Retry-After puts the second attempt at least 2 s later, in a later second: a new timestamp.
    receiver.reply = (_call, index) =>
      index === 0 ? { status: 503, headers: { 'Retry-After': '2' } } : { status: 200 };
    await postTask(fixture.app, 'retried', { timestamp: unixSeconds(), key: 2 });
    const calls = await receiver.waitForCalls(2, 8000);

    const [first, second] = calls.map(webhookHeadersOf);
    expect(second['webhook-id']).toBe(first['webhook-id']);
    expect(Number(second['webhook-timestamp'])).toBeGreaterThan(Number(first['webhook-timestamp']));
    for (const [index, call] of calls.entries()) {
      expect(() => new Webhook(SECRET).verify(call.body, webhookHeadersOf(call))).not.toThrow();
      expect(header(call, 'x-delivery-attempt')).toBe(String(index + 1));
    }
  });

  it('sends no webhook-* headers for a category without secrets', async () => {
    const receiver = await category('unsigned', []);
    await postTask(fixture.app, 'unsigned', { timestamp: unixSeconds(), key: 3 });
    const [call] = await receiver.waitForCalls(1);
    expect(Object.keys(call.headers).filter((name) => name.startsWith('webhook-'))).toEqual([]);
  });

  it('fails the attempt, sending nothing, when a stored secret is malformed', async () => {
    const receiver = await category('badsecret', ['whsec_not base64!']);
    await postTask(fixture.app, 'badsecret', { timestamp: unixSeconds(), key: 4 });
    const row = await waitFor('the attempt to fail', async () => {
      const [task] = await fixture.db.query<{ attempts: number; last_error: string | null }>(
        'SELECT attempts, last_error FROM tasks WHERE cate = $1',
        [`badsecret`],
      );
      return task?.last_error ? task : undefined;
    });
    expect(row.last_error).toBe('delivery error: signing secret is not whsec_ followed by base64');
    expect(receiver.calls).toEqual([]);
  });
});
