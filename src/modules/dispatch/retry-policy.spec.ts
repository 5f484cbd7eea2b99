import {
  attemptOutcome,
  AttemptResult,
  backoffDelayMs,
  decideOutcome,
  describeFailure,
  MAX_SNOOZE_MS,
  MAX_SNOOZES,
  retryAfterMs,
  RetryPolicy,
  truncateUtf8,
} from './retry-policy';

const policy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 10_000,
  captureResponseBytes: 1024,
};
const NOW = Date.parse('2030-01-01T00:00:00Z');

function response(status: number, retryAfter?: string, body = ''): AttemptResult {
  return { kind: 'response', status, retryAfter, body };
}

/** The delay of a retry outcome; fails the test when the outcome is not a retry. */
function retryDelay(result: AttemptResult, attempt: number, random: () => number): number {
  const outcome = decideOutcome(result, attempt, policy, { random, nowMs: NOW });
  if (outcome.kind !== 'retry') throw new Error(`expected a retry, got ${outcome.kind}`);
  return outcome.delayMs;
}

describe('decideOutcome', () => {
  it.each([200, 201, 204, 299])('treats HTTP %i as delivered', (status) => {
    expect(decideOutcome(response(status), 1, policy)).toEqual({ kind: 'ok' });
  });

  it('treats a 2xx on the last attempt as delivered', () => {
    expect(decideOutcome(response(200), policy.maxAttempts, policy)).toEqual({ kind: 'ok' });
  });

  it.each<[string, AttemptResult]>([
    ['HTTP 199', response(199)],
    ['HTTP 302', response(302)],
    ['HTTP 400', response(400)],
    ['HTTP 500', response(500)],
    ['a timeout', { kind: 'timeout', timeoutMs: 5000 }],
    ['a connection error', { kind: 'connection_error', message: 'ECONNREFUSED' }],
    ['a missing handler', { kind: 'no_handler' }],
    ['a delivery error', { kind: 'error', message: 'bad key' }],
  ])('retries after %s with a describing error', (_name, result) => {
    const outcome = decideOutcome(result, 1, policy, { random: () => 0.5 });
    expect(outcome).toEqual({ kind: 'retry', delayMs: 750, error: describeFailure(result, 1024) });
  });

  it.each([1, 2, 3, 4])('keeps attempt %i backoff within [base·2^(n−1)/2, base·2^(n−1)]', (n) => {
    const full = policy.baseDelayMs * 2 ** (n - 1);
    const result: AttemptResult = { kind: 'timeout', timeoutMs: 100 };
    expect(retryDelay(result, n, () => 0)).toBe(full / 2);
    expect(retryDelay(result, n, () => 0.999999)).toBeLessThanOrEqual(full);
    expect(retryDelay(result, n, () => 0.999999)).toBeGreaterThan(full * 0.99);
    for (let i = 0; i < 50; i += 1) {
      const delay = retryDelay(result, n, Math.random);
      expect(delay).toBeGreaterThanOrEqual(full / 2);
      expect(delay).toBeLessThanOrEqual(full);
    }
  });

  it('caps the backoff at maxDelayMs, jitter included', () => {
    const many: RetryPolicy = { ...policy, maxAttempts: 50 };
    const result = response(500);
    const high = decideOutcome(result, 30, many, { random: () => 1 });
    const low = decideOutcome(result, 30, many, { random: () => 0 });
    expect(high).toMatchObject({ kind: 'retry', delayMs: policy.maxDelayMs });
    expect(low).toMatchObject({ kind: 'retry', delayMs: policy.maxDelayMs / 2 });
  });

  it('never retries back-to-back', () => {
    const tiny: RetryPolicy = { ...policy, maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 };
    const outcome = decideOutcome(response(500), 1, tiny, { random: () => 0 });
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect((outcome as { delayMs: number }).delayMs).toBeGreaterThan(0);
  });

  it.each<[string, AttemptResult]>([
    ['HTTP 500', response(500)],
    ['a timeout', { kind: 'timeout', timeoutMs: 300 }],
    ['a connection error', { kind: 'connection_error', message: 'ECONNRESET' }],
    ['a 429 with Retry-After', response(429, '1')],
  ])('fails for good after %s on the last attempt', (_name, result) => {
    expect(decideOutcome(result, policy.maxAttempts, policy)).toEqual({
      kind: 'fail',
      error: describeFailure(result, 1024),
    });
    expect(decideOutcome(result, policy.maxAttempts + 1, policy)).toMatchObject({ kind: 'fail' });
  });

  it.each([429, 503])('honours Retry-After in seconds on HTTP %i', (status) => {
    expect(retryDelay(response(status, '3'), 1, () => 0)).toBe(3000);
  });

  it('never retries sooner than the backoff, whatever Retry-After says', () => {
    expect(retryDelay(response(429, ' 0 '), 1, () => 0)).toBe(500);
    expect(retryDelay(response(503, '0'), 3, () => 0)).toBe(2000);
  });

  it.each([429, 503])('honours Retry-After as an HTTP date on HTTP %i', (status) => {
    const date = new Date(NOW + 7000).toUTCString();
    expect(retryDelay(response(status, date), 1, () => 0)).toBe(7000);
  });

  it('treats a Retry-After date in the past as no extra wait', () => {
    const date = new Date(NOW - 60_000).toUTCString();
    expect(retryDelay(response(503, date), 1, () => 0)).toBe(500);
  });

  it('caps Retry-After at maxDelayMs', () => {
    expect(retryDelay(response(429, '3600'), 1, () => 0)).toBe(policy.maxDelayMs);
    const date = new Date(NOW + 86_400_000).toUTCString();
    expect(retryDelay(response(503, date), 1, () => 0)).toBe(policy.maxDelayMs);
  });

  it.each([500, 502, 400, 302, 200])('ignores Retry-After on HTTP %i', (status) => {
    expect(retryAfterMs(response(status, '3'), NOW)).toBeUndefined();
    if (status >= 300) expect(retryDelay(response(status, '3'), 1, () => 0)).toBe(500);
  });

  it.each(['soon', '-1', '1.5', ''])('falls back to backoff on a Retry-After of "%s"', (value) => {
    expect(retryDelay(response(429, value), 1, () => 0)).toBe(500);
  });
});

