import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiverProcess } from '../support/receiver';
import { duplicates, formatSummary, lateness, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks } from './support/pg';
import { waitFor } from './support/wait';
import { hasExited, leaseOwnerPattern, registerHandler, replicaEnv } from './support/replicas';

const TASKS = 1000;
const HANDLER_MS = 500;
const TIMEOUT_MS = 2000;
const MARGIN_MS = 1000;
const SWEEP_MS = 500;
/** A lost lease is retried after backoff: at most this long for a first attempt. */
const RETRY_BASE_MS = 500;
/** Timer jitter, process scheduling and claim/sweep query time on a busy 2-core machine. */
const SLACK_MS = 2000;

describe('kill -9 of one of three replicas with 1,000 slow deliveries in flight', () => {
  const fixture = useFaultFixture();

  it('delivers every task within lease + sweep + backoff + timeout, duplicating only what the killed one held', async () => {
    const { replicas, db, pg, receiver } = fixture;
    const services = await replicas.start(
      3,
      replicaEnv(db.url, {
        CALLBACK_TIMEOUT_MS: String(TIMEOUT_MS),
        LEASE_MARGIN_MS: String(MARGIN_MS),
        SWEEP_INTERVAL_MS: String(SWEEP_MS),
        RETRY_BASE_DELAY_MS: String(RETRY_BASE_MS),
        // Enough slots for all 1,000 to be in flight at once across the three.
        DISPATCH_CONCURRENCY: '400',
      }),
    );
    const [victim, ...survivors] = services;
    await registerHandler(survivors[0], 'kill9', receiver.url(`slow/${HANDLER_MS}`));
    await insertDueTasks(pg, 'kill9', TASKS, 0, 0);
    await receiver.waitUntil('most deliveries in flight', (c) => c.length >= TASKS * 0.8, 20_000);

    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    // What the killed replica had claimed and not completed: only these may be delivered twice.
    const held = await pg.query<{ key: string; delivery_id: string }>(
      `SELECT key::text, delivery_id::text FROM tasks WHERE lease_owner LIKE $1`,
      [leaseOwnerPattern(victim)],
    );
    const bound = TIMEOUT_MS + MARGIN_MS + SWEEP_MS + RETRY_BASE_MS + TIMEOUT_MS;
    // Delivered = the handler's answer went back; the killed replica's calls never got theirs.
    await receiver.waitForAnsweredKeys(`slow/${HANDLER_MS}`, TASKS, bound + SLACK_MS);
    const answered = receiver.answered(`slow/${HANDLER_MS}`);
    const allDeliveredMs = Math.max(...answered.map((c) => c.closed!.closedAtMs)) - killedAt;
    await waitFor(
      'every task completed',
      async () => (await pg.scalar<number>('SELECT count(*)::int FROM tasks')) === 0,
      10_000,
    );
    await sleep(500); // room for a late duplicate to show up

    const calls = receiver.callsTo(`slow/${HANDLER_MS}`);
    const delivered = ReceiverProcess.distinctKeys(answered).size;
    const twice = duplicates(calls);
    const heldIds = new Set(held.map((h) => h.delivery_id));
    report('3 kill -9 of 1 of 3 replicas', {
      lost: TASKS - delivered,
      duplicates: calls.length - ReceiverProcess.distinctKeys(calls).size,
      'calls cut off by the kill': calls.length - answered.length,
      'held by the killed replica': held.length,
      'all delivered after the kill ms': Math.round(allDeliveredMs),
      'bound (lease + sweep + backoff + timeout) ms': bound,
      lateness: formatSummary(summarize(lateness(calls))),
    });
    expect(survivors.every((s) => !hasExited(s))).toBe(true);
    expect(delivered).toBe(TASKS);
    expect(held.length).toBeGreaterThan(0);
    expect(calls.length - TASKS).toBeLessThanOrEqual(held.length);
    // A duplicate is a re-delivery of the killed replica's claim: same delivery id, attempt 2.
    expect([...twice.keys()].filter((id) => !heldIds.has(id))).toEqual([]);
    expect([...twice.values()].every((n) => n === 2)).toBe(true);
    const redelivered = calls.filter((c) => twice.has(c.deliveryId) && c.attempt > 1);
    expect(redelivered).toHaveLength(twice.size);
    expect(allDeliveredMs).toBeLessThan(bound + SLACK_MS);
  });
});
