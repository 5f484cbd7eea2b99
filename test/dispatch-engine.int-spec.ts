import { INestApplication } from '@nestjs/common';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { DispatchWorker } from '../src/modules/dispatch/dispatch.worker';
import { QueueRepository } from '../src/modules/dispatch/queue.repository';
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
  // The receivers listen on loopback, which the SSRF guard refuses by default.
  callbackAllowCidrs: ['127.0.0.0/8'],
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
 * Waits until a completion flush carried task `id` as `part` (delivered or failures) and returns
 * how many rows that part changed.
 */
async function writtenFor(
  spy: jest.SpiedFunction<QueueRepository['recordOutcomes']>,
  part: 'delivered' | 'failures',
  id: string,
): Promise<number> {
  const index = await waitFor(`the outcome of task ${id} to be written`, () => {
    const found = spy.mock.calls.findIndex(([batch]) => batch[part].some((c) => c.id === id));
    return found >= 0 ? found : undefined;
  });
  const counts = await (spy.mock.results[index].value as ReturnType<
    QueueRepository['recordOutcomes']
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
    const outcomes = jest.spyOn(app.get(QueueRepository), 'recordOutcomes');
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
    const outcomes = jest.spyOn(app.get(QueueRepository), 'recordOutcomes');
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

  it('records a 2xx whose body was still arriving at the cut-off as delivered, not released', async () => {
    // Status line and headers at once, then a body that never ends.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('accepted, still writing…');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow-body`;
    try {
      const app = await start({ shutdownTimeoutMs: 400, callbackTimeoutMs: 10_000 });
      await registerHandler(app, 'slow-body', url);
      await postTask(app, 'slow-body', { timestamp: unixSeconds(), key: 1 });
      await waitFor('the delivery to start', async () => {
        const rows = await db.query(
          `SELECT 1 FROM tasks WHERE cate = 'slow-body' AND state = 'running'`,
        );
        return rows.length === 1;
      });
      await sleep(100); // the response headers have arrived by now
      await app.close();
      await expect(rowsOf(db, 'slow-body')).resolves.toEqual([]);
      await expect(
        db.query(`SELECT outcome, status_code FROM task_attempts WHERE cate = 'slow-body'`),
      ).resolves.toEqual([{ outcome: 'success', status_code: 200 }]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('stops within one shutdown budget even when the outcome write cannot finish', async () => {
    receiver.calls.length = 0;
    receiver.reply = () => 'hang';
    const budgetMs = 1000;
    const app = await start({ shutdownTimeoutMs: budgetMs, callbackTimeoutMs: 10_000 });
    await registerHandler(app, 'budget', receiver.url('/budget'));
    await postTask(app, 'budget', { timestamp: unixSeconds(), key: 1 });
    // This task's call, not another: a task an earlier test left pending is delivered too.
    await waitFor('the delivery to /budget', () => receiver.callsTo('/budget').length === 1);
    // Another session holds the task's row: the release written at the cut-off waits for it.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      const locked = await locker.query(
        `SELECT 1 FROM tasks WHERE cate = 'budget' AND state = 'running' FOR UPDATE`,
      );
      expect(locked.rowCount).toBe(1);
      const stopping = performance.now();
      await app.get(DispatchWorker).stop();
      const stopMs = performance.now() - stopping;
      // One budget for deliveries and outcome writes together (not one each: 2 s here).
      expect(stopMs).toBeGreaterThanOrEqual(budgetMs - 50);
      expect(stopMs).toBeLessThan(budgetMs + 400);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await app.close();
  });
});
