import { decideEventRetry, EVENT_RETRY } from './event-retry-policy';

describe('decideEventRetry', () => {
  it('retries after 1 s doubling per attempt, the upper half random', () => {
    expect(decideEventRetry(1, 0, () => 0)).toStrictEqual({ kind: 'retry', delayMs: 500 });
    expect(decideEventRetry(1, 0, () => 0.999_999)).toStrictEqual({
      kind: 'retry',
      delayMs: 1000,
    });
    expect(decideEventRetry(4, 0, () => 1)).toStrictEqual({ kind: 'retry', delayMs: 8000 });
  });

  it('never waits more than an hour between attempts', () => {
    expect(decideEventRetry(30, 0, () => 1)).toStrictEqual({
      kind: 'retry',
      delayMs: EVENT_RETRY.maxDelayMs,
    });
  });

  it('drops the event when the retry would come after it is a day old', () => {
    expect(decideEventRetry(3, EVENT_RETRY.maxAgeMs - 10_000, () => 0)).toStrictEqual({
      kind: 'retry',
      delayMs: 2000,
    });
    expect(decideEventRetry(3, EVENT_RETRY.maxAgeMs - 1000, () => 0)).toStrictEqual({
      kind: 'drop',
    });
  });

  it('gives a receiver that is down all along about 35 attempts over the day', () => {
    let age = 0;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const decision = decideEventRetry(attempts, age, () => 1);
      if (decision.kind === 'drop') break;
      age += decision.delayMs;
    }
    expect(attempts).toBeGreaterThanOrEqual(30);
    expect(attempts).toBeLessThanOrEqual(40);
  });
});
