/**
 * Bulk retry and delete by filter at scale, through the HTTP API of the service as a process
 * (from the sources: `npx ts-node --transpile-only bench/probe-bulk-retry.ts [failed=100000]
 * [--no-dispatch] [--keep]`; --no-dispatch runs an API-only replica, --keep stops after the
 * inserts and keeps the database for a look with psql).
 * Inserts `failed` failed tasks of one category (failed over the last hour) and other
 * categories' tasks (pending, failed, and a live one delivered to a receiver during the whole
 * run), then times dry-run counts, the bulk retry, a second retry (idempotence) and the bulk
 * delete. Prints each call's count and milliseconds, the plans of the chunk statements, the
 * lateness of the live category's deliveries meanwhile and the other categories' rows after.
 *
 * The bulk category is paused, so the tasks the retry makes due stay pending (they are parked)
 * instead of 100,000 deliveries sharing the machine's two cores with the calls being timed.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import {
  COUNT_DELETE_CHUNK,
  COUNT_RETRY_CHUNK,
  DELETE_CHUNK,
  DELETE_FAILED_CHUNK,
  DELETE_RUNNING_CHUNK,
  RETRY_FAILED_CHUNK,
} from '../src/modules/tasks/tasks.sql';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, startReceiver, startService } from './lib/processes';
import type { Arrival } from './receiver-process';
import { summarizeLateness } from './lib/stats';

const DATABASE = 'dt_probe_bulk';
const BULK = 'bulk';
/** Deliveries per second of the live category, and for how long. */
const LIVE_RATE = 100;
const LIVE_SECONDS = 20;

interface Timed {
  label: string;
  count: number;
  /** Unix seconds. */
  start: number;
  end: number;
}

async function call(baseUrl: string, path: string, body: object): Promise<Timed> {
  const start = Date.now() / 1000;
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const end = Date.now() / 1000;
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text}`);
  const { count } = (JSON.parse(text) as { result: { count: number } }).result;
  return { label: `POST ${path} ${JSON.stringify(body)}`, count, start, end };
}

/** Lateness of the live deliveries due in [start, end). */
function livenessIn(arrivals: Arrival[], start: number, end: number): string {
  const during = arrivals.filter((a) => a.due >= start && a.due < end);
  if (during.length === 0) return 'no live deliveries due meanwhile';
  const l = summarizeLateness(during.map((a) => a.arrivedAtMs - a.due * 1000));
  return `live: ${l.count} due meanwhile, lateness p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`;
}

/** The indexes the plan of `text` reads, with typical parameters. */
async function planIndexes(client: Client, text: string, params: unknown[]): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (COSTS OFF) ${text}`,
    params,
  );
  const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
  const indexes = [...plan.matchAll(/Index (?:Only )?Scan(?: Backward)? using (\w+)/g)].map(
    (m) => m[1],
  );
  const seq = /Seq Scan on tasks/.test(plan) ? ' + Seq Scan on tasks' : '';
  return [...new Set(indexes)].join(', ') + seq;
}

async function insertData(db: string, failed: number): Promise<void> {
  await withClient(db, async (c) => {
    await c.query(
      `INSERT INTO handlers (cate, url, paused) VALUES ($1, 'http://127.0.0.1:9/', true),
      ('other', 'http://127.0.0.1:9/', false), ('other-failed', 'http://127.0.0.1:9/', false)`,
      [BULK],
    );
    // The bulk category: failed tasks, failed over the last hour, interleaved by id with the
    // other categories' rows (inserted in the same statements, alternating).
    await c.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, last_error,
         updated_at)
       SELECT CASE WHEN g % 3 = 0 THEN 'other-failed' ELSE $1 END, g,
         now() - interval '2 hours', now() - interval '2 hours', json_build_object('i', g),
         'failed', 3, 'HTTP 503', now() - (g % 3600) * interval '1 second'
       FROM generate_series(1, $2::int * 3 / 2) g`,
      [BULK, failed],
    );
    // Another category's backlog, pending for tomorrow.
    await c.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'other', g, now() + interval '1 day', now() + interval '1 day', '{}'
       FROM generate_series(1, 100000) g`,
    );
    await c.query('VACUUM ANALYZE tasks');
  });
}

