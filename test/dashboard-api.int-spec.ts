import { INestApplication } from '@nestjs/common';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parseJson } from '../src/common/lossless-json';
import { apiKeyIdOfHash } from '../src/common/api-key.middleware';
import { hashApiKey } from '../src/config/load-config';
import { FORECAST_CAP } from '../src/modules/dashboard/dashboard.service';
import { SNAPSHOT_LOCK_ID } from '../src/modules/dashboard/dashboard.sql';
import { DispatchStatsRecorder } from '../src/modules/dashboard/dispatch-stats.recorder';
import { bucketOf, emptyHistogram } from '../src/modules/dashboard/lateness-histogram';
import { OverviewService } from '../src/modules/dashboard/overview.service';
import { TestDatabase } from './support/database';
import { useTestApp, useTestDatabase } from './support/fixtures';
import { registerHandler, waitFor } from './support/tasks-api';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers, walked loosely
type Json = Record<string, any>;

async function getResult(app: INestApplication, path: string, key?: string): Promise<Json> {
  const req = request(app.getHttpServer()).get(path);
  if (key) void req.set('Authorization', `Bearer ${key}`);
  const res = await req;
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return (parseJson(res.text) as Json).result as Json;
}

/** `count` tasks of `cate` in `state`, run_at `runAt` (an SQL expression), keys from `firstKey`. */
async function insertTasks(
  db: TestDatabase,
  cate: string,
  count: number,
  state: 'pending' | 'running' | 'failed',
  runAt: string,
  firstKey = 1,
): Promise<void> {
  await db.query(
    `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
       lease_expires_at)
     SELECT $1::text, $4::int + g, least(${runAt}, now()), ${runAt}, 'null', $3::text,
       CASE WHEN $3::text = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN $3::text = 'running' THEN 'w' END,
       CASE WHEN $3::text = 'running' THEN now() + interval '1 hour' END
     FROM generate_series(0, $2::int - 1) g`,
    [cate, count, state, firstKey],
  );
}

