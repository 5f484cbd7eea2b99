import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { LeaseSweeper } from '../src/modules/dispatch/lease.sweeper';
import { QueueRepository } from '../src/modules/dispatch/queue.repository';
import { ClaimedTask } from '../src/modules/dispatch/queue.types';
import { startTestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { queueWrites } from './support/queue';
import { postTask, unixSeconds } from './support/tasks-api';

/**
 * One test (or a few) per statement of the queue's state machine (dispatch/queue.sql.ts), run
 * through QueueRepository against a real PostgreSQL, with the dispatcher off so that only the
 * test moves rows. Each test works in a category of its own.
 */
const config: Partial<AppConfig> = {
  dispatchEnabled: false,
  maxAttempts: 3,
  retryBaseDelayMs: 10_000,
  retryMaxDelayMs: 60_000,
};

describe('queue statements', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let queue: QueueRepository;
  let writes: ReturnType<typeof queueWrites>;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, config);
    queue = app.get(QueueRepository);
    writes = queueWrites(queue);
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  /** A category name no other test uses. */
  function category(name: string): string {
    return `${name}-${randomBytes(3).toString('hex')}`;
  }

  async function insertDue(cate: string, count: number): Promise<void> {
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT $1::text, k, now() - interval '1 second', now() - interval '1 second', '{}'
       FROM generate_series(1, $2::int) AS k`,
      [cate, count],
    );
  }

  /** Claims `cate`'s due tasks only: other tests' categories are skipped. */
  async function claim(cate: string, owner: string, leaseMs = 30_000): Promise<ClaimedTask[]> {
    return queue.claimDue(owner, 100, leaseMs, 0, await othersThan(cate));
  }

  async function row(cate: string) {
    const [found] = await db.query<{
      state: string;
      attempts: number;
      claim_token: number;
      lease_owner: string | null;
      run_in_ms: number;
      last_error: string | null;
    }>(
      `SELECT state, attempts, claim_token, lease_owner, last_error,
         (extract(epoch FROM run_at - now()) * 1000)::float8 AS run_in_ms
       FROM tasks WHERE cate = $1`,
      [cate],
    );
    return found;
  }

  describe('CLAIM_DUE', () => {
    it('never hands the same row to two of 8 concurrent claimers', async () => {
      const cate = category('concurrent');
      await insertDue(cate, 500);
      const skip = await othersThan(cate);
      const batches = await Promise.all(
        Array.from({ length: 8 }, (_, i) => queue.claimDue(`worker-${i}`, 100, 30_000, 0, skip)),
      );
      const ids = batches.flat().map((t) => t.id);
      expect(new Set(ids).size).toBe(ids.length);
      const rest = await queue.claimDue('worker-late', 500, 30_000, 0, skip);
      const all = [...ids, ...rest.map((t) => t.id)];
      expect(all).toHaveLength(500);
      expect(new Set(all).size).toBe(500);
      await expect(queue.claimDue('worker-none', 500, 30_000, 0, skip)).resolves.toEqual([]);
    });

    it('leases in due order, counts the attempt and gives each claim a new token', async () => {
      const cate = category('order');
      await db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params) VALUES
           ($1, 1, now() - interval '1 second', now() - interval '1 second', '{}'),
           ($1, 2, now() - interval '3 seconds', now() - interval '3 seconds', '{}'),
           ($1, 3, now() + interval '1 hour', now() + interval '1 hour', '{}')`,
        [cate],
      );
      const claimed = await claim(cate, 'w1');
      expect(claimed.map((t) => t.key)).toEqual(['2', '1']);
      expect(claimed[0]).toMatchObject({ attempts: 1, claim_token: 1, cate });
      const leases = await db.query<{ owner: string; lease_ms: number }>(
        `SELECT lease_owner AS owner,
           (extract(epoch FROM lease_expires_at - leased_at) * 1000)::float8 AS lease_ms
         FROM tasks WHERE cate = $1 AND state = 'running'`,
        [cate],
      );
      expect(leases).toEqual([
        { owner: 'w1', lease_ms: 30_000 },
        { owner: 'w1', lease_ms: 30_000 },
      ]);
    });

    it('passes over the categories it is told to skip', async () => {
      const cate = category('skipped');
      await insertDue(cate, 2);
      await expect(queue.claimDue('w', 100, 30_000, 0, [cate])).resolves.not.toEqual(
        expect.arrayContaining([expect.objectContaining({ cate })]),
      );
    });
  });

  describe('NEXT_DUE_DELAY', () => {
    it('answers the delay until the earliest pending task, leaving skipped categories out', async () => {
      const cate = category('next');
      await db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params)
         VALUES ($1, 1, now() + interval '1 hour', now() - interval '5 seconds', '{}')`,
        [cate],
      );
      const delay = await queue.nextDueDelayMs();
      expect(delay).not.toBeNull();
      expect(delay as number).toBeLessThanOrEqual(-4000);
      const without = await queue.nextDueDelayMs([cate]);
      expect(without === null || without > -4000).toBe(true);
    });
  });

  describe('COMPLETE_DELIVERED', () => {
    it('lets the current claim complete its task', async () => {
      const cate = category('current');
      await insertDue(cate, 1);
      const [claimed] = await claim(cate, 'w');
      await expect(writes.complete([claimed])).resolves.toBe(1);
      await expect(row(cate)).resolves.toBeUndefined();
    });

    it('does not let a stale claim complete, fail or release a task updated since', async () => {
      const cate = category('stale');
      await postTask(app, cate, { timestamp: unixSeconds(-10), key: 1, params: '{"v":1}' });
      const [claimed] = await claim(cate, 'old-worker');
      expect(claimed).toBeDefined();
      await postTask(app, cate, { timestamp: unixSeconds(60_000), key: 1, params: '{"v":2}' });

      await expect(writes.complete([claimed])).resolves.toBe(0);
      const failure = { ...claimed, final: true, delayMs: 0, error: 'HTTP 500' };
      await expect(writes.fail([failure])).resolves.toBe(0);
      await expect(writes.release([claimed])).resolves.toBe(0);
      await expect(row(cate)).resolves.toMatchObject({ state: 'pending', attempts: 0 });
    });
  });

  describe('RECORD_FAILURES', () => {
    it('puts a retry back to pending after its delay and fails a final attempt', async () => {
      const cate = category('failures');
      await insertDue(cate, 2);
      const [first, second] = await claim(cate, 'w');
      await expect(
        writes.fail([
          { ...first, final: false, delayMs: 5000, error: 'HTTP 503' },
          { ...second, final: true, delayMs: 0, error: 'HTTP 500' },
        ]),
      ).resolves.toBe(2);
      const rows = await db.query<{ key: string; state: string; run_in_ms: number }>(
        `SELECT key::text, state, (extract(epoch FROM run_at - now()) * 1000)::float8 AS run_in_ms
         FROM tasks WHERE cate = $1 ORDER BY key`,
        [cate],
      );
      expect(rows[0]).toMatchObject({ key: first.key, state: 'pending' });
      expect(rows[0].run_in_ms).toBeGreaterThan(4000);
      expect(rows[1]).toMatchObject({ key: second.key, state: 'failed' });
    });
  });

  describe('RELEASE_CLAIMS', () => {
    it('gives the attempt back and leaves the row pending', async () => {
      const cate = category('release');
      await insertDue(cate, 1);
      const [claimed] = await claim(cate, 'w');
      await expect(writes.release([claimed])).resolves.toBe(1);
      await expect(row(cate)).resolves.toMatchObject({
        state: 'pending',
        attempts: 0,
        claim_token: 1,
        lease_owner: null,
      });
    });

    it('a replayed release cannot free the same worker’s later claim of the row', async () => {
      // The race: release, re-claim by the same worker (same id, version and attempt number as
      // the released claim), then the first release arrives again after a connection error.
      const cate = category('replay');
      await insertDue(cate, 1);
      const [first] = await claim(cate, 'same-worker');
      await expect(writes.release([first])).resolves.toBe(1);
      const [second] = await claim(cate, 'same-worker');
      expect(second).toMatchObject({ id: first.id, attempts: first.attempts });
      expect(second.claim_token).not.toBe(first.claim_token);

      await expect(writes.release([first])).resolves.toBe(0);
      await expect(writes.complete([first])).resolves.toBe(0);
      await expect(row(cate)).resolves.toMatchObject({
        state: 'running',
        lease_owner: 'same-worker',
        claim_token: second.claim_token,
      });
      // No other replica can claim it meanwhile; the live claim completes it.
      await expect(claim(cate, 'other-replica')).resolves.toEqual([]);
      await expect(writes.complete([second])).resolves.toBe(1);
    });
  });

  describe('LOCK_EXPIRED_LEASES (lease sweeper)', () => {
    it('records a lost lease as an attempt and retries it after backoff, leaving live leases alone', async () => {
      const cate = category('lease');
      await insertDue(cate, 2);
      const [expiring] = await queue.claimDue('crashed-replica', 1, 1, 0, await othersThan(cate));
      const [live] = await queue.claimDue('alive', 1, 60_000, 0, await othersThan(cate));
      await sleep(20);

      await expect(app.get(LeaseSweeper).sweep()).resolves.toBeGreaterThanOrEqual(1);
      const rows = await db.query<{
        id: string;
        state: string;
        lease_owner: string | null;
        run_in_ms: number;
      }>(
        `SELECT id::text, state, lease_owner,
           (extract(epoch FROM run_at - now()) * 1000)::float8 AS run_in_ms
         FROM tasks WHERE cate = $1 ORDER BY id`,
        [cate],
      );
      const rescued = rows.find((r) => r.id === expiring.id);
      expect(rescued).toMatchObject({ state: 'pending', lease_owner: null });
      // Backoff of attempt 1 with a 10 s base: 5 to 10 s, not at once.
      expect(rescued?.run_in_ms).toBeGreaterThan(4000);
      expect(rows.find((r) => r.id === live.id)).toMatchObject({
        state: 'running',
        lease_owner: 'alive',
      });
      // The crashed claimer's late result no longer counts.
      await expect(writes.complete([expiring])).resolves.toBe(0);

      const history = await request(app.getHttpServer()).get(
        `/task/${cate}/${expiring.key}/attempts`,
      );
      expect(history.status).toBe(200);
      expect(JSON.stringify(history.body)).toContain('lease_expired');
      expect(JSON.stringify(history.body)).toContain('crashed-replica');
    });

    it('fails a task whose lost lease was its last attempt instead of looping for ever', async () => {
      const cate = category('crashy');
      await db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, claim_token,
           lease_owner, lease_expires_at)
         VALUES ($1, 1, now(), now(), '{}', 'running', 3, 3, 'dead', now() - interval '1 second'),
           ($1, 2, now(), now(), '{}', 'running', 2, 2, 'dead', now() - interval '1 second')`,
        [cate],
      );
      await app.get(LeaseSweeper).sweep();
      const rows = await db.query<{ key: string; state: string; last_error: string }>(
        `SELECT key::text, state, last_error FROM tasks WHERE cate = $1 ORDER BY key`,
        [cate],
      );
      expect(rows).toEqual([
        { key: '1', state: 'failed', last_error: expect.stringMatching(/^lease expired: .*dead/) },
        { key: '2', state: 'pending', last_error: expect.stringMatching(/^lease expired: /) },
      ]);
      const attempts = await db.query<{ key: string; attempt: number; outcome: string }>(
        `SELECT key::text, attempt, outcome FROM task_attempts WHERE cate = $1 ORDER BY key`,
        [cate],
      );
      expect(attempts).toEqual([
        { key: '1', attempt: 3, outcome: 'lease_expired' },
        { key: '2', attempt: 2, outcome: 'lease_expired' },
      ]);
    });

    it("rules by the category's own max attempts over the default", async () => {
      const cate = category('crashy5');
      await db.query(
        `INSERT INTO handlers (cate, url, max_attempts) VALUES ($1, 'http://127.0.0.1:9/', 5)`,
        [cate],
      );
      await db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, claim_token,
           lease_owner, lease_expires_at)
         VALUES ($1, 1, now(), now(), '{}', 'running', 3, 3, 'dead', now() - interval '1 second')`,
        [cate],
      );
      await app.get(LeaseSweeper).sweep();
      await expect(row(cate)).resolves.toMatchObject({ state: 'pending' });
    });

    it('counts lost leases in the attempts metric', async () => {
      const metric = async (): Promise<number> => {
        const res = await request(app.getHttpServer()).get('/metrics');
        const line = res.text
          .split('\n')
          .find((l) => l.startsWith('delay_tasks_attempts_total{outcome="lease_expired"}'));
        return Number(line?.split(' ')[1] ?? NaN);
      };
      const before = await metric();
      const cate = category('metric');
      await db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, claim_token,
           lease_owner, lease_expires_at)
         VALUES ($1, 1, now(), now(), '{}', 'running', 1, 1, 'dead', now() - interval '1 second')`,
        [cate],
      );
      await app.get(LeaseSweeper).sweep();
      await expect(metric()).resolves.toBe(before + 1);
    });
  });

  async function othersThan(cate: string): Promise<string[]> {
    const others = await db.query<{ cate: string }>(
      `SELECT DISTINCT cate FROM tasks WHERE cate <> $1`,
      [cate],
    );
    return others.map((o) => o.cate);
  }
});
