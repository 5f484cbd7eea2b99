import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { useTestApp } from './support/fixtures';
import { CallbackReceiver } from './support/receiver';
import {
  bodyField,
  header,
  postTask,
  registerHandler,
  unixSeconds,
  waitFor,
} from './support/tasks-api';

// jest.config.js sets testTimeout per project, where Jest ignores it; the default 5 s is too short.

/** The fields of GET /task/:cate/:key's result these tests read. */
interface TaskViewBody {
  state: string;
  attempts: number;
  params: unknown;
  handler: string | null;
  lastError: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const config: Partial<AppConfig> = {
  // The receivers listen on loopback, which the SSRF guard refuses by default.
  callbackAllowCidrs: ['127.0.0.0/8'],
  callbackTimeoutMs: 300,
  retryBaseDelayMs: 400,
  retryMaxDelayMs: 2000,
  maxAttempts: 3,
  pollIntervalMs: 500,
  sweepIntervalMs: 200,
  leaseMarginMs: 300,
};

describe('delivery', () => {
  const fixture = useTestApp(config);
  const receiver = () => fixture.receiver();

  async function getTask(cate: string, key: string): Promise<request.Response> {
    return request(fixture.app.getHttpServer()).get(`/task/${cate}/${key}`);
  }

  /** GET /task/:cate/:key's result, or undefined when the task is not found. */
  async function viewOf(cate: string, key: string): Promise<TaskViewBody | undefined> {
    const res = await getTask(cate, key);
    return res.status === 200 ? (res.body.result as TaskViewBody) : undefined;
  }

  /** Waits until GET shows the task with `state`, and returns its view. */
  async function waitForState(cate: string, key: string, state: string): Promise<TaskViewBody> {
    return waitFor(`task ${cate}/${key} to be ${state}`, async () => {
      const view = await viewOf(cate, key);
      return view?.state === state ? view : undefined;
    });
  }

  async function rowCount(cate: string): Promise<number> {
    const rows = await fixture.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tasks WHERE cate = $1',
      [cate],
    );
    return rows[0].n;
  }

  it('posts the body exactly as the original, uint64 key and big integers intact', async () => {
    const handler = await receiver();
    await registerHandler(fixture.app, 'c', handler.url());
    const params =
      '{"n":123456789012345678901234567890,"list":[1,2.5,"x",null],"o":{"b":true,"a":{}}}';
    await postTask(fixture.app, 'c', {
      timestamp: unixSeconds(),
      key: '18446744073709551615',
      params,
    });

    const [call] = await handler.waitForCalls(1, 5000);
    expect(call.body).toBe(
      `{"cate":"c","inAdvance":false,"key":18446744073709551615,"params":${params}}`,
    );
  });

  it('sends JSON content type, a uuid delivery id, the attempt number and the due time', async () => {
    const handler = await receiver();
    await registerHandler(fixture.app, 'headers', handler.url());
    const timestamp = unixSeconds(200);
    await postTask(fixture.app, 'headers', { timestamp, key: 7 });

    const [call] = await handler.waitForCalls(1, 5000);
    expect(call.headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(header(call, 'x-delivery-id')).toMatch(UUID);
    expect(header(call, 'x-delivery-attempt')).toBe('1');
    expect(Number(header(call, 'x-task-due'))).toBe(timestamp);
  });

  it('removes the task row once the handler answers 2xx', async () => {
    const handler = await receiver();
    handler.reply = () => ({ status: 204 });
    await registerHandler(fixture.app, 'ok2xx', handler.url());
    await postTask(fixture.app, 'ok2xx', { timestamp: unixSeconds(), key: 1, params: '{"a":1}' });

    await handler.waitForCalls(1, 5000);
    await waitFor('the delivered row to be deleted', async () => (await rowCount('ok2xx')) === 0);
    await expect(getTask('ok2xx', '1')).resolves.toMatchObject({ status: 404 });
    expect(handler.calls).toHaveLength(1);
  });

  it('retries a non-2xx with backoff, one delivery id and a rising attempt number, then fails visibly', async () => {
    const handler = await receiver();
    handler.reply = () => ({ status: 500, body: 'handler broke' });
    await registerHandler(fixture.app, 'flaky', handler.url());
    await postTask(fixture.app, 'flaky', { timestamp: unixSeconds(), key: 11, params: '[1]' });

    const calls = await handler.waitForCalls(3, 6000);
    expect(calls.map((c) => header(c, 'x-delivery-attempt'))).toEqual(['1', '2', '3']);
    expect(new Set(calls.map((c) => header(c, 'x-delivery-id'))).size).toBe(1);
    const base = config.retryBaseDelayMs!;
    expect(calls[1].arrivedAtMs - calls[0].arrivedAtMs).toBeGreaterThanOrEqual(base / 2);
    expect(calls[2].arrivedAtMs - calls[1].arrivedAtMs).toBeGreaterThanOrEqual(base);
    expect(calls.every((c) => c.body === calls[0].body)).toBe(true);

    const failed = await waitForState('flaky', '11', 'failed');
    expect(failed).toMatchObject({ attempts: 3, params: [1] });
    expect(failed.lastError).toMatch(/HTTP 500/);
    expect(failed.lastError).toContain('handler broke');
    const list = await request(fixture.app.getHttpServer()).get('/tasks?state=failed&cate=flaky');
    expect(list.status).toBe(200);
    expect(list.body.result.items).toEqual([
      expect.objectContaining({ cate: 'flaky', key: 11, state: 'failed', attempts: 3 }),
    ]);
    expect(handler.calls).toHaveLength(3);
  });

  it('counts a handler that does not answer within the timeout as a failed attempt', async () => {
    const handler = await receiver();
    handler.reply = () => 'hang';
    await registerHandler(fixture.app, 'hang', handler.url());
    await postTask(fixture.app, 'hang', { timestamp: unixSeconds(), key: 5 });

    const calls = await handler.waitForCalls(2, 6000);
    const gap = calls[1].arrivedAtMs - calls[0].arrivedAtMs;
    // The timeout (300 ms) plus the first backoff (200–400 ms), not the lease or a poll.
    expect(gap).toBeGreaterThanOrEqual(config.callbackTimeoutMs! + config.retryBaseDelayMs! / 2);
    expect(gap).toBeLessThan(config.callbackTimeoutMs! + config.retryBaseDelayMs! + 700);
    const failed = await waitForState('hang', '5', 'failed');
    expect(failed.lastError).toMatch(/timeout/);
    expect(failed.lastError).toContain('300 ms');
  });

  it('counts a refused connection as a failed attempt', async () => {
    const gone = await new CallbackReceiver().start();
    const url = gone.url();
    await gone.close();
    await registerHandler(fixture.app, 'refused', url);
    await postTask(fixture.app, 'refused', { timestamp: unixSeconds(), key: 8 });

    const failed = await waitForState('refused', '8', 'failed');
    expect(failed.lastError).toMatch(/connection error.*ECONNREFUSED/);
    expect(failed.attempts).toBe(3);
  });

  it('reads no more than a small part of a large error response', async () => {
    const handler = await receiver();
    handler.reply = () => ({ status: 500, body: `${'x'.repeat(2_000_000)}END` });
    await registerHandler(fixture.app, 'chatty', handler.url());
    await postTask(fixture.app, 'chatty', { timestamp: unixSeconds(), key: 6 });

    const failed = await waitForState('chatty', '6', 'failed');
    expect(failed.lastError).toMatch(/^HTTP 500: x+/);
    expect(failed.lastError!.length).toBeLessThanOrEqual(500);
    expect(failed.lastError).not.toContain('END');
  });

  it('waits as long as Retry-After asks on a 429', async () => {
    const handler = await receiver();
    handler.reply = (_call, index) =>
      index === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 };
    await registerHandler(fixture.app, 'throttled', handler.url());
    await postTask(fixture.app, 'throttled', { timestamp: unixSeconds(), key: 3 });

    const calls = await handler.waitForCalls(2, 5000);
    const gap = calls[1].arrivedAtMs - calls[0].arrivedAtMs;
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(2000);
    expect(header(calls[1], 'x-delivery-attempt')).toBe('2');
    await waitFor(
      'the delivered row to be deleted',
      async () => (await rowCount('throttled')) === 0,
    );
  });

  it('does not follow a redirect: the target sees nothing and the attempt fails', async () => {
    const target = await receiver();
    const handler = await receiver();
    handler.reply = () => ({ status: 302, headers: { Location: target.url('/elsewhere') } });
    await registerHandler(fixture.app, 'redirect', handler.url());
    await postTask(fixture.app, 'redirect', { timestamp: unixSeconds(), key: 9 });

    const failed = await waitForState('redirect', '9', 'failed');
    expect(failed.lastError).toMatch(/HTTP 302/);
    expect(handler.calls).toHaveLength(3);
    expect(target.calls).toHaveLength(0);
  });

  it('fails a task whose category has no handler with a clear error, not silently', async () => {
    await postTask(fixture.app, 'orphan', { timestamp: unixSeconds(), key: 1 });

    const failed = await waitForState('orphan', '1', 'failed');
    expect(failed.lastError).toMatch(/no handler/);
    expect(failed.handler).toBeNull();
    const list = await request(fixture.app.getHttpServer()).get('/tasks?state=failed&cate=orphan');
    expect(list.body.result.items).toHaveLength(1);
  });

  it('resolves the handler at delivery time: one registered before the retry gets the task', async () => {
    await postTask(fixture.app, 'late', {
      timestamp: unixSeconds(),
      key: 2,
      params: '{"late":true}',
    });
    const firstFailure = await waitFor(
      'the first attempt to fail for want of a handler',
      async () => {
        const view = await viewOf('late', '2');
        return /no handler/.test(view?.lastError ?? '') ? view : undefined;
      },
    );
    expect(firstFailure.state).not.toBe('failed');

    const handler = await receiver();
    await registerHandler(fixture.app, 'late', handler.url());
    const [call] = await handler.waitForCalls(1, 5000);
    expect(call.body).toBe('{"cate":"late","inAdvance":false,"key":2,"params":{"late":true}}');
    expect(Number(header(call, 'x-delivery-attempt'))).toBeGreaterThanOrEqual(2);
    await waitFor('the delivered row to be deleted', async () => (await rowCount('late')) === 0);
  });

  it('sends pending tasks to the handler registered last for their category', async () => {
    const before = await receiver();
    const after = await receiver();
    await registerHandler(fixture.app, 'moved', before.url());
    await postTask(fixture.app, 'moved', { timestamp: unixSeconds(600), key: 1 });
    await postTask(fixture.app, 'moved', { timestamp: unixSeconds(700), key: 2 });
    await registerHandler(fixture.app, 'moved', after.url());

    const calls = await after.waitForCalls(2, 5000);
    expect(calls.map((c) => bodyField(c, 'key')).sort()).toEqual([1, 2]);
    expect(before.calls).toHaveLength(0);
  });

  it("prefers the task's own handler to its category's", async () => {
    const category = await receiver();
    const own = await receiver();
    await registerHandler(fixture.app, 'own', category.url());
    await postTask(fixture.app, 'own', {
      timestamp: unixSeconds(),
      key: 4,
      handler: own.url('/mine'),
    });

    const [call] = await own.waitForCalls(1, 5000);
    expect(call.path).toBe('/mine');
    expect(category.calls).toHaveLength(0);
  });
});