describe('GET /dashboard/overview', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  beforeAll(async () => {
    const { db } = fixture;
    // alpha: registered and paused; 4 due (2 parked), 3 later, 2 running, 1 failed.
    await db.query(`INSERT INTO handlers (cate, url, paused) VALUES ('alpha', 'http://a', true)`);
    await insertTasks(db, 'alpha', 2, 'pending', `now() - interval '1 minute'`, 1);
    await insertTasks(db, 'alpha', 2, 'pending', `'infinity'::timestamptz`, 10);
    await insertTasks(db, 'alpha', 3, 'pending', `now() + interval '1 hour'`, 20);
    await insertTasks(db, 'alpha', 2, 'running', `now() - interval '1 second'`, 30);
    await insertTasks(db, 'alpha', 1, 'failed', `now() - interval '1 day'`, 40);
    // beta: no handler row; 5 pending later.
    await insertTasks(db, 'beta', 5, 'pending', `now() + interval '1 day'`);
    // Gamma: registered, no task, rate-limited, circuit open.
    await db.query(
      `INSERT INTO handlers (cate, url, rate_per_second, rate_burst, circuit_state)
       VALUES ('Gamma', 'http://g', 2.5, 5, 'open')`,
    );
  });

  it('counts pending, due (parked included), running and failed tasks per category and in total', async () => {
    const overview = await getResult(fixture.app, '/dashboard/overview');
    expect(overview.categories).toStrictEqual([
      {
        cate: 'Gamma',
        registered: true,
        pending: 0,
        dueNow: 0,
        running: 0,
        failed: 0,
        paused: false,
        circuit: 'open',
        rateLimit: { perSecond: 2.5, burst: 5 },
      },
      {
        cate: 'alpha',
        registered: true,
        pending: 7,
        dueNow: 4,
        running: 2,
        failed: 1,
        paused: true,
        circuit: 'closed',
        rateLimit: null,
      },
      {
        cate: 'beta',
        registered: false,
        pending: 5,
        dueNow: 0,
        running: 0,
        failed: 0,
        paused: false,
        circuit: 'closed',
        rateLimit: null,
      },
    ]);
    expect(overview.totals).toStrictEqual({
      pending: 12,
      dueNow: 4,
      running: 2,
      failed: 1,
      categories: 3,
      paused: 1,
      openCircuits: 1,
      rateLimited: 1,
    });
    // The oldest due task that is not parked is a minute old.
    expect(overview.oldestDueAgeSeconds).toBeGreaterThanOrEqual(59);
    expect(overview.oldestDueAgeSeconds).toBeLessThan(120);
    const [{ now }] = await fixture.db.query<{ now: Date }>('SELECT now()');
    const asOf = Date.parse(overview.asOf as string);
    expect(asOf).toBeLessThanOrEqual(now.getTime());
    expect(asOf).toBeGreaterThan(now.getTime() - 10_000);
  });

  it('serves the stored counts with their time while they are fresh, and recounts when asked', async () => {
    const first = await getResult(fixture.app, '/dashboard/overview');
    await insertTasks(fixture.db, 'beta', 3, 'failed', `now() - interval '1 hour'`, 100);
    const cached = await getResult(fixture.app, '/dashboard/overview');
    expect(cached.asOf).toBe(first.asOf);
    expect(cached.totals.failed).toBe(first.totals.failed);

    await fixture.app.get(OverviewService).refresh(0);
    const recounted = await getResult(fixture.app, '/dashboard/overview');
    expect(Date.parse(recounted.asOf as string)).toBeGreaterThan(Date.parse(first.asOf as string));
    expect(recounted.totals.failed).toBe(first.totals.failed + 3);
  });

  it('recounts when a request finds the counts older than 5 s', async () => {
    await fixture.db.query(`DELETE FROM tasks WHERE cate = 'beta'`);
    await fixture.db.query(
      `UPDATE dashboard_snapshots SET taken_at = taken_at - interval '1 minute'`,
    );
    // The recount of a few rows takes far less than the 50 ms a request waits for it.
    const overview = await getResult(fixture.app, '/dashboard/overview');
    expect((overview.categories as Json[]).map((c) => c.cate as string)).toStrictEqual([
      'Gamma',
      'alpha',
    ]);
    expect(Date.now() - Date.parse(overview.asOf as string)).toBeLessThan(5000);
  });

  it('shows a pause at once, without waiting for a recount', async () => {
    await fixture.db.query(`UPDATE handlers SET paused = true WHERE cate = 'Gamma'`);
    const overview = await getResult(fixture.app, '/dashboard/overview');
    expect(overview.totals.paused).toBe(2);
  });

  it('leaves the recount to the replica that holds the lock, and answers the stored counts', async () => {
    await fixture.db.query(
      `UPDATE dashboard_snapshots SET taken_at = taken_at - interval '1 minute'`,
    );
    const [before] = await fixture.db.query<{ taken_at: Date }>(
      'SELECT taken_at FROM dashboard_snapshots',
    );
    // Another replica recounting: it holds the lock (here, the test's own session).
    await fixture.db.query('SELECT pg_advisory_lock($1)', [SNAPSHOT_LOCK_ID]);
    try {
      const started = performance.now();
      const overview = await getResult(fixture.app, '/dashboard/overview');
      expect(performance.now() - started).toBeLessThan(1000);
      expect(Date.parse(overview.asOf as string)).toBe(before.taken_at.getTime());
    } finally {
      await fixture.db.query('SELECT pg_advisory_unlock($1)', [SNAPSHOT_LOCK_ID]);
    }
    await fixture.app.get(OverviewService).refresh();
    const [after] = await fixture.db.query<{ taken_at: Date }>(
      'SELECT taken_at FROM dashboard_snapshots',
    );
    expect(after.taken_at.getTime()).toBeGreaterThan(before.taken_at.getTime());
  });
});