describe('backoffDelayMs', () => {
  it('doubles the range with every attempt', () => {
    const at = (attempt: number): number => backoffDelayMs(attempt, policy, () => 1);
    expect([at(1), at(2), at(3), at(4), at(5)]).toEqual([1000, 2000, 4000, 8000, 10_000]);
  });
});

describe('describeFailure', () => {
  it('names the status and the start of the body', () => {
    expect(describeFailure(response(503, undefined, ' busy\n now '), 1024)).toBe(
      'HTTP 503: busy now',
    );
  });

  it('says timeout and the limit', () => {
    expect(describeFailure({ kind: 'timeout', timeoutMs: 300 }, 1024)).toMatch(/timeout.*300 ms/);
  });

  it('says no handler', () => {
    expect(describeFailure({ kind: 'no_handler' }, 1024)).toMatch(/no handler/);
  });

  it('truncates long errors to 500 characters', () => {
    const text = describeFailure(response(500, undefined, 'x'.repeat(2000)), 1024);
    expect(text).toHaveLength(500);
    expect(text.endsWith('…')).toBe(true);
  });

  it('keeps only captureResponseBytes of the body', () => {
    const body = 'Traceback: db password=hunter2 at /srv/app/internal.py';
    expect(describeFailure(response(500, undefined, body), 10)).toBe('HTTP 500: Traceback:');
  });

  it('keeps only the status with captureResponseBytes 0', () => {
    expect(describeFailure(response(502, undefined, '<html>internal gateway</html>'), 0)).toBe(
      'HTTP 502',
    );
  });

  it('is unchanged by captureResponseBytes for failures without a response', () => {
    expect(describeFailure({ kind: 'connection_error', message: 'ECONNREFUSED' }, 0)).toBe(
      'connection error: ECONNREFUSED',
    );
  });

  it('records errors with the policy of decideOutcome', () => {
    const outcome = decideOutcome(response(500, undefined, 'stack trace'), 1, {
      ...policy,
      captureResponseBytes: 0,
    });
    expect(outcome).toMatchObject({ kind: 'retry', error: 'HTTP 500' });
  });
});

describe('truncateUtf8', () => {
  it.each([
    ['abc', 5, 'abc'],
    ['abcdef', 3, 'abc'],
    ['héllo', 2, 'h'],
    ['héllo', 3, 'hé'],
    ['a😀b', 4, 'a'],
    ['a😀b', 5, 'a😀'],
    ['anything', 0, ''],
  ])('cuts %p to %i bytes as %p', (text, bytes, expected) => {
    expect(truncateUtf8(text, bytes)).toBe(expected);
    expect(Buffer.byteLength(truncateUtf8(text, bytes))).toBeLessThanOrEqual(bytes);
  });
});

describe('decideOutcome: the receiver steers', () => {
  it('410 Gone fails at once, whatever attempts are left', () => {
    expect(decideOutcome(response(410), 1, policy)).toMatchObject({ kind: 'fail' });
    expect(attemptOutcome(response(410))).toBe('gone');
  });

  it('425 with Retry-After snoozes for the time asked, up to a day', () => {
    expect(decideOutcome(response(425, '30'), 1, policy)).toMatchObject({
      kind: 'snooze',
      delayMs: 30_000,
    });
    expect(decideOutcome(response(425, '999999'), 1, policy)).toMatchObject({
      kind: 'snooze',
      delayMs: MAX_SNOOZE_MS,
    });
  });

  it('425 without Retry-After, or after the last snooze allowed, is a failed attempt', () => {
    expect(decideOutcome(response(425), 1, policy, { random: () => 0 })).toMatchObject({
      kind: 'retry',
    });
    expect(decideOutcome(response(425, '30'), 1, policy, { snoozes: MAX_SNOOZES })).toMatchObject({
      kind: 'retry',
    });
    expect(
      decideOutcome(response(425, '30'), 1, policy, { snoozes: MAX_SNOOZES - 1 }),
    ).toMatchObject({ kind: 'snooze' });
  });
});