async function printPlans(db: string): Promise<void> {
  await withClient(db, async (c) => {
    const retry = [BULK, '0', 2000, null, null];
    const del = [BULK, '0', 2000, null, null, null];
    console.log('chunk statements read:');
    console.log(`  retry (dry run)  ${await planIndexes(c, COUNT_RETRY_CHUNK, retry)}`);
    console.log(`  retry            ${await planIndexes(c, RETRY_FAILED_CHUNK, retry)}`);
    console.log(`  delete (dry run) ${await planIndexes(c, COUNT_DELETE_CHUNK, del)}`);
    console.log(`  delete           ${await planIndexes(c, DELETE_CHUNK, del)}`);
    const failedDel = [BULK, '0', 2000, 'failed', null, null];
    console.log(`  delete failed    ${await planIndexes(c, DELETE_FAILED_CHUNK, failedDel)}`);
    const runningDel = [BULK, '0', 2000, 'running', null, null];
    console.log(`  delete running   ${await planIndexes(c, DELETE_RUNNING_CHUNK, runningDel)}`);
  });
}

async function countsByCategory(db: string): Promise<string> {
  return withClient(db, async (c) => {
    const { rows } = await c.query<{ cate: string; state: string; n: number }>(
      `SELECT cate, state, count(*)::int AS n FROM tasks WHERE cate <> 'live'
       GROUP BY cate, state ORDER BY cate, state`,
    );
    return rows.map((r) => `${r.cate}/${r.state} ${r.n}`).join(', ');
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const failed = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
  const dispatch = !args.includes('--no-dispatch');
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, DATABASE);
  const receiver = await startReceiver();
  const service = await startService(
    { DATABASE_URL: db, CALLBACK_ALLOW_CIDRS: '127.0.0.1/32', DISPATCH_ENABLED: String(dispatch) },
    ['-r', 'ts-node/register/transpile-only'],
    join(__dirname, '..', 'src', 'main.ts'),
  );
  try {
    await insertData(db, failed);
    console.log(`tasks: ${await countsByCategory(db)}`);
    await printPlans(db);
    if (args.includes('--keep')) {
      console.log(`kept ${db}`);
      return;
    }
    await call(service.baseUrl, '/tasks/warm-up/retry', { dryRun: true });

    const liveStart = Date.now() / 1000 + 2;
    if (dispatch) {
      await insertTasks(db, {
        cate: 'live',
        handler: receiver.url,
        count: LIVE_RATE * LIVE_SECONDS,
        firstKey: 1,
        startSec: liveStart,
        stepSec: 1 / LIVE_RATE,
      });
      await new Promise((resolve) => setTimeout(resolve, 3000)); // the live deliveries have begun
    }
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const url = service.baseUrl;
    const calls: Timed[] = [];
    const steps: Array<[string, object]> = [
      [`/tasks/${BULK}/retry`, { dryRun: true }],
      [`/tasks/${BULK}/retry`, { dryRun: true, failedAfter: hourAgo + 1800 }],
      [`/tasks/${BULK}/delete`, { dryRun: true, state: 'failed' }],
      [`/tasks/${BULK}/retry`, {}],
      [`/tasks/${BULK}/retry`, {}],
      [`/tasks/${BULK}/delete`, { dryRun: true }],
      [`/tasks/${BULK}/delete`, {}],
      [`/tasks/${BULK}/delete`, {}],
    ];
    for (const [path, body] of steps) {
      calls.push(await call(url, path, body));
      await new Promise((resolve) => setTimeout(resolve, 500)); // apart, for the live figures
    }

    const arrivals = dispatch ? await collect(receiver, LIVE_RATE * LIVE_SECONDS, 60_000) : [];
    if (dispatch)
      console.log(`before the calls: ${livenessIn(arrivals, liveStart, calls[0].start)}`);
    for (const c of calls) {
      const ms = ((c.end - c.start) * 1000).toFixed(0);
      const live = dispatch ? `; ${livenessIn(arrivals, c.start, c.end)}` : '';
      console.log(`${c.label}: count ${c.count}, ${ms} ms${live}`);
    }
    if (dispatch) console.log(`live deliveries: ${arrivals.length} of ${LIVE_RATE * LIVE_SECONDS}`);
    console.log(`tasks after: ${await countsByCategory(db)}`);
  } finally {
    await service.stop();
    receiver.stop();
    if (!args.includes('--keep')) await dropDatabase(server, DATABASE);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