describe('GET /dashboard/series', () => {
  describe('with two replicas delivering on one database', () => {
    const fixture = useTestDatabase();
    const apps: INestApplication[] = [];
    const TASKS = 40;

    beforeAll(async () => {
      const receiver = await fixture.receiver();
      receiver.reply = () => ({ status: 200, body: 'OK', delayMs: 150 });
      const config = {
        callbackAllowCidrs: ['127.0.0.0/8'],
        dispatchBatchSize: 4,
        dispatchConcurrency: 4,
        pollIntervalMs: 200,
      };
      apps.push(await fixture.startApp(config), await fixture.startApp(config));
      await registerHandler(apps[0], 'multi', receiver.url());
      await fixture.db.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params)
         SELECT 'multi', g, now(), now(), 'null' FROM generate_series(1, $1::int) g`,
        [TASKS],
      );
      await fixture.db.query(`SELECT pg_notify('delay_tasks_due', '')`);
      await receiver.waitForCalls(TASKS, 20_000);
      await waitFor('every delivery to be completed', async () => {
        const [row] = await fixture.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM tasks WHERE cate = 'multi'`,
        );
        return row.n === 0;
      });
      for (const app of apps) await app.get(DispatchStatsRecorder).flush();
    });

    it('holds a row per replica and bucket, written by both', async () => {
      const rows = await fixture.db.query<{ replica_id: string; n: number }>(
        `SELECT replica_id, sum((outcomes->>'success')::int)::int AS n
         FROM dispatch_stats GROUP BY replica_id ORDER BY replica_id`,
      );
      expect(rows).toHaveLength(2);
      expect(rows.map((row) => row.replica_id).sort()).toStrictEqual(
        apps.map((app) => app.get(DispatchStatsRecorder).replicaId).sort(),
      );
      for (const row of rows) expect(row.n).toBeGreaterThan(0);
      expect(rows.reduce((sum, row) => sum + row.n, 0)).toBe(TASKS);
    });

    it('sums both replicas per bucket: every delivery counted once, with its lateness', async () => {
      const series = await getResult(apps[1], '/dashboard/series?minutes=2');
      expect(series.bucketSeconds).toBe(10);
      expect(series.points).toHaveLength(12);
      const points = series.points as Json[];
      const deliveries = points.reduce((sum, point) => sum + (point.deliveries as number), 0);
      const successes = points.reduce(
        (sum, point) => sum + (((point.outcomes as Json).success as number | undefined) ?? 0),
        0,
      );
      expect({ deliveries, successes }).toStrictEqual({ deliveries: TASKS, successes: TASKS });
      const busy = points.filter((point) => point.deliveries > 0);
      for (const point of busy) {
        expect(point.latenessP50Ms).toEqual(expect.any(Number));
        expect(point.latenessP99Ms).toBeGreaterThanOrEqual(point.latenessP50Ms as number);
      }
    });

    it('writes what is left at shutdown', async () => {
      const [app] = apps;
      const recorder = app.get(DispatchStatsRecorder);
      recorder.attemptFinished('http_5xx', 5);
      await app.close();
      const [row] = await fixture.db.query<{ n: number }>(
        `SELECT coalesce(sum((outcomes->>'http_5xx')::int), 0)::int AS n FROM dispatch_stats
         WHERE replica_id = $1`,
        [recorder.replicaId],
      );
      expect(row.n).toBe(1);
    });
  });

  describe('reading the stored statistics', () => {
    const fixture = useTestApp({ dispatchEnabled: false });

    beforeAll(async () => {
      // Two replicas in the bucket before the current one: 90 first attempts at 3 ms on one,
      // 10 at 1800 ms on the other; outcomes summed key by key.
      const fast = emptyHistogram();
      fast[bucketOf(3)] = 90;
      const slow = emptyHistogram();
      slow[bucketOf(1800)] = 10;
      const previous = `date_bin('10 seconds', now(), TIMESTAMPTZ 'epoch') - interval '10 seconds'`;
      await fixture.db.query(
        `INSERT INTO dispatch_stats (bucket_start, replica_id, outcomes, lateness) VALUES
           (${previous}, 'r1', '{"success": 88, "http_5xx": 2}', $1::int[]),
           (${previous}, 'r2', '{"success": 10, "timeout": 1}', $2::int[]),
           (${previous} - interval '20 minutes', 'r1', '{"success": 7}', $1::int[])`,
        [fast, slow],
      );
    });

    it('answers every bucket of the window, oldest first, zeros where nothing happened', async () => {
      const series = await getResult(fixture.app, '/dashboard/series?minutes=1');
      const points = series.points as Json[];
      expect(points).toHaveLength(6);
      for (let i = 1; i < points.length; i++) {
        expect(points[i].t - points[i - 1].t).toBe(10);
      }
      expect(points[5].t % 10).toBe(0);
      const [{ now }] = await fixture.db.query<{ now: string }>(
        'SELECT extract(epoch FROM now())::float8 AS now',
      );
      expect(Number(now) - points[5].t).toBeLessThan(10);
      expect(points[0]).toStrictEqual({
        t: points[0].t,
        outcomes: {},
        deliveries: 0,
        latenessP50Ms: null,
        latenessP99Ms: null,
      });
    });

    it('takes p50 and p99 from the replicas merged histogram', async () => {
      const series = await getResult(fixture.app, '/dashboard/series?minutes=1');
      const points = series.points as Json[];
      // The bucket before the current one, unless the clock moved on to the next bucket meanwhile.
      const point = points.find((p) => p.deliveries > 0) as Json;
      expect(point.outcomes).toStrictEqual({ success: 98, http_5xx: 2, timeout: 1 });
      expect(point.deliveries).toBe(101);
      expect(point.latenessP50Ms).toBeGreaterThan(2);
      expect(point.latenessP50Ms).toBeLessThanOrEqual(3);
      expect(point.latenessP99Ms).toBeGreaterThan(1500);
      expect(point.latenessP99Ms).toBeLessThanOrEqual(2000);
    });

    it('reaches back as far as asked, up to 60 minutes', async () => {
      const series = await getResult(fixture.app, '/dashboard/series?minutes=60');
      const points = series.points as Json[];
      expect(points).toHaveLength(360);
      const total = points.reduce((sum, point) => sum + (point.deliveries as number), 0);
      expect(total).toBe(108);
      const defaults = await getResult(fixture.app, '/dashboard/series');
      expect(defaults.points).toHaveLength(90);
    });

    it.each(['0', '61', 'abc', '1.5'])('answers 400 for minutes=%s', async (minutes) => {
      const res = await request(fixture.app.getHttpServer()).get(
        `/dashboard/series?minutes=${minutes}`,
      );
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: 'minutes must be an integer from 1 to 60' });
    });
  });
});

