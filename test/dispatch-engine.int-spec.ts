import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { LeaseSweeper } from '../src/modules/dispatch/lease.sweeper';
import { TasksRepository } from '../src/modules/tasks/tasks.repository';
import { ClaimedTask } from '../src/modules/tasks/tasks.types';
import { startTestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { CallbackReceiver } from './support/receiver';
import {
  bodyField,
  header,
  latenessMs,
  postTask,
  registerHandler,
  unixSeconds,
  waitFor,
} from './support/tasks-api';

// jest.config.js sets testTimeout per project, where Jest ignores it; the default 5 s is too short.

const config: Partial<AppConfig> = {
  callbackAllowCidrs: ['127.0.0.0/8'], // the receivers listen on loopback (SSRF guard, §4)
  callbackTimeoutMs: 1000,
  retryBaseDelayMs: 200,
  maxAttempts: 3,
  pollIntervalMs: 500,
  sweepIntervalMs: 200,
  leaseMarginMs: 300,
};

interface TaskState {
  state: string;
  params: string;
  attempts: number;
}

/** The rows of a category, for assertions that bypass the API. */
async function rowsOf(db: TestDatabase, cate: string): Promise<TaskState[]> {
  return db.query<TaskState>(
    'SELECT state, params::text AS params, attempts FROM tasks WHERE cate = $1 ORDER BY id',
    [cate],
  );
}

/**
 * What the dispatcher's write of the outcome for task `id` returned (rows changed), once it has
 * been made; `spy` watches a TasksRepository completion method.
 */
/**
 * Waits until a completion flush carried task `id` as `part` (delivered or failures) and returns
 * how many rows that part changed.
 */
async function writtenFor(
  spy: jest.SpiedFunction<TasksRepository['recordOutcomes']>,
  part: 'delivered' | 'failures',
  id: string,
): Promise<number> {
  const index = await waitFor(`the outcome of task ${id} to be written`, () => {
    const found = spy.mock.calls.findIndex(([batch]) => batch[part].some((c) => c.id === id));
    return found >= 0 ? found : undefined;
  });
  const counts = await (spy.mock.results[index].value as ReturnType<
    TasksRepository['recordOutcomes']
  >);
  return counts[part];
}

describe('dispatch engine', () => {
  let db: TestDatabase;
  let app: INestApplication;
  const receivers: CallbackReceiver[] = [];

  /** A receiver registered as the handler of `cate`. */
  async function handlerFor(cate: string): Promise<CallbackReceiver> {
    const receiver = await new CallbackReceiver().start();
    receivers.push(receiver);
    await registerHandler(app, cate, receiver.url());
    return receiver;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, config);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await app.close();
    await Promise.all(receivers.map((r) => r.close()));
    await db.drop();
  });

  it('never delivers a task before its due time, fractional seconds included', async () => {
    const receiver = await handlerFor('ontime');
    const dues = new Map<number, number>();
    for (let key = 1; key <= 10; key += 1) {
      const timestamp = unixSeconds(300 + key * 120 + 7);
      dues.set(key, timestamp);
      await postTask(app, 'ontime', { timestamp, key });
    }

    const calls = await receiver.waitForCalls(10, 5000);
    for (const call of calls) {
      const due = dues.get(bodyField(call, 'key') as number)!;
      expect(Number(header(call, 'x-task-due'))).toBe(due);
      expect(call.arrivedAtMs).toBeGreaterThanOrEqual(due * 1000);
      expect(call.arrivedAtMs - due * 1000).toBeLessThan(500);
    }
    expect(new Set(calls.map((c) => bodyField(c, 'key'))).size).toBe(10);
  });

  it('delivers an overdue task at once', async () => {
    const receiver = await handlerFor('overdue');
    const posted = Date.now();
    await postTask(app, 'overdue', { timestamp: unixSeconds(-30_000), key: 1 });

    const [call] = await receiver.waitForCalls(1, 2000);
    expect(call.arrivedAtMs - posted).toBeLessThan(500);
  });

  it('delivers an updated task once, at its new time with its new params', async () => {
    const receiver = await handlerFor('upsert');
    await postTask(app, 'upsert', { timestamp: unixSeconds(700), key: 1, params: '{"v":1}' });
    const newDue = unixSeconds(1200);
    await postTask(app, 'upsert', { timestamp: newDue, key: 1, params: '{"v":2}' });

    const [call] = await receiver.waitForCalls(1, 3000);
    expect(call.body).toBe('{"cate":"upsert","inAdvance":false,"key":1,"params":{"v":2}}');
    expect(call.arrivedAtMs).toBeGreaterThanOrEqual(newDue * 1000);
    await waitFor('the row to be deleted', async () => (await rowsOf(db, 'upsert')).length === 0);
    await sleep(300);
    expect(receiver.calls).toHaveLength(1);
  });

  it('keeps an update made while the task is in flight as a new pending task', async () => {
    const receiver = await handlerFor('inflight');
    receiver.reply = (_call, index) => ({ status: 200, delayMs: index === 0 ? 500 : 0 });
    const outcomes = jest.spyOn(app.get(TasksRepository), 'recordOutcomes');
    await postTask(app, 'inflight', { timestamp: unixSeconds(), key: 1, params: '{"v":"old"}' });
    const [{ id }] = await db.query<{ id: string }>(
      `SELECT id::text FROM tasks WHERE cate = 'inflight'`,
    );
    await receiver.waitForCalls(1, 2000);

    const newDue = unixSeconds(1500);
    await postTask(app, 'inflight', { timestamp: newDue, key: 1, params: '{"v":"new"}' });
    await expect(writtenFor(outcomes, 'delivered', id)).resolves.toBe(0);
    await expect(rowsOf(db, 'inflight')).resolves.toEqual([
      { state: 'pending', params: '{"v":"new"}', attempts: 0 },
    ]);

    const [first, second] = await receiver.waitForCalls(2, 3000);
    expect(bodyField(first, 'params')).toEqual({ v: 'old' });
    expect(bodyField(second, 'params')).toEqual({ v: 'new' });
    expect(second.arrivedAtMs).toBeGreaterThanOrEqual(newDue * 1000);
    expect(header(second, 'x-delivery-id')).not.toBe(header(first, 'x-delivery-id'));
    expect(header(second, 'x-delivery-attempt')).toBe('1');
    await waitFor('the row to be deleted', async () => (await rowsOf(db, 'inflight')).length === 0);
  });

  it('fires nothing after a task is deleted while in flight, even if that delivery fails', async () => {
    const receiver = await handlerFor('deleted');
    receiver.reply = () => ({ status: 500, delayMs: 400 });
    const outcomes = jest.spyOn(app.get(TasksRepository), 'recordOutcomes');
    await postTask(app, 'deleted', { timestamp: unixSeconds(), key: 1 });
    const [{ id }] = await db.query<{ id: string }>(
      `SELECT id::text FROM tasks WHERE cate = 'deleted'`,
    );
    await receiver.waitForCalls(1, 2000);

    const res = await request(app.getHttpServer()).delete('/task/deleted').send({ key: 1 });
    expect(res.body).toEqual({ code: 200, msg: 'OK', result: { deleted: true } });
    await expect(writtenFor(outcomes, 'failures', id)).resolves.toBe(0);
    // Longer than the first backoff (100–200 ms) and a poll interval together.
    await sleep(800);
    expect(receiver.calls).toHaveLength(1);
    await expect(rowsOf(db, 'deleted')).resolves.toEqual([]);
  });

  it('delivers on DELETE {exec:true} with inAdvance true, apart from a new task under the same key', async () => {
    const receiver = await handlerFor('exec');
    await postTask(app, 'exec', { timestamp: unixSeconds(60_000), key: 5, params: '"first"' });

    const removed = await request(app.getHttpServer())
      .delete('/task/exec')
      .send({ key: 5, exec: true });
    expect(removed.body).toEqual({ code: 200, msg: 'OK', result: { deleted: true } });
    const get = await request(app.getHttpServer()).get('/task/exec/5');
    expect(get.status).toBe(404);
    expect(get.body).toEqual({ code: 404, msg: 'not found' });
    await postTask(app, 'exec', { timestamp: unixSeconds(200), key: 5, params: '"second"' });

    const calls = await receiver.waitForCalls(2, 3000);
    const bodies = calls.map((c) => c.body).sort();
    expect(bodies).toEqual([
      '{"cate":"exec","inAdvance":false,"key":5,"params":"second"}',
      '{"cate":"exec","inAdvance":true,"key":5,"params":"first"}',
    ]);
    expect(header(calls[0], 'x-delivery-id')).not.toBe(header(calls[1], 'x-delivery-id'));
    await waitFor('both rows to be deleted', async () => (await rowsOf(db, 'exec')).length === 0);
    await sleep(300);
    expect(receiver.calls).toHaveLength(2);
  });

  it('delivers a task whose replica died holding it once the sweeper frees the lease', async () => {
    const receiver = await handlerFor('orphaned');
    // What claimDue leaves behind when its replica dies before recording the outcome.
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
         lease_expires_at)
       VALUES ('orphaned', 1, now() - interval '1 second', now() - interval '1 second', '{}',
         'running', 1, 'dead-replica', now() + interval '300 milliseconds')`,
    );
    const inserted = Date.now();

    const [call] = await receiver.waitForCalls(1, 3000);
    // Not before the lease expired; soon after it (sweep interval 200 ms).
    expect(call.arrivedAtMs - inserted).toBeGreaterThanOrEqual(250);
    expect(call.arrivedAtMs - inserted).toBeLessThan(1500);
    expect(header(call, 'x-delivery-attempt')).toBe('2');
    await waitFor('the row to be deleted', async () => (await rowsOf(db, 'orphaned')).length === 0);
  });
});

describe('dispatch engine: claims, leases and fences', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let tasks: TasksRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, { ...config, dispatchEnabled: false });
    tasks = app.get(TasksRepository);
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function insertDue(cate: string, count: number): Promise<void> {
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT $1::text, k, now() - interval '1 second', now() - interval '1 second', '{}'
       FROM generate_series(1, $2::int) AS k`,
      [cate, count],
    );
  }

  it('never hands the same row to two of 8 concurrent claimers', async () => {
    await insertDue('concurrent', 500);

    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, i) => tasks.claimDue(`worker-${i}`, 100, 30_000, 0)),
    );
    const claimed = batches.flat();
    const ids = claimed.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rest = await tasks.claimDue('worker-late', 500, 30_000, 0);
    const all = [...ids, ...rest.map((t) => t.id)];
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    await expect(tasks.claimDue('worker-none', 500, 30_000, 0)).resolves.toEqual([]);
    const owners = await db.query<{ n: number }>(
      `SELECT count(DISTINCT lease_owner)::int AS n FROM tasks
       WHERE cate = 'concurrent' AND state = 'running'`,
    );
    expect(owners[0].n).toBeGreaterThan(1);
  });

  it('returns an expired lease to the queue on sweep, and leaves live leases alone', async () => {
    await insertDue('lease', 2);
    const [expiring] = await tasks.claimDue('crashed', 1, 1, 0);
    const [live] = await tasks.claimDue('alive', 1, 60_000, 0);
    await sleep(20);

    await expect(app.get(LeaseSweeper).sweep()).resolves.toBeGreaterThanOrEqual(1);
    const rows = await db.query<{ id: string; state: string; lease_owner: string | null }>(
      `SELECT id::text, state, lease_owner FROM tasks WHERE cate = 'lease' ORDER BY id`,
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: expiring.id, state: 'pending', lease_owner: null },
        { id: live.id, state: 'running', lease_owner: 'alive' },
      ]),
    );
    const reclaimed = (await tasks.claimDue('rescuer', 10, 30_000, 0)).filter(
      (t) => t.cate === 'lease',
    );
    expect(reclaimed).toEqual([expect.objectContaining({ id: expiring.id, attempts: 2 })]);
    // The crashed claimer's late result no longer counts.
    await expect(tasks.completeDelivered([expiring])).resolves.toBe(0);
  });

  it('fails a task whose lost lease was its last attempt instead of looping for ever', async () => {
    // A task that takes its replica down every time: the default max attempts is 3 here.
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
         lease_expires_at)
       VALUES ('crashy', 1, now(), now(), '{}', 'running', 3, 'dead', now() - interval '1 second'),
         ('crashy', 2, now(), now(), '{}', 'running', 2, 'dead', now() - interval '1 second')`,
    );
    await app.get(LeaseSweeper).sweep();
    const rows = await db.query<{ key: string; state: string; last_error: string }>(
      `SELECT key::text, state, last_error FROM tasks WHERE cate = 'crashy' ORDER BY key`,
    );
    expect(rows).toEqual([
      {
        key: '1',
        state: 'failed',
        last_error: expect.stringMatching(/^lease expired on the last attempt/),
      },
      { key: '2', state: 'pending', last_error: expect.stringMatching(/^lease expired: /) },
    ]);
    // A category's own max_attempts rules over the default.
    await db.query(
      `INSERT INTO handlers (cate, url, max_attempts) VALUES ('crashy5', 'http://127.0.0.1:9/', 5)`,
    );
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
         lease_expires_at)
       VALUES ('crashy5', 1, now(), now(), '{}', 'running', 3, 'dead', now() - interval '1 second')`,
    );
    await app.get(LeaseSweeper).sweep();
    await expect(db.query(`SELECT state FROM tasks WHERE cate = 'crashy5'`)).resolves.toEqual([
      { state: 'pending' },
    ]);
  });

  it('does not let a stale claim complete, fail or release a task updated since', async () => {
    await postTask(app, 'stale', { timestamp: unixSeconds(-1000), key: 1, params: '{"v":1}' });
    const [claim] = (await tasks.claimDue('old-worker', 100, 30_000, 0)).filter(
      (t: ClaimedTask) => t.cate === 'stale',
    );
    expect(claim).toBeDefined();
    await postTask(app, 'stale', { timestamp: unixSeconds(60_000), key: 1, params: '{"v":2}' });

    await expect(tasks.completeDelivered([claim])).resolves.toBe(0);
    const failure = { ...claim, final: true, delayMs: 0, error: 'HTTP 500' };
    await expect(tasks.recordFailures([failure])).resolves.toBe(0);
    await expect(tasks.release('old-worker', [claim])).resolves.toBe(0);
    await expect(rowsOf(db, 'stale')).resolves.toEqual([
      { state: 'pending', params: '{"v":2}', attempts: 0 },
    ]);
  });

  it("does not let a repeated release free another worker's later claim", async () => {
    await insertDue('released', 1);
    const [first] = await tasks.claimDue('stopping-worker', 10, 30_000, 0);
    await expect(tasks.release('stopping-worker', [first])).resolves.toBe(1);
    const [second] = await tasks.claimDue('other-worker', 10, 30_000, 0);
    expect(second).toMatchObject({ id: first.id, version: first.version, attempts: 1 });

    // The batcher writes a batch again when part of it failed: the release comes twice.
    await expect(tasks.release('stopping-worker', [first])).resolves.toBe(0);
    const rows = await db.query(`SELECT state, lease_owner FROM tasks WHERE cate = 'released'`);
    expect(rows).toEqual([{ state: 'running', lease_owner: 'other-worker' }]);
  });

  it('lets the current claim complete its task', async () => {
    await postTask(app, 'current', { timestamp: unixSeconds(-1000), key: 1 });
    const [claim] = (await tasks.claimDue('worker', 100, 30_000, 0)).filter(
      (t) => t.cate === 'current',
    );
    await expect(tasks.completeDelivered([claim])).resolves.toBe(1);
    await expect(rowsOf(db, 'current')).resolves.toEqual([]);
  });
});

