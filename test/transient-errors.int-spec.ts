import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import request from 'supertest';
import { startTestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { CallbackReceiver } from './support/receiver';
import { registerHandler, unixSeconds, waitFor } from './support/tasks-api';

/** The API pool's lock_timeout in these tests: short, so that a blocked statement fails fast. */
const LOCK_TIMEOUT_MS = 200;
/** The first run of a statement and the retries of TRANSIENT_RETRY_POLICY. */
const RUNS = 4;

interface TaskState {
  due: string;
  params: string;
  version: number;
}

/**
 * Deadlocks and lock timeouts of API statements: retried inside the service, then answered 503
 * with Retry-After, never 500.
 */
describe('transient database errors', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let receiver: CallbackReceiver;
  const holders: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Deadlocks are found after deadlock_timeout (1 s by default), by then the API's statement
    // has failed on its lock timeout; with this, the API's sessions find them first.
    await db.query(`ALTER DATABASE ${db.name} SET deadlock_timeout = '50ms'`);
    receiver = await new CallbackReceiver().start();
    app = await startTestApp(db.url, { databaseLockTimeoutMs: LOCK_TIMEOUT_MS });
    await registerHandler(app, 'locked', receiver.url());
    await registerHandler(app, 'busy', receiver.url());
    await registerHandler(app, 'deadlocked', receiver.url());
  });

  afterAll(async () => {
    await Promise.all(holders.map((holder) => holder.end().catch(() => undefined)));
    await app?.close();
    await receiver?.close();
    await db?.drop();
  });

  /** Another session's open transaction holding the task's row lock; `release()` ends it. */
  async function lockTask(cate: string, key: number): Promise<{ release: () => Promise<void> }> {
    const holder = new Client({ connectionString: db.url });
    holders.push(holder);
    await holder.connect();
    await holder.query('BEGIN');
    const { rowCount } = await holder.query(
      'SELECT id FROM tasks WHERE cate = $1 AND key = $2 FOR UPDATE',
      [cate, key],
    );
    expect(rowCount).toBe(1);
    let released: Promise<void> | undefined;
    return {
      release: () => (released ??= holder.query('ROLLBACK').then(() => holder.end())),
    };
  }

  async function taskState(cate: string, key: number): Promise<TaskState | undefined> {
    const [row] = await db.query<TaskState>(
      `SELECT due_at::text AS due, params::text AS params, version
       FROM tasks WHERE cate = $1 AND key = $2`,
      [cate, key],
    );
    return row;
  }

  /** True when a connection of the API's pool waits for a lock. */
  async function apiSessionWaitingForLock(): Promise<boolean> {
    const rows = await db.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'delay-tasks'
         AND wait_event_type = 'Lock'`,
    );
    return rows.length > 0;
  }

  function postTask(cate: string, key: number, timestamp: number, params: unknown) {
    return request(app.getHttpServer()).post(`/task/${cate}`).send({ key, timestamp, params });
  }

  it('answers 503 with Retry-After when a row lock is held past every retry, and changes nothing', async () => {
    expect((await postTask('locked', 1, unixSeconds(3_600_000), { v: 1 })).status).toBe(200);
    const before = await taskState('locked', 1);
    const lock = await lockTask('locked', 1);
    // Without a lock timeout the POST would wait for the lock as long as it is held: end the
    // hold after a while, so that such a build fails on the status rather than on a timeout.
    const backstop = setTimeout(() => void lock.release(), 5000);
    try {
      const started = Date.now();
      const res = await postTask('locked', 1, unixSeconds(7_200_000), { v: 2 });
      const elapsedMs = Date.now() - started;

      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({ code: 503, msg: expect.stringMatching(/retry later/) });
      // Every run waited out the lock timeout: the statement was retried, not failed at once.
      expect(elapsedMs).toBeGreaterThanOrEqual(RUNS * LOCK_TIMEOUT_MS);
    } finally {
      clearTimeout(backstop);
      await lock.release();
    }
    expect(await taskState('locked', 1)).toEqual(before);
  });

  it('succeeds when the row lock is released while the statement is being retried', async () => {
    expect((await postTask('locked', 2, unixSeconds(3_600_000), { v: 1 })).status).toBe(200);
    const lock = await lockTask('locked', 2);
    // After the first run's lock timeout, well before the last retry's.
    const releaseAfterMs = LOCK_TIMEOUT_MS * 1.5;
    const timer = setTimeout(() => void lock.release(), releaseAfterMs);
    try {
      const started = Date.now();
      const res = await postTask('locked', 2, unixSeconds(7_200_000), { v: 2 });

      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(releaseAfterMs - 20);
    } finally {
      clearTimeout(timer);
      await lock.release();
    }
    expect(await taskState('locked', 2)).toMatchObject({ params: '{"v":2}', version: 2 });
  });

  it('runs a batch upsert chosen as the victim of a deadlock again, and answers 200', async () => {
    const write = (v: number) =>
      [1, 2].map((key) => ({ key, timestamp: unixSeconds(3_600_000 + v), params: { v } }));
    const batch = (v: number) =>
      request(app.getHttpServer())
        .post('/tasks/deadlocked')
        .send({ tasks: write(v) });
    expect((await batch(1)).status).toBe(200);
    const other = new Client({ connectionString: db.url });
    holders.push(other);
    await other.connect();
    await other.query('BEGIN');
    // The other session finds no deadlock itself: the batch's backend does and gives up.
    await other.query(`SET LOCAL deadlock_timeout = '10s'`);
    await other.query(`SELECT id FROM tasks WHERE cate = 'deadlocked' AND key = 2 FOR UPDATE`);

    // The batch locks key 1, then waits for key 2 …
    const pending = batch(2).then((res) => res);
    await waitFor('the batch to wait for a row lock', apiSessionWaitingForLock, 5000, 2);
    // … while the other session waits for key 1: a deadlock, which the batch's backend detects
    // after deadlock_timeout and breaks by failing its own statement (40P01); had it checked
    // before the cycle closed, its lock timeout would end the wait (55P03). Either is retried.
    await other.query(`SELECT id FROM tasks WHERE cate = 'deadlocked' AND key = 1 FOR UPDATE`);
    await other.query('ROLLBACK');
    await other.end();

    const res = await pending;
    expect(res.status).toBe(200);
    const rows = await db.query<{ params: string }>(
      `SELECT params::text AS params FROM tasks WHERE cate = 'deadlocked' ORDER BY key`,
    );
    expect(rows).toEqual([{ params: '{"v":2}' }, { params: '{"v":2}' }]);
  });

  it('answers concurrent batch upserts of shared keys, being delivered meanwhile, with 200 or 503 only', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => i + 1);
    const orders = [keys, [...keys].reverse(), keys.filter((k) => k % 2 === 0), shuffled(keys)];
    const statuses: number[] = [];
    const deadline = Date.now() + 4000;
    const client = async (order: number[], index: number): Promise<void> => {
      while (Date.now() < deadline) {
        const due = unixSeconds(); // due now: the dispatcher delivers and deletes them at once
        const tasks = order.map((key) => ({ key, timestamp: due, params: { client: index } }));
        const res = await request(app.getHttpServer()).post('/tasks/busy').send({ tasks });
        statuses.push(res.status);
      }
    };
    const callsBefore = receiver.calls.length;

    const writers = [1, 2].map(() => outOfOrderWriter('busy', keys, deadline));
    await Promise.all([...orders, ...orders].map(client));
    await Promise.all(writers);

    const counts = countOf(statuses);
    expect(
      Object.entries(counts).filter(([status]) => status !== '200' && status !== '503'),
    ).toEqual([]);
    expect(counts['200']).toBeGreaterThan(0);
    // The dispatcher was delivering (and so completing) these keys all along.
    expect(receiver.calls.length - callsBefore).toBeGreaterThan(keys.length);
  });

  /**
   * Until `deadline`, writes a few of the keys at a time in random order, one statement each, in
   * one transaction, as a dispatcher on another replica completes a batch of deliveries in the
   * order they ended. Against the batch upserts, which lock the keys in key order, that makes lock
   * waits and deadlocks.
   */
  async function outOfOrderWriter(cate: string, keys: number[], deadline: number) {
    // A long deadlock_timeout here: the API's sessions (50 ms) are the ones to find deadlocks.
    const writer = new Client({ connectionString: db.url, options: '-c deadlock_timeout=1s' });
    holders.push(writer);
    await writer.connect();
    while (Date.now() < deadline) {
      await writer.query('BEGIN');
      try {
        for (const key of shuffled(keys).slice(0, 5)) {
          await writer.query('UPDATE tasks SET updated_at = now() WHERE cate = $1 AND key = $2', [
            cate,
            key,
          ]);
          await sleep(2);
        }
        await writer.query('COMMIT');
      } catch (error) {
        await writer.query('ROLLBACK');
        if ((error as { code?: string }).code !== '40P01') throw error;
      }
      await sleep(5);
    }
    await writer.end();
  }
});

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function countOf(statuses: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
