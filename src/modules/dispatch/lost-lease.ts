import { ExpiredLease, LostLeaseOutcome } from './queue.types';
import { decideOutcome, RetryPolicy } from './retry-policy';

/**
 * A lost lease is an attempt like any other: it goes into the history (outcome lease_expired,
 * naming the replica that held it) and the task is retried after the policy's backoff, or fails
 * when it was its last attempt. Without the backoff, a task that crashes every replica it reaches
 * would be claimed again the moment the sweeper frees it.
 */
export function decideLostLease(
  lease: ExpiredLease,
  policy: RetryPolicy,
  random: () => number = Math.random,
): LostLeaseOutcome {
  const outcome = decideOutcome(
    { kind: 'lease_expired', owner: lease.lease_owner },
    lease.attempts,
    { ...policy, maxAttempts: lease.max_attempts ?? policy.maxAttempts },
    { random },
  );
  // A lost lease is never a success; the narrowing keeps the compiler honest about it.
  const error = outcome.kind === 'ok' ? 'lease expired' : outcome.error;
  return {
    failure: {
      id: lease.id,
      claim_token: lease.claim_token,
      final: outcome.kind !== 'retry',
      delayMs: outcome.kind === 'retry' ? outcome.delayMs : 0,
      error,
    },
    attempt: {
      taskId: lease.id,
      cate: lease.cate,
      key: lease.key,
      deliveryId: lease.delivery_id,
      attempt: lease.attempts,
      startedAtMs: lease.leased_at_ms,
      durationMs: Math.max(0, lease.now_ms - lease.leased_at_ms),
      statusCode: null,
      outcome: 'lease_expired',
      error,
    },
  };
}
