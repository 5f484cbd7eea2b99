import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for `promise` (never rejecting) for at most `ms`. The timer is cleared when the promise
 * wins: a pending shutdown-length timer would keep the process alive after a clean stop.
 */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  const expiry = sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined);
  await Promise.race([promise.catch(() => undefined), expiry]);
  timer.abort();
}
