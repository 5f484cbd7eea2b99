import { setTimeout as sleep } from 'node:timers/promises';
import { report } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks, Pg } from './support/pg';
import { waitFor } from './support/wait';
import {
  callApi,
  hasExited,
  leaseOwnerPattern,
  postTask,
  registerHandler,
  replicaEnv,
} from './support/replicas';

const TASKS = 300;
const HANDLER_MS = 1000;
const TIMEOUT_MS = 2000;
const MARGIN_MS = 1000;
const SWEEP_MS = 500;
/** Timer jitter, process scheduling and query time on a busy 2-core machine. */
const SLACK_MS = 3000;

interface Row {
  key: string;
  version: number;
  attempts: number;
  state: string;
  run_at: string;
  delivery_id: string;
  last_error: string | null;
  lease_owner: string | null;
}

const ROWS = `
  SELECT key::text, version, attempts, state, run_at::text, delivery_id::text, last_error,
    lease_owner
  FROM tasks WHERE cate = 'stale' AND key = ANY($1::numeric[]) ORDER BY key`;

describe('a replica stopped (SIGSTOP) past its lease while delivering, then resumed', () => {
  const fixture = useFaultFixture();

  it('is re-delivered by the others, and its late completions change nothing', async () => {
    const { replicas, db, pg, receiver } = fixture;
    const [stale, ...others] = await replicas.start(
      3,
      replicaEnv(db.url, {
        CALLBACK_TIMEOUT_MS: String(TIMEOUT_MS),
        LEASE_MARGIN_MS: String(MARGIN_MS),
        SWEEP_INTERVAL_MS: String(SWEEP_MS),
      }),
    );
    const path = `slow/${HANDLER_MS}`;
    await registerHandler(others[0], 'stale', receiver.url(path));
    await insertDueTasks(pg, 'stale', TASKS, 0, 0);
    await receiver.waitUntil('deliveries under way', (c) => c.length >= TASKS / 3, 20_000);

    stale.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await sleep(100); // statements it had sent complete (or wait on a transaction it holds)
    const held = await pg.query<{ key: string; delivery_id: string }>(
      `SELECT key::text, delivery_id::text FROM tasks WHERE lease_owner LIKE $1`,
      [leaseOwnerPattern(stale)],
    );
    const heldIds = new Set(held.map((h) => h.delivery_id));
    const heldKeys = held.map((h) => h.key);

    // The others take over once the leases expire: the same delivery ids, a later attempt.
    const redelivered = (): Set<string> =>
      new Set(
        receiver
          .callsTo(path)
          .filter((c) => heldIds.has(c.deliveryId) && c.attempt > 1)
          .map((c) => c.deliveryId),
      );
    await receiver.waitUntil(
      () => `${held.length} re-deliveries (got ${redelivered().size})`,
      () => redelivered().size === held.length,
      TIMEOUT_MS + MARGIN_MS + SWEEP_MS + HANDLER_MS + SLACK_MS,
    );
    const takenOverMs = Date.now() - stoppedAt;
    await waitFor('every task completed', async () => (await countTasks(pg)) === 0, 10_000);

    // New occurrences of the same keys, due later: a completion of the stale claims must not
    // touch them.
    for (const key of heldKeys) await postTask(others[1], 'stale', key, Date.now() + 60_000);
    const before = await pg.query<Row>(ROWS, [heldKeys]);

    stale.child.kill('SIGCONT');
    const resumedAt = Date.now();
    // Its attempts end (answered or timed out) and are recorded: one history row per claim.
    const recordedMs = await waitFor(
      'the stale replica to record its attempts',
      async () =>
        (await pg.scalar<number>(
          `SELECT count(*)::int FROM task_attempts
           WHERE delivery_id = ANY($1::uuid[]) AND attempt = 1`,
          [[...heldIds]],
        )) === held.length,
      TIMEOUT_MS + SLACK_MS,
    );
    await sleep(500); // a stray write would have landed by now
    const after = await pg.query<Row>(ROWS, [heldKeys]);
    const health = await callApi(stale, 'GET', '/health');

    const staleCalls = receiver.callsTo(path).filter((c) => heldIds.has(c.deliveryId));
    report('4 stale replica (SIGSTOP past lease)', {
      'claims held when stopped': held.length,
      'taken over after ms': takenOverMs,
      'calls for those claims': staleCalls.length,
      'stale calls sent after it resumed': staleCalls.filter(
        (c) => c.attempt === 1 && c.arrivedAtMs >= resumedAt,
      ).length,
      duplicates: staleCalls.length - held.length,
      'stale attempts recorded after resume ms': recordedMs,
      'rows changed by the stale completions': after.filter(
        (row, i) => JSON.stringify(row) !== JSON.stringify(before[i]),
      ).length,
    });
    expect(held.length).toBeGreaterThan(0);
    expect(before).toHaveLength(held.length);
    expect(before.every((r) => r.state === 'pending' && r.attempts === 0)).toBe(true);
    expect(after).toEqual(before);
    expect(health.status).toBe(200);
    expect([stale, ...others].every((s) => !hasExited(s))).toBe(true);
    // Nothing else was delivered twice: every other task went out once.
    const others1 = receiver.callsTo(path).filter((c) => !heldIds.has(c.deliveryId));
    expect(others1).toHaveLength(TASKS - held.length);
  });
});

function countTasks(pg: Pg): Promise<number> {
  return pg.scalar<number>(`SELECT count(*)::int FROM tasks WHERE cate = 'stale'`);
}