describe('GET /dashboard/forecast', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  it('counts pending tasks by the minute they fall due, for the next hour', async () => {
    const { db } = fixture;
    const [{ start }] = await db.query<{ start: string }>(
      `SELECT extract(epoch FROM date_trunc('minute', now()))::bigint::text AS start`,
    );
    const at = (seconds: number) => `to_timestamp(${Number(start) + seconds})`;
    await insertTasks(db, 'f', 3, 'pending', at(2 * 60 + 30), 1);
    await insertTasks(db, 'f', 1, 'pending', at(59 * 60 + 59), 10);
    await insertTasks(db, 'f', 2, 'pending', at(60 * 60), 20); // the minute after the hour
    await insertTasks(db, 'f', 2, 'pending', `'infinity'::timestamptz`, 30); // parked
    await insertTasks(db, 'f', 2, 'failed', at(2 * 60 + 30), 40);
    await insertTasks(db, 'f', 2, 'running', at(2 * 60 + 30), 50);
    await insertTasks(db, 'g', FORECAST_CAP + 1, 'pending', at(10 * 60), 1);

    const forecast = await getResult(fixture.app, '/dashboard/forecast');
    const minutes = forecast.minutes as Json[];
    expect(minutes).toHaveLength(60);
    const from = forecast.from as number;
    expect(minutes.map((m) => m.t as number)).toStrictEqual(minutes.map((_m, i) => from + 60 * i));
    // The minute may have turned between the inserts and the request.
    const shift = (forecast.from - Number(start)) / 60;
    expect([0, 1]).toContain(shift);
    const expected = new Map<number, Json>([
      [2 - shift, { count: 3 }],
      [59 - shift, { count: 1 }],
      [10 - shift, { count: FORECAST_CAP, capped: true }],
    ]);
    if (shift === 1) expected.set(59, { count: 2 });
    minutes.forEach((minute, i) => {
      expect({ i, ...minute }).toStrictEqual({
        i,
        t: minute.t,
        ...(expected.get(i) ?? { count: 0 }),
      });
    });
  });
});

