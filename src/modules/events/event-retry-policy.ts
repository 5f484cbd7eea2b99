import { backoffDelayMs } from '../dispatch/retry-policy';

/**
 * Events are retried with exponential backoff and jitter, 1 s doubling up to 1 hour between
 * attempts, for as long as the event is younger than a day (about 35 attempts against a receiver
 * that is down all along); then it is dropped. Age, not a count of attempts, bounds it, so an
 * event that waited out a long outage of this service is still tried.
 */
export const EVENT_RETRY = {
  baseDelayMs: 1000,
  maxDelayMs: 3_600_000,
  maxAgeMs: 86_400_000,
} as const;

export type EventRetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'drop' };

/**
 * What follows failed attempt number `attempt` of an event written `ageMs` ago: a retry after
 * the backoff, or a drop when that retry would come after the event's maximum age.
 */
export function decideEventRetry(
  attempt: number,
  ageMs: number,
  random: () => number = Math.random,
): EventRetryDecision {
  const delayMs = backoffDelayMs(
    attempt,
    { maxAttempts: Infinity, captureResponseBytes: 0, ...EVENT_RETRY },
    random,
  );
  return ageMs + delayMs > EVENT_RETRY.maxAgeMs ? { kind: 'drop' } : { kind: 'retry', delayMs };
}
