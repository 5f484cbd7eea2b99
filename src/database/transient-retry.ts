import { setTimeout as sleep } from 'node:timers/promises';

/**
 * SQLSTATEs after which a statement has been rolled back whole and may succeed if run again:
 * class 40, transaction rollback (40001 serialization_failure, 40P01 deadlock_detected, …), and
 * 55P03 lock_not_available (lock_timeout). 40003 statement_completion_unknown is left out: it
 * does not say that the statement was rolled back.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return (
    typeof code === 'string' && ((code.startsWith('40') && code !== '40003') || code === '55P03')
  );
}

export interface TransientRetryPolicy {
  /** Runs after the first; the last error is thrown when they are used up. */
  retries: number;
  /** Delay cap before the first retry, doubled for each further one up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delays of 10-20, 20-40 and 40-80 ms: a deadlock's victim runs again after its peer moved on. */
export const TRANSIENT_RETRY_POLICY: TransientRetryPolicy = {
  retries: 3,
  baseDelayMs: 20,
  maxDelayMs: 100,
};

/**
 * Runs `statement` again after a transient error (see isTransientDatabaseError), with jittered
 * backoff. Only for a single statement in autocommit: its failure rolled back all it did, so
 * running it again is safe. A statement of a larger transaction must never come through here:
 * the transaction is aborted, and only the whole transaction could be run again.
 */
export async function retryTransient<T>(
  statement: () => Promise<T>,
  policy: TransientRetryPolicy = TRANSIENT_RETRY_POLICY,
  wait: (ms: number) => Promise<unknown> = sleep,
  random: () => number = Math.random,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await statement();
    } catch (error) {
      if (retry >= policy.retries || !isTransientDatabaseError(error)) throw error;
      await wait(transientBackoffMs(retry, policy, random()));
    }
  }
}

/**
 * Half the capped exponential delay, plus up to as much again at random ("equal jitter"), so that
 * the sessions that collided do not run again in step. `random` is in [0, 1).
 */
export function transientBackoffMs(
  retry: number,
  policy: TransientRetryPolicy,
  random: number,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return cap / 2 + (cap / 2) * random;
}
