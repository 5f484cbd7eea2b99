import { INestApplication } from '@nestjs/common';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { LeaseSweeper } from '../src/modules/dispatch/lease.sweeper';
import { startTestApp } from './support/app';
import { useTestApp } from './support/fixtures';
import { metricValue, MetricSample, parseMetrics } from './support/prometheus';
import { CallbackReceiver } from './support/receiver';
import { freePort } from './support/service-process';
import { postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const config: Partial<AppConfig> = {
  // The receivers listen on loopback, which the SSRF guard refuses by default.
  callbackAllowCidrs: ['127.0.0.0/8'],
  callbackTimeoutMs: 1000,
  maxAttempts: 1, // every failed attempt is final: one attempt per task, easy to count
  pollIntervalMs: 500,
};

async function scrape(app: INestApplication): Promise<MetricSample[]> {
  const res = await request(app.getHttpServer()).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
  return parseMetrics(res.text);
}

async function taskState(app: INestApplication, cate: string, key: string): Promise<unknown> {
  const res = await request(app.getHttpServer()).get(`/task/${cate}/${key}`);
  return res.status === 200 ? (res.body as { result: { state: string } }).result.state : res.status;
}

describe('health, metrics and request ids', () => {
  const fixture = useTestApp(config);

  async function receiver(reply: CallbackReceiver['reply']): Promise<CallbackReceiver> {
    const started = await fixture.receiver();
    started.reply = reply;
    return started;
  }

  describe('health', () => {
    it('answers GET /health with plain OK, as the original', async () => {
      const res = await request(fixture.app.getHttpServer()).get('/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('OK');
    });

    it('answers /health/live with 200 and checks nothing', async () => {
      const res = await request(fixture.app.getHttpServer()).get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({
        code: 200,
        msg: 'OK',
        result: { status: 'ok', info: {}, error: {}, details: {} },
      });
    });

    it('answers /health/ready with 200 when database, migrations and dispatcher are up', async () => {
      const res = await request(fixture.app.getHttpServer()).get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        code: 200,
        msg: 'OK',
        result: {
          status: 'ok',
          info: {
            database: { status: 'up' },
            migrations: { status: 'up' },
            dispatcher: { status: 'up' },
          },
          error: {},
        },
      });
    });
  });

  describe('request ids', () => {
    it("echoes the caller's X-Request-Id", async () => {
      const res = await request(fixture.app.getHttpServer())
        .get('/health/live')
        .set('X-Request-Id', 'edge-7f3a.1:2_3');
      expect(res.headers['x-request-id']).toBe('edge-7f3a.1:2_3');
    });

    it('generates a UUID when the request has none', async () => {
      const first = await request(fixture.app.getHttpServer()).get('/health/live');
      const second = await request(fixture.app.getHttpServer()).get('/health/live');
      expect(first.headers['x-request-id']).toMatch(UUID);
      expect(second.headers['x-request-id']).toMatch(UUID);
      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    });

    it.each([
      ['too long', 'a'.repeat(129)],
      ['with characters outside [A-Za-z0-9._:-]', 'a b;c'],
    ])('replaces an id that is %s with a UUID', async (_what, id) => {
      const res = await request(fixture.app.getHttpServer())
        .get('/health/live')
        .set('X-Request-Id', id);
      expect(res.headers['x-request-id']).toMatch(UUID);
    });

    it('sets the header on errors too: unknown routes and bodies that are not JSON', async () => {
      const unknown = await request(fixture.app.getHttpServer()).get('/no/such/route');
      expect(unknown.status).toBe(404);
      expect(unknown.headers['x-request-id']).toMatch(UUID);
      const badJson = await request(fixture.app.getHttpServer())
        .post('/task/c')
        .set('X-Request-Id', 'bad-json-1')
        .set('Content-Type', 'application/json')
        .send('{"key":');
      expect(badJson.status).toBe(400);
      expect(badJson.headers['x-request-id']).toBe('bad-json-1');
    });
  });

  describe('metrics', () => {
    it('serves the process metrics and every series of the service', async () => {
      // The HTTP histogram has a series once a request was timed; a scrape is timed after it.
      await request(fixture.app.getHttpServer()).get('/health').expect(200);
      const samples = await scrape(fixture.app);
      const names = new Set(samples.map((s) => s.name));
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'delay_tasks_tasks',
        'delay_tasks_oldest_due_age_seconds',
        'delay_tasks_dispatch_lag_seconds_bucket',
        'delay_tasks_attempts_total',
        'delay_tasks_attempt_duration_seconds_bucket',
        'delay_tasks_claim_duration_seconds_bucket',
        'delay_tasks_in_flight',
        'delay_tasks_leases_rescued_total',
        'delay_tasks_http_request_duration_seconds_bucket',
      ]) {
        expect(names).toContain(name);
      }
      const lagBuckets = samples
        .filter((s) => s.name === 'delay_tasks_dispatch_lag_seconds_bucket')
        .map((s) => s.labels.le);
      expect(lagBuckets[0]).toBe('0.001');
      expect(lagBuckets).toContain('60');
    });

    it('counts deliveries by outcome, their durations and lag, in flight and by state', async () => {
      // Other tests of this file deliver too: compare with the figures before this one's tasks.
      const before = await scrape(fixture.app);
      const ok = await receiver(() => ({ status: 200, body: 'OK' }));
      const broken = await receiver(() => ({ status: 500, body: 'broken' }));
      const slow = await receiver(() => 'hang');
      await registerHandler(fixture.app, 'm-ok', ok.url());
      await registerHandler(fixture.app, 'm-broken', broken.url());
      await registerHandler(fixture.app, 'm-slow', slow.url());
      await postTask(fixture.app, 'm-ok', { timestamp: unixSeconds(), key: 1 });
      await postTask(fixture.app, 'm-broken', { timestamp: unixSeconds(), key: 2 });
      await postTask(fixture.app, 'm-slow', { timestamp: unixSeconds(), key: 3 });

      await slow.waitForCalls(1, 5000);
      // The hanging delivery runs until its 1 s timeout.
      const during = await scrape(fixture.app);
      expect(metricValue(during, 'delay_tasks_in_flight')).toBeGreaterThanOrEqual(1);
      await waitFor('both failures to be recorded', async () => {
        const states = [
          await taskState(fixture.app, 'm-broken', '2'),
          await taskState(fixture.app, 'm-slow', '3'),
        ];
        return states.every((state) => state === 'failed');
      });
      await expect(taskState(fixture.app, 'm-ok', '1')).resolves.toBe(404);

      const samples = await scrape(fixture.app);
      const added = (name: string, labels: Record<string, string> = {}) =>
        metricValue(samples, name, labels)! - metricValue(before, name, labels)!;
      const attempts = (outcome: string) => added('delay_tasks_attempts_total', { outcome });
      expect(attempts('success')).toBe(1);
      expect(attempts('http_5xx')).toBe(1);
      expect(attempts('timeout')).toBe(1);
      for (const outcome of [
        'http_4xx',
        'http_other',
        'connection_error',
        'blocked',
        'no_handler',
        'error',
      ]) {
        expect(attempts(outcome)).toBe(0);
      }
      expect(added('delay_tasks_attempt_duration_seconds_count')).toBe(3);
      // The timed-out attempt took about its 1 s timeout; the two others far less.
      expect(added('delay_tasks_attempt_duration_seconds_bucket', { le: '0.5' })).toBe(2);
      expect(added('delay_tasks_dispatch_lag_seconds_count')).toBe(3);
      expect(added('delay_tasks_dispatch_lag_seconds_bucket', { le: '5' })).toBe(3);
      expect(added('delay_tasks_claim_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(metricValue(samples, 'delay_tasks_in_flight')).toBe(0);
      expect(added('delay_tasks_tasks', { state: 'failed' })).toBe(2);
      expect(added('delay_tasks_tasks', { state: 'pending' })).toBe(0);
      expect(added('delay_tasks_tasks', { state: 'running' })).toBe(0);
      expect(metricValue(samples, 'delay_tasks_oldest_due_age_seconds')).toBe(0);
    });

    it('counts leases that the sweeper rescued', async () => {
      const before = metricValue(await scrape(fixture.app), 'delay_tasks_leases_rescued_total')!;
      // A task whose delivering replica died: running, with a lease that expired, on the first
      // of its category's two attempts (the default here is one, which would fail it).
      await fixture.db.query(
        `INSERT INTO handlers (cate, url, max_attempts) VALUES ('m-rescue', 'http://127.0.0.1:9/', 2)`,
      );
      await fixture.db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
           lease_expires_at)
         VALUES ('m-rescue', 1, now() + interval '1 hour', now() + interval '1 hour', '{}',
           'running', 1, 'dead-replica', now() - interval '1 second')`,
      );
      await fixture.app.get(LeaseSweeper).sweep();
      await waitFor('the rescue to be counted', async () => {
        const after = metricValue(await scrape(fixture.app), 'delay_tasks_leases_rescued_total')!;
        return after === before + 1;
      });
      await expect(taskState(fixture.app, 'm-rescue', '1')).resolves.toBe('pending');
      // Its retry goes to a closed port and fails it for good: wait for that here, so that the
      // attempt is not counted in the figures of whichever test runs next.
      await waitFor(
        'the rescued task to fail',
        async () => (await taskState(fixture.app, 'm-rescue', '1')) === 'failed',
        10_000,
      );
    });

    it('times HTTP requests by method, route template and status, never by raw path', async () => {
      const server = fixture.app.getHttpServer();
      const requestCounts = async () => {
        const samples = (await scrape(fixture.app)).filter(
          (s) => s.name === 'delay_tasks_http_request_duration_seconds_count',
        );
        return (method: string, route: string, status: string) =>
          metricValue(samples, 'delay_tasks_http_request_duration_seconds_count', {
            method,
            route,
            status,
          }) ?? 0;
      };
      const before = await requestCounts();
      await postTask(fixture.app, 'm-http', { timestamp: unixSeconds(3_600_000), key: 1 });
      await request(server).get('/task/m-http/18446744073709551615').expect(404);
      await request(server).get('/task/m-http/18446744073709551614').expect(404);
      await request(server).get('/nothing/here/4242').expect(404);
      await request(server)
        .post('/task/m-http')
        .set('Content-Type', 'application/json')
        .send('{')
        .expect(400);
      const after = await requestCounts();
      const added = (method: string, route: string, status: string) =>
        after(method, route, status) - before(method, route, status);

      expect(added('GET', '/task/:cate/:key', '404')).toBe(2);
      expect(added('GET', 'unmatched', '404')).toBe(1);
      expect(added('POST', '/task/:cate', '400')).toBe(1);
      expect(added('GET', '/metrics', '200')).toBe(1); // the first scrape, seen by the second
      expect(added('POST', '/task/:cate', '200')).toBe(1);

      const samples = (await scrape(fixture.app)).filter((s) =>
        s.name.startsWith('delay_tasks_http_request_duration_seconds'),
      );
      for (const { labels } of samples) {
        expect(labels.route).toMatch(/^(unmatched|(\/[A-Za-z:]+)+)$/);
      }
      const text = JSON.stringify(samples);
      expect(text).not.toContain('1844674407370955161');
      expect(text).not.toContain('m-http');
      expect(text).not.toContain('4242');
    });
  });
});

describe('readiness while the database is stopped', () => {
  let dataDir: string;
  let port: number;
  let database: EmbeddedPostgresHandle;
  let app: INestApplication;

  /** A private PostgreSQL on a fixed port, so that a restart on the same directory keeps the URL. */
  async function startDatabase(): Promise<EmbeddedPostgresHandle> {
    database = await startEmbeddedPostgres({ dataDir, port });
    return database;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'delay-tasks-ready-'));
    chmodSync(dataDir, 0o755);
    port = await freePort();
    const { url } = await startDatabase();
    app = await startTestApp(url, { ...config, shutdownTimeoutMs: 1000 });
  });

  afterAll(async () => {
    await app?.close();
    await database?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function readiness(): Promise<request.Response> {
    return request(app.getHttpServer()).get('/health/ready');
  }

  it('answers 503 while PostgreSQL is down and 200 again once it is back', async () => {
    await expect(readiness()).resolves.toMatchObject({ status: 200 });

    await database.stop();
    const down = await waitFor(
      'readiness to fail',
      async () => {
        const res = await readiness();
        return res.status === 503 && res;
      },
      5000,
      100,
    );
    expect(down.body).toMatchObject({
      code: 503,
      msg: expect.stringMatching(/^not ready: database/),
      result: {
        status: 'error',
        error: { database: { status: 'down' } },
        info: { migrations: { status: 'up' }, dispatcher: { status: 'up' } },
      },
    });
    // Liveness does not depend on the database: an outage must not restart every replica.
    await expect(request(app.getHttpServer()).get('/health/live')).resolves.toMatchObject({
      status: 200,
    });
    await expect(request(app.getHttpServer()).get('/health')).resolves.toMatchObject({
      status: 200,
      text: 'OK',
    });

    await startDatabase();
    await waitFor(
      'readiness to recover',
      async () => (await readiness()).status === 200,
      10_000,
      100,
    );
  });
});

describe('readiness and metrics of an API-only replica', () => {
  const fixture = useTestApp({ ...config, dispatchEnabled: false });

  it('is ready without a dispatcher (DISPATCH_ENABLED=false)', async () => {
    const res = await request(fixture.app.getHttpServer()).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.result.info.dispatcher).toStrictEqual({ status: 'up', enabled: false });
  });

  it('reports the age of the oldest due task that nobody delivers', async () => {
    await postTask(fixture.app, 'idle', { timestamp: unixSeconds(-3000), key: 1 });
    await postTask(fixture.app, 'idle', { timestamp: unixSeconds(3_600_000), key: 2 });
    const samples = await scrape(fixture.app);
    expect(metricValue(samples, 'delay_tasks_tasks', { state: 'pending' })).toBe(2);
    const age = metricValue(samples, 'delay_tasks_oldest_due_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(2.9);
    expect(age).toBeLessThan(60);
    expect(metricValue(samples, 'delay_tasks_claim_duration_seconds_count')).toBe(0);
  });
});