describe('GET /dashboard/session', () => {
  const fixture = useTestDatabase();
  const ADMIN_KEY = 'dashboard-admin-key-0123456789';
  const READER_KEY = 'dashboard-reader-key-0123456789';

  it('says open when no API key is configured: auth none, role admin', async () => {
    const app = await fixture.startApp({ dispatchEnabled: false });
    expect(await getResult(app, '/dashboard/session')).toStrictEqual({
      auth: 'none',
      role: 'admin',
      keyId: null,
    });
  });

  describe('with API keys', () => {
    let app: INestApplication;

    beforeAll(async () => {
      app = await fixture.startApp({
        dispatchEnabled: false,
        apiKeyHashes: [hashApiKey(ADMIN_KEY)],
        apiKeyReadonlyHashes: [hashApiKey(READER_KEY)],
      });
    });

    it('names the role and id of a full-access key', async () => {
      expect(await getResult(app, '/dashboard/session', ADMIN_KEY)).toStrictEqual({
        auth: 'key',
        role: 'admin',
        keyId: apiKeyIdOfHash(hashApiKey(ADMIN_KEY)),
      });
    });

    it('names the role and id of a read-only key', async () => {
      expect(await getResult(app, '/dashboard/session', READER_KEY)).toStrictEqual({
        auth: 'key',
        role: 'readonly',
        keyId: apiKeyIdOfHash(hashApiKey(READER_KEY)),
      });
    });

    it('answers 401 without a key', async () => {
      const res = await request(app.getHttpServer()).get('/dashboard/session');
      expect(res.status).toBe(401);
    });

    it('lets a read-only key read every dashboard route', async () => {
      for (const path of ['/dashboard/overview', '/dashboard/series', '/dashboard/forecast']) {
        const res = await request(app.getHttpServer())
          .get(path)
          .set('Authorization', `Bearer ${READER_KEY}`);
        expect({ path, status: res.status }).toStrictEqual({ path, status: 200 });
      }
    });
  });
});

