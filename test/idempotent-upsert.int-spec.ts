import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { startTestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { CallbackReceiver } from './support/receiver';
import { header, postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

/**
 * A re-POST that changes nothing changes nothing: a client that retries its POST after its own
 * timeout must not cause a second delivery under a new delivery id.
 */
describe('re-posting an unchanged task', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await new CallbackReceiver().start();
    app = await startTestApp(db.url, {
      pollIntervalMs: 200,
      retryBaseDelayMs: 100,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    await app.close();
    await receiver.close();
    await db.drop();
  });

  function category(name: string): string {
    return `${name}-${randomBytes(3).toString('hex')}`;
  }

  async function stored(cate: string) {
    const [row] = await db.query<{
      version: number;
      delivery_id: string;
      state: string;
      updated_at: Date;
      xmin: string;
    }>(
      `SELECT version, delivery_id::text, state, updated_at, xmin::text FROM tasks WHERE cate = $1`,
      [cate],
    );
    return row;
  }

  it('writes nothing when the pending task is posted again as stored', async () => {
    const cate = category('pending');
    const task = {
      timestamp: unixSeconds(60_000),
      key: '18446744073709551615',
      params: '{"a":[1,2]}',
    };
    await postTask(app, cate, task);
    const before = await stored(cate);
    await postTask(app, cate, task);
    // Same row version: not even a no-op update was written.
    await expect(stored(cate)).resolves.toEqual(before);
  });

  it('sends one delivery, under one id, when a client re-posts during the delivery', async () => {
    const cate = category('in-flight');
    await registerHandler(app, cate, receiver.url(`/${cate}`));
    receiver.reply = (call) =>
      call.path.startsWith(`/${cate}`) ? { status: 200, delayMs: 600 } : { status: 200 };
    const task = { timestamp: unixSeconds(200), key: 7, params: '{"n":1}' };
    await postTask(app, cate, task);
    await waitFor('the delivery to start', async () => (await stored(cate))?.state === 'running');
    const running = await stored(cate);
    await postTask(app, cate, task); // the client's retry after its own timeout
    await postTask(app, cate, task);
    await waitFor('the task to be delivered', async () => (await stored(cate)) === undefined);
    await sleep(500);
    const calls = receiver.calls.filter((c) => c.path.startsWith(`/${cate}`));
    expect(calls).toHaveLength(1);
    expect(header(calls[0], 'x-delivery-id')).toBe(running.delivery_id);
  });

  it('treats changed params, due time or handler as a new occurrence, as before', async () => {
    const cate = category('changed');
    const task = { timestamp: unixSeconds(60_000), key: 1, params: '{"v":1}' };
    await postTask(app, cate, task);
    const first = await stored(cate);
    await postTask(app, cate, { ...task, params: '{"v":2}' });
    const second = await stored(cate);
    expect(second.version).toBe(first.version + 1);
    expect(second.delivery_id).not.toBe(first.delivery_id);
    await postTask(app, cate, { ...task, params: '{"v":2}', timestamp: task.timestamp + 1 });
    await expect(stored(cate)).resolves.toMatchObject({ version: first.version + 2 });
    await postTask(app, cate, {
      ...task,
      params: '{"v":2}',
      timestamp: task.timestamp + 1,
      handler: 'http://127.0.0.1:9/other',
    });
    await expect(stored(cate)).resolves.toMatchObject({ version: first.version + 3 });
  });

  it('revives a failed task posted again unchanged', async () => {
    const cate = category('failed');
    const task = { timestamp: unixSeconds(60_000), key: 1 };
    await postTask(app, cate, task);
    await db.query(`UPDATE tasks SET state = 'failed', last_error = 'x' WHERE cate = $1`, [cate]);
    await postTask(app, cate, task);
    await expect(stored(cate)).resolves.toMatchObject({ state: 'pending' });
  });

  it('writes nothing for batch items identical to their stored tasks, and counts them', async () => {
    const cate = category('batch');
    const timestamp = unixSeconds(60_000);
    const body = (v: number) =>
      `{"tasks":[{"timestamp":${timestamp},"key":1,"params":{"v":1}},` +
      `{"timestamp":${timestamp},"key":2,"params":{"v":${v}}}]}`;
    const post = (text: string) =>
      request(app.getHttpServer())
        .post(`/tasks/${cate}`)
        .set('Content-Type', 'application/json')
        .send(text);
    await expect(post(body(1))).resolves.toMatchObject({ status: 200 });
    const before = await db.query<{ key: string; version: number; xmin: string }>(
      `SELECT key::text, version, xmin::text FROM tasks WHERE cate = $1 ORDER BY key`,
      [cate],
    );
    const again = await post(body(2));
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.body)).toContain('"count":2');
    const after = await db.query<{ key: string; version: number; xmin: string }>(
      `SELECT key::text, version, xmin::text FROM tasks WHERE cate = $1 ORDER BY key`,
      [cate],
    );
    expect(after[0]).toEqual(before[0]);
    expect(after[1].version).toBe(before[1].version + 1);
  });
});
