import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { useTestApp } from './support/fixtures';
import { header, postTask, unixSeconds, waitFor } from './support/tasks-api';

const config: Partial<AppConfig> = {
  // The receivers listen on loopback, which the SSRF guard refuses by default.
  callbackAllowCidrs: ['127.0.0.0/8'],
  callbackTimeoutMs: 3000,
  retryBaseDelayMs: 400,
  retryMaxDelayMs: 500,
  maxAttempts: 3,
  pollIntervalMs: 500,
  sweepIntervalMs: 200,
  leaseMarginMs: 300,
};

/**
 * A handler that answers every call after `delayMs` and records, per path, how many calls were
 * open at once. A call counts as open until its answer is written, so the figure is never less
 * than what the dispatcher really had in flight.
 */
class SlowHandler {
  readonly maxOpen = new Map<string, number>();
  readonly keys = new Map<string, string[]>();
  private readonly open = new Map<string, number>();
  private readonly server: Server;

  constructor(private readonly delayMs: number) {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { key } = JSON.parse(Buffer.concat(chunks).toString()) as { key: number };
        this.keys.set(path, [...(this.keys.get(path) ?? []), String(key)]);
        const open = (this.open.get(path) ?? 0) + 1;
        this.open.set(path, open);
        this.maxOpen.set(path, Math.max(open, this.maxOpen.get(path) ?? 0));
        setTimeout(() => {
          this.open.set(path, (this.open.get(path) ?? 1) - 1);
          res.writeHead(200).end('OK');
        }, this.delayMs);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('per-category settings in delivery', () => {
  const fixture = useTestApp(config);
  const receiver = () => fixture.receiver();

  const http = () => request(fixture.app.getHttpServer());

  async function register(cate: string, body: object): Promise<void> {
    const res = await http().post(`/handler/${cate}`).send(body);
    expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
  }

  async function attemptsOf(cate: string, key = 1) {
    return fixture.db.query<{
      attempt: number;
      outcome: string;
      error: string | null;
      delivery_id: string;
    }>(
      `SELECT attempt, outcome, error, delivery_id::text AS delivery_id FROM task_attempts
       WHERE cate = $1 AND key = $2 ORDER BY id`,
      [cate, key],
    );
  }

  async function waitForState(cate: string, state: string, key = 1) {
    return waitFor(
      `${cate}/${key} to be ${state}`,
      async () => {
        const res = await http().get(`/task/${cate}/${key}`);
        const view = res.body.result as { state: string; attempts: number; lastError: string };
        return res.status === 200 && view.state === state ? view : undefined;
      },
      8000,
    );
  }

  it('fails a task after the category maxAttempts, fewer or more than the default', async () => {
    const failing = await receiver();
    failing.reply = () => ({ status: 500, body: 'down' });
    await register('max1', { handler: failing.url('/max1'), maxAttempts: 1 });
    await register('max5', { handler: failing.url('/max5'), maxAttempts: 5 });
    await postTask(fixture.app, 'max1', { timestamp: unixSeconds(), key: 1 });
    await postTask(fixture.app, 'max5', { timestamp: unixSeconds(), key: 1 });

    expect(await waitForState('max1', 'failed')).toMatchObject({ attempts: 1 });
    expect(await waitForState('max5', 'failed')).toMatchObject({ attempts: 5 });
    expect(failing.callsTo('/max1')).toHaveLength(1);
    expect(failing.callsTo('/max5')).toHaveLength(5);
    expect((await attemptsOf('max5')).map((a) => a.attempt)).toStrictEqual([1, 2, 3, 4, 5]);
  });

  it('times an attempt out after the category timeoutMs, not the service default', async () => {
    const slow = await receiver();
    slow.reply = () => ({ status: 200, body: 'OK', delayMs: 700 });
    await register('short', { handler: slow.url('/short'), timeoutMs: 200, maxAttempts: 1 });
    await register('long', { handler: slow.url('/long') });
    await postTask(fixture.app, 'short', { timestamp: unixSeconds(), key: 1 });
    await postTask(fixture.app, 'long', { timestamp: unixSeconds(), key: 1 });

    await waitForState('short', 'failed');
    expect(await attemptsOf('short')).toMatchObject([
      { attempt: 1, outcome: 'timeout', error: 'timeout: no response within 200 ms' },
    ]);
    await waitFor('long/1 to be delivered', async () => {
      const rows = await attemptsOf('long');
      return rows.length === 1 ? rows : undefined;
    });
    expect(await attemptsOf('long')).toMatchObject([{ attempt: 1, outcome: 'success' }]);
  });

  it('holds a category to its concurrency on this replica while another runs unhindered', async () => {
    const handler = await new SlowHandler(250).start();
    fixture.onTeardown(() => handler.close());
    await register('capped', { handler: handler.url('/capped'), concurrency: 2 });
    await register('free', { handler: handler.url('/free') });
    const tasks = Array.from({ length: 12 }, (_, i) => ({ timestamp: unixSeconds(), key: i + 1 }));
    for (const cate of ['capped', 'free']) {
      const res = await http().post(`/tasks/${cate}`).send({ tasks });
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 12 } });
    }

    await waitFor('24 callbacks', () => {
      const count = [...handler.keys.values()].reduce((sum, keys) => sum + keys.length, 0);
      return count >= 24 ? count : undefined;
    });
    expect(handler.maxOpen.get('/capped')).toBe(2);
    expect(handler.maxOpen.get('/free')).toBeGreaterThanOrEqual(6);
    const sorted = (path: string) => [...(handler.keys.get(path) ?? [])].sort((a, b) => +a - +b);
    const all = tasks.map((task) => String(task.key));
    expect(sorted('/capped')).toStrictEqual(all);
    expect(sorted('/free')).toStrictEqual(all);
    // Tasks claimed beyond the cap went back without counting an attempt.
    await waitFor('the capped tasks to leave the table', async () => {
      const [{ n }] = await fixture.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE cate IN ('capped', 'free')`,
      );
      return n === 0;
    });
    const attempts = await fixture.db.query<{ attempt: number }>(
      `SELECT attempt FROM task_attempts WHERE cate = 'capped'`,
    );
    expect(attempts).toHaveLength(12);
    expect(attempts.every((a) => a.attempt === 1)).toBe(true);
  });

  it('keeps the tasks of a deleted category: they fail with no_handler until it is registered again', async () => {
    const handler = await receiver();
    await register('orphan', { handler: handler.url('/orphan') });
    await postTask(fixture.app, 'orphan', { timestamp: unixSeconds(300), key: 1 });
    const removed = await http().delete('/handler/orphan');
    expect(removed.body.result).toStrictEqual({ deleted: true });

    const [first] = await waitFor('a no_handler attempt', async () => {
      const rows = await attemptsOf('orphan');
      return rows.length > 0 ? rows : undefined;
    });
    expect(first).toMatchObject({ attempt: 1, outcome: 'no_handler' });
    const view = await waitForState('orphan', 'pending');
    expect(view.lastError).toMatch(/^no handler/);
    await register('orphan', { handler: handler.url('/orphan') });

    const [call] = await handler.waitForCalls(1, 5000);
    expect(header(call, 'x-delivery-id')).toBe(first.delivery_id);
    const last = await waitFor('the successful attempt to be recorded', async () => {
      const rows = await attemptsOf('orphan');
      return rows.at(-1)?.outcome === 'success' ? rows.at(-1) : undefined;
    });
    expect(last).toMatchObject({ delivery_id: first.delivery_id });
  });

  it('delivers a re-queued failed task again with the same delivery id, history kept', async () => {
    const handler = await receiver();
    handler.reply = (_call, index) => (index === 0 ? { status: 503 } : { status: 200 });
    await register('again', { handler: handler.url('/again'), maxAttempts: 1 });
    await postTask(fixture.app, 'again', { timestamp: unixSeconds(), key: 1 });
    await waitForState('again', 'failed');

    const retry = await http().post('/task/again/1/retry');
    expect(retry.body).toStrictEqual({ code: 200, msg: 'OK' });
    const [failed, delivered] = await handler.waitForCalls(2, 5000);
    expect(header(delivered, 'x-delivery-id')).toBe(header(failed, 'x-delivery-id'));
    expect(header(delivered, 'x-delivery-attempt')).toBe('1');
    await waitFor('the task to be gone', async () => {
      const res = await http().get('/task/again/1');
      return res.status === 404;
    });

    const history = await http().get('/task/again/1/attempts');
    expect(history.body.result.items).toMatchObject([
      { attempt: 1, outcome: 'success', statusCode: 200 },
      { attempt: 1, outcome: 'http_5xx', statusCode: 503, error: 'HTTP 503' },
    ]);
  });
});