describe('GET /attempts', () => {
  const fixture = useTestApp({ dispatchEnabled: false });
  const BIG_KEY = '18446744073709551615';

  beforeAll(async () => {
    // orders: attempts of keys 1…5, then one of the largest key; other: 3 rows in between.
    await fixture.db.query(
      `INSERT INTO task_attempts (task_id, cate, key, delivery_id, attempt, started_at,
         duration_ms, status_code, outcome, error)
       SELECT g, c, g, gen_random_uuid(), 1, to_timestamp(1800000000 + g), 10 + g,
         CASE WHEN g % 2 = 0 THEN 200 ELSE 503 END,
         CASE WHEN g % 2 = 0 THEN 'success' ELSE 'http_5xx' END,
         CASE WHEN g % 2 = 0 THEN NULL ELSE 'HTTP 503' END
       FROM generate_series(1, 5) g, unnest(ARRAY['orders', 'other']) c
       WHERE c = 'orders' OR g <= 3
       ORDER BY g, c`,
    );
    await fixture.db.query(
      `INSERT INTO task_attempts (task_id, cate, key, delivery_id, attempt, started_at,
         duration_ms, status_code, outcome, error)
       VALUES (99, 'orders', $1::numeric, gen_random_uuid(), 2, to_timestamp(1800000100), 7,
         NULL, 'timeout', 'timed out after 5000 ms')`,
      [BIG_KEY],
    );
  });

  async function page(query: string): Promise<{ status: number; text: string; body: Json }> {
    const res = await request(fixture.app.getHttpServer()).get(`/attempts?${query}`);
    return { status: res.status, text: res.text, body: parseJson(res.text) as Json };
  }

  it("lists a category's attempts newest first, keys exact, in keyset pages", async () => {
    const first = await page('cate=orders&limit=4');
    expect(first.status).toBe(200);
    // The key as a bare JSON integer, exactly.
    expect(first.text).toContain(`"key":${BIG_KEY},`);
    const items = first.body.result.items as Json[];
    expect(items.map((item) => String(item.key))).toStrictEqual([BIG_KEY, '5', '4', '3']);
    expect(items[0]).toStrictEqual({
      key: BigInt(BIG_KEY),
      startedAt: new Date(1_800_000_100_000).toISOString(),
      attempt: 2,
      deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      statusCode: null,
      outcome: 'timeout',
      durationMs: 7,
      error: 'timed out after 5000 ms',
    });
    expect(items[1]).toMatchObject({ statusCode: 503, outcome: 'http_5xx', durationMs: 15 });

    const cursor = first.body.result.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    const second = await page(`cate=orders&limit=4&cursor=${cursor}`);
    const rest = second.body.result.items as Json[];
    expect(rest.map((item) => String(item.key))).toStrictEqual(['2', '1']);
    expect(second.body.result.nextCursor).toBeNull();
  });

  it('answers an empty page for a category without attempts', async () => {
    const res = await page('cate=none');
    expect(res.body).toStrictEqual({
      code: 200,
      msg: 'OK',
      result: { items: [], nextCursor: null },
    });
  });

  it.each([
    ['no category', 'limit=5', /^cate must be/],
    ['a bad category', 'cate=a%20b', /^cate must be/],
    ['a bad limit', 'cate=orders&limit=0', /^limit must be/],
    ['a foreign cursor', 'cate=orders&cursor=YXVkaXQ6Ng', /^cursor must be/],
  ])('answers 400 for %s', async (_name, query, message) => {
    const res = await page(query);
    expect(res.status).toBe(400);
    expect(res.body.msg).toMatch(message);
  });
});

