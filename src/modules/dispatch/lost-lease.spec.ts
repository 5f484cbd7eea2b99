import { decideLostLease } from './lost-lease';
import { ExpiredLease } from './queue.types';

const policy = {
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  captureResponseBytes: 1024,
};

function lease(overrides: Partial<ExpiredLease> = {}): ExpiredLease {
  return {
    id: '7',
    claim_token: 3,
    cate: 'orders',
    key: '42',
    delivery_id: '00000000-0000-4000-8000-000000000001',
    attempts: 3,
    lease_owner: 'host:123:abcd',
    max_attempts: null,
    leased_at_ms: 1_000_000,
    now_ms: 1_045_000,
    ...overrides,
  };
}

describe('decideLostLease', () => {
  it('retries after the backoff of the attempt that was lost, not at once', () => {
    const { failure } = decideLostLease(lease({ attempts: 3 }), policy, () => 0);
    expect(failure).toMatchObject({ id: '7', claim_token: 3, final: false });
    // attempt 3: base * 2^2 = 4000 ms, equal jitter with random 0 -> 2000 ms
    expect(failure.delayMs).toBe(2000);
  });

  it('fails the task when the lost lease was its last attempt (category limit first)', () => {
    const { failure } = decideLostLease(lease({ attempts: 2, max_attempts: 2 }), policy);
    expect(failure.final).toBe(true);
    expect(failure.delayMs).toBe(0);
  });

  it('writes a lease_expired attempt naming the replica that held the lease', () => {
    const { attempt, failure } = decideLostLease(lease(), policy);
    expect(attempt).toMatchObject({
      taskId: '7',
      attempt: 3,
      outcome: 'lease_expired',
      statusCode: null,
      startedAtMs: 1_000_000,
      durationMs: 45_000,
    });
    expect(attempt.error).toContain('host:123:abcd');
    expect(failure.error).toBe(attempt.error);
  });
});