describe('dispatch engine: restart and shutdown', () => {
  let db: TestDatabase;
  let receiver: CallbackReceiver;
  const apps: INestApplication[] = [];

  async function start(overrides: Partial<AppConfig> = {}): Promise<INestApplication> {
    const app = await startTestApp(db.url, { ...config, ...overrides });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await new CallbackReceiver().start();
  });

  afterAll(async () => {
    for (const app of apps) await app.close(); // a no-op for those closed already
    await receiver.close();
    await db.drop();
  });

  it('delivers tasks left pending by a stopped instance once a new one starts', async () => {
    const first = await start();
    await registerHandler(first, 'restart', receiver.url('/restart'));
    const dues = [unixSeconds(300), unixSeconds(600), unixSeconds(1500), unixSeconds(1800)];
    for (const [i, timestamp] of dues.entries()) {
      await postTask(first, 'restart', { timestamp, key: i + 1 });
    }
    await first.close();
    await sleep(700); // downtime: the first two become overdue

    const second = await start();
    const calls = await receiver.waitForCalls(4, 4000);
    expect(calls.map((c) => bodyField(c, 'key')).sort()).toEqual([1, 2, 3, 4]);
    for (const call of calls) expect(latenessMs(call)).toBeGreaterThanOrEqual(0);
    await waitFor('the rows to be deleted', async () => (await rowsOf(db, 'restart')).length === 0);
    await second.close();
  });

  it('lets an in-flight delivery finish on close and leaves no row running', async () => {
    receiver.calls.length = 0;
    receiver.reply = () => ({ status: 200, delayMs: 600 });
    const app = await start();
    await registerHandler(app, 'graceful', receiver.url('/graceful'));
    await postTask(app, 'graceful', { timestamp: unixSeconds(), key: 1 });
    await receiver.waitForCalls(1, 3000);

    const closing = Date.now();
    await app.close();
    expect(Date.now() - closing).toBeGreaterThanOrEqual(300);
    await expect(rowsOf(db, 'graceful')).resolves.toEqual([]);
  });

  it('releases a delivery cut off at the shutdown timeout back to pending', async () => {
    receiver.calls.length = 0;
    receiver.reply = () => 'hang';
    const app = await start({ shutdownTimeoutMs: 200, callbackTimeoutMs: 5000 });
    await registerHandler(app, 'cutoff', receiver.url('/cutoff'));
    await postTask(app, 'cutoff', { timestamp: unixSeconds(), key: 1 });
    await receiver.waitForCalls(1, 3000);

    const closing = Date.now();
    await app.close();
    expect(Date.now() - closing).toBeLessThan(2000);
    await expect(rowsOf(db, 'cutoff')).resolves.toEqual([
      { state: 'pending', params: 'null', attempts: 0 },
    ]);
  });
});