describe('the dashboard UI at /ui', () => {
  const root = mkdtempSync(join(tmpdir(), 'delay-tasks-ui-'));
  const uiDir = join(root, 'ui');
  const INDEX =
    '<!doctype html><html><head><script type="module" src="/ui/assets/app-3f2a1b.js">' +
    '</script><link rel="stylesheet" href="/ui/assets/app-9c8d7e.css"></head><body></body></html>';
  mkdirSync(join(uiDir, 'assets'), { recursive: true });
  writeFileSync(join(uiDir, 'index.html'), INDEX);
  writeFileSync(join(uiDir, 'assets', 'app-3f2a1b.js'), 'console.log("dashboard");');
  writeFileSync(join(uiDir, 'assets', 'app-9c8d7e.css'), 'body { margin: 0 }');
  writeFileSync(join(uiDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(uiDir, '.env'), 'HIDDEN=1');
  writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET');
  const KEY = 'dashboard-ui-key-0123456789';

  const fixture = useTestApp(
    { dispatchEnabled: false, uiDir, apiKeyHashes: [hashApiKey(KEY)] },
    { listen: true },
  );
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A GET with the path sent exactly as written (no client-side normalization of dots). */
  function rawGet(path: string): Promise<{ status: number; headers: Json; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: fixture.port, path, method: 'GET' },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it.each(['/ui', '/ui/'])(
    'answers index.html for %s, revalidated, without a key',
    async (path) => {
      const res = await rawGet(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toBe(INDEX);
    },
  );

  it('answers index.html for a page of the UI routing, but 404 for a missing file', async () => {
    const page = await rawGet('/ui/categories/orders');
    expect(page.status).toBe(200);
    expect(page.body).toBe(INDEX);
    for (const path of ['/ui/assets/gone-123.js', '/ui/missing.png', '/ui/assets/', '/ui/assets']) {
      const res = await rawGet(path);
      expect({ path, status: res.status, body: res.body }).toStrictEqual({
        path,
        status: 404,
        body: '{"code":404,"msg":"not found"}',
      });
    }
  });

  it('serves hashed assets with their content types and a year of immutable caching', async () => {
    const script = await rawGet('/ui/assets/app-3f2a1b.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.body).toBe('console.log("dashboard");');
    const style = await rawGet('/ui/assets/app-9c8d7e.css');
    expect(style.headers['content-type']).toMatch(/^text\/css/);
    expect(style.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await rawGet('/ui/favicon.svg');
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('sends a CSP without inline scripts or styles, connecting only to this origin', async () => {
    const res = await rawGet('/ui/');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // Elsewhere the policy still lets the Swagger UI's inline styles through.
    const docs = await rawGet('/docs');
    expect(String(docs.headers['content-security-policy'])).toContain("'unsafe-inline'");
  });

  it.each([
    '/ui/../secret.txt',
    '/ui/..%2fsecret.txt',
    '/ui/%2e%2e/secret.txt',
    '/ui/%2E%2E%2Fsecret.txt',
    '/ui/assets/..%2f..%2fsecret.txt',
    '/ui/assets/%2e%2e/%2e%2e/secret.txt',
    '/ui/..%5csecret.txt',
    '/ui/..%255c..%255csecret.txt',
    '/ui/%252e%252e/secret.txt',
    '/ui//secret.txt',
    '/ui/.env',
    '/ui/%2eenv',
    '/ui/%00secret.txt',
    '/ui/%E0%A4%A',
  ])('never serves a file outside the UI directory or a hidden one: %s', async (path) => {
    const res = await rawGet(path);
    expect(res.body).not.toContain('TOP-SECRET');
    expect(res.body).not.toContain('HIDDEN');
    expect([200, 400, 404]).toContain(res.status);
    if (res.status === 200) expect(res.body).toBe(INDEX); // a path that names no file
  });

  it('answers the traversal attempts that decode to .. with 404', async () => {
    for (const path of ['/ui/..%2fsecret.txt', '/ui/%2e%2e/secret.txt', '/ui/..%5csecret.txt']) {
      const res = await rawGet(path);
      expect({ path, status: res.status }).toStrictEqual({ path, status: 404 });
    }
  });

  it('still asks for the key on the API the page calls', async () => {
    expect((await rawGet('/dashboard/overview')).status).toBe(401);
  });

  describe('before the UI is built', () => {
    let app: INestApplication;

    beforeAll(async () => {
      app = await fixture.startApp({ dispatchEnabled: false, uiDir: join(root, 'absent') });
    });

    it.each(['/ui', '/ui/', '/ui/assets/app.js'])('answers 404 for %s, saying so', async (path) => {
      const res = await request(app.getHttpServer()).get(path);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toStrictEqual({ code: 404, msg: 'dashboard not built: run npm run build' });
    });
  });
});
