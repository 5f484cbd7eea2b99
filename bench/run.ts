/**
 * The benchmark: delay-tasks side by side with graphile-worker on this machine.
 *
 *   npm ci && npm run build && npm run bench            # full run (about 5 minutes)
 *   npm run bench -- --quick                            # scaled down, under 2 minutes
 *
 * Starts everything itself: a fresh database per scenario on DATABASE_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres), the service as real processes (node dist/main.js),
 * a callback receiver in its own process, and the peer. Prints a table and writes
 * bench/results/latest.json.
 */
import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, Receiver, rssMb, Service, startReceiver, startService } from './lib/processes';
import { round, summarizeLateness } from './lib/stats';
import type { Arrival } from './receiver-process';

const QUICK = process.argv.includes('--quick');
const SIZES = QUICK
  ? { rate: 500, seconds: 5, burst: 5000, ingestSeconds: 5, filler: 100_000 }
  : { rate: 1000, seconds: 20, burst: 50_000, ingestSeconds: 15, filler: 1_000_000 };
const CONCURRENCY = 64;
/** Seconds of load before the lateness measurement starts (see lateness()). */
const WARMUP_SECONDS = QUICK ? 2 : 3;
const SERVER_URL = testDatabaseUrl();
const DB = `dt_bench_${process.pid}`;

type Results = Record<string, unknown>;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function serviceEnv(dbUrl: string): Record<string, string> {
  return {
    DATABASE_URL: dbUrl,
    CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
    DISPATCH_CONCURRENCY: String(CONCURRENCY),
  };
}

const nowSec = (): number => Date.now() / 1000;

/**
 * Lateness of `rate` tasks/s spread evenly over `seconds`, fractional due times, measured after
 * WARMUP_SECONDS of the same load: a process that just started pays for JIT compilation, its first
 * database connections and keep-alive sockets (p99 above 100 ms in its first second here, then
 * 10–20 ms), and the target is the steady state. The warm-up's own figures are kept as `cold`.
 */
async function lateness(dbUrl: string, receiver: Receiver, cate: string, firstKey: number) {
  await checkpoint();
  const count = SIZES.rate * (WARMUP_SECONDS + SIZES.seconds);
  const startSec = nowSec() + 4;
  await insertTasks(dbUrl, {
    cate,
    handler: receiver.url,
    count,
    firstKey,
    startSec,
    stepSec: 1 / SIZES.rate,
  });
  const arrivals = await collect(receiver, count, (WARMUP_SECONDS + SIZES.seconds + 20) * 1000);
  return splitWarmup(arrivals, startSec + WARMUP_SECONDS);
}

/** Lateness of the arrivals due from `measuredFromSec` on, and of the warm-up before it. */
function splitWarmup(arrivals: Arrival[], measuredFromSec: number) {
  const lateness = (list: Arrival[]) => list.map((a) => a.arrivedAtMs - a.due * 1000);
  return {
    ...summarizeLateness(lateness(arrivals.filter((a) => a.due >= measuredFromSec))),
    cold: summarizeLateness(lateness(arrivals.filter((a) => a.due < measuredFromSec))),
  };
}

/**
 * Writes out what earlier scenarios left dirty (the million-row fill above all) before a
 * measurement starts, so that a checkpoint does not land in the middle of the next scenario,
 * ours or the peer's.
 */
async function checkpoint(): Promise<void> {
  await withClient(SERVER_URL, (c) => c.query('CHECKPOINT'));
}

/** `count` tasks all due at one instant: deliveries per second from the due time to the last. */
function burstFigures(arrivals: Arrival[], dueSec: number) {
  const last = Math.max(...arrivals.map((a) => a.arrivedAtMs));
  const late = summarizeLateness(arrivals.map((a) => a.arrivedAtMs - a.due * 1000));
  const ids = new Set(arrivals.map((a) => a.deliveryId));
  return {
    perSecond: round(arrivals.length / ((last - dueSec * 1000) / 1000), 0),
    p50: late.p50,
    p99: late.p99,
    early: late.early,
    delivered: ids.size,
    duplicates: arrivals.length - ids.size,
  };
}

async function burst(dbUrl: string, receiver: Receiver, cate: string, firstKey: number) {
  await checkpoint();
  const dueSec = Math.ceil(nowSec() + 3 + SIZES.burst / 20_000);
  await insertTasks(dbUrl, {
    cate,
    handler: receiver.url,
    count: SIZES.burst,
    firstKey,
    startSec: dueSec,
    stepSec: 0,
  });
  const arrivals = await collect(receiver, SIZES.burst, 180_000);
  return burstFigures(arrivals, dueSec);
}

async function ingest(service: Service): Promise<{ perSecond: number; p99: number }> {
  let key = 0;
  const due = Math.floor(nowSec()) + 86_400;
  const result = await autocannon({
    url: `${service.baseUrl}/task/ingest`,
    method: 'POST',
    connections: 64,
    duration: SIZES.ingestSeconds,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: `{"timestamp":${due},"key":${++key},"params":{"n":${key}}}`,
        }),
      },
    ],
  });
  return { perSecond: round(result['2xx'] / SIZES.ingestSeconds, 0), p99: result.latency.p99 };
}

/** Batch ingest (POST /tasks/:cate, 1,000 tasks a request), when the route exists. */
async function ingestBatch(service: Service): Promise<number | null> {
  const due = Math.floor(nowSec()) + 86_400;
  let key = 10_000_000;
  const body = (): string =>
    JSON.stringify({
      tasks: Array.from({ length: 1000 }, () => ({
        timestamp: due,
        key: ++key,
        params: { k: key },
      })),
    });
  const probe = await fetch(`${service.baseUrl}/tasks/ingestb`, { method: 'POST', body: body() });
  if (probe.status === 404) return null;
  const result = await autocannon({
    url: `${service.baseUrl}/tasks/ingestb`,
    method: 'POST',
    connections: 8,
    duration: SIZES.ingestSeconds,
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  return round((result['2xx'] * 1000) / SIZES.ingestSeconds, 0);
}

async function fillMillion(dbUrl: string): Promise<void> {
  const startSec = nowSec() + 86_400;
  await insertTasks(dbUrl, {
    cate: 'filler',
    handler: 'http://127.0.0.1:9/never-called',
    count: SIZES.filler,
    firstKey: 1,
    startSec,
    stepSec: 0.001,
  });
  await withClient(dbUrl, (c) => c.query('VACUUM ANALYZE tasks'));
}

async function ours(results: Results, receiver: Receiver): Promise<void> {
  const dbUrl = await freshDatabase(SERVER_URL, DB);
  let service = await startService(serviceEnv(dbUrl));
  log('ours: lateness');
  const late = await lateness(dbUrl, receiver, 'late', 1);
  log(`ours: burst of ${SIZES.burst}, one replica`);
  const burst1 = await burst(dbUrl, receiver, 'burst', 1);
  results.rss_mb_empty = rssMb(service.child.pid!);
  log('ours: ingest');
  const single = await ingest(service);
  const batch = await ingestBatch(service);
  await service.stop();

  log(`ours: burst of ${SIZES.burst}, two replicas`);
  await withClient(dbUrl, async (c) => {
    await c.query('DELETE FROM tasks');
    await c.query('VACUUM ANALYZE tasks');
  });
  const pair = [await startService(serviceEnv(dbUrl)), await startService(serviceEnv(dbUrl))];
  const burst2 = await burst(dbUrl, receiver, 'burst2', 1);
  await Promise.all(pair.map((s) => s.stop()));

  log(`ours: ${SIZES.filler} pending future tasks in the table`);
  await fillMillion(dbUrl);
  service = await startService(serviceEnv(dbUrl));
  const scaleLate = await lateness(dbUrl, receiver, 'scale-late', 1);
  const scaleBurst = await burst(dbUrl, receiver, 'scale-burst', 1);
  results.rss_mb_1m = rssMb(service.child.pid!);
  await service.stop();
  await dropDatabase(SERVER_URL, DB);

  Object.assign(results, {
    lateness_p50_ms: late.p50,
    lateness_p99_ms: late.p99,
    lateness_max_ms: late.max,
    lateness_cold_p50_ms: late.cold.p50,
    lateness_cold_p99_ms: late.cold.p99,
    early:
      late.early +
      late.cold.early +
      burst1.early +
      burst2.early +
      scaleLate.early +
      scaleLate.cold.early +
      scaleBurst.early,
    lateness_delivered: late.count,
    burst_per_s: burst1.perSecond,
    burst_lateness_p50_ms: burst1.p50,
    burst_lateness_p99_ms: burst1.p99,
    burst_duplicates: burst1.duplicates + burst2.duplicates,
    burst2_per_s: burst2.perSecond,
    ingest_per_s: single.perSecond,
    ingest_p99_ms: single.p99,
    ingest_batch_tasks_per_s: batch,
    scale_burst_per_s: scaleBurst.perSecond,
    scale_lateness_p50_ms: scaleLate.p50,
    scale_lateness_p99_ms: scaleLate.p99,
  });
}

async function startPeer(dbUrl: string): Promise<ChildProcess> {
  const child = fork(
    join(__dirname, 'peer-worker.ts'),
    [JSON.stringify({ connectionString: dbUrl, concurrency: CONCURRENCY })],
    { execArgv: ['-r', 'ts-node/register/transpile-only'] },
  );
  await once(child, 'message');
  return child;
}

/**
 * Enqueues `count` jobs with graphile-worker's own batch function (one statement; add_job per row
 * runs at ~1,000 jobs/s here, too slow to finish before the first one is due). Throws if the
 * insert ended after the first due time, which would skew the figures.
 */
async function insertJobs(
  dbUrl: string,
  url: string,
  count: number,
  startSec: number,
  step: number,
) {
  await withClient(dbUrl, (c) =>
    c.query(
      `SELECT graphile_worker.add_jobs(array_agg(ROW('deliver',
         json_build_object('cate', 'peer', 'key', g, 'params', json_build_object('i', g),
           'due', (($2::float8 + g * $3::float8))::text, 'url', $4::text),
         NULL, to_timestamp($2::float8 + g * $3::float8), 3, NULL, NULL, NULL
       )::graphile_worker.job_spec ORDER BY g))
       FROM generate_series(0, $1::int - 1) AS g`,
      [count, startSec, step, url],
    ),
  );
  if (nowSec() > startSec) {
    throw new Error(`enqueueing ${count} jobs ended ${round(nowSec() - startSec, 2)} s late`);
  }
}

async function peer(results: Results, receiver: Receiver): Promise<void> {
  const dbUrl = await freshDatabase(SERVER_URL, `${DB}_peer`);
  const worker = await startPeer(dbUrl);
  log('peer (graphile-worker): lateness');
  const count = SIZES.rate * (WARMUP_SECONDS + SIZES.seconds);
  await checkpoint();
  const startSec = nowSec() + 4 + count / 20_000;
  await insertJobs(dbUrl, receiver.url, count, startSec, 1 / SIZES.rate);
  const lateArrivals = await collect(receiver, count, (WARMUP_SECONDS + SIZES.seconds + 30) * 1000);
  const late = splitWarmup(lateArrivals, startSec + WARMUP_SECONDS);
  log(`peer: burst of ${SIZES.burst}`);
  await checkpoint();
  const dueSec = Math.ceil(nowSec() + 3 + SIZES.burst / 5_000);
  await insertJobs(dbUrl, receiver.url, SIZES.burst, dueSec, 0);
  const burst1 = burstFigures(await collect(receiver, SIZES.burst, 300_000), dueSec);
  worker.send('stop');
  await once(worker, 'exit');
  await dropDatabase(SERVER_URL, `${DB}_peer`);
  Object.assign(results, {
    peer_lateness_p50_ms: late.p50,
    peer_lateness_p99_ms: late.p99,
    peer_lateness_max_ms: late.max,
    peer_lateness_cold_p99_ms: late.cold.p99,
    peer_early: late.early + late.cold.early,
    peer_burst_per_s: burst1.perSecond,
    peer_burst_lateness_p99_ms: burst1.p99,
  });
}

async function machine(): Promise<Results> {
  const version = await withClient(SERVER_URL, async (c) => {
    const { rows } = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return rows[0].v;
  });
  return { cores: cpus().length, cpu: cpus()[0]?.model, postgres: version, node: process.version };
}

function printTable(r: Results): void {
  const ratio = (a: unknown, b: unknown): string =>
    typeof a === 'number' && typeof b === 'number' && b > 0 ? `${round(a / b, 2)}x` : '';
  const rows: Array<[string, unknown, unknown, string, string]> = [
    [
      'lateness p50 (ms)',
      r.lateness_p50_ms,
      r.peer_lateness_p50_ms,
      ratio(r.peer_lateness_p50_ms, r.lateness_p50_ms),
      '≤ 5',
    ],
    [
      'lateness p99 (ms)',
      r.lateness_p99_ms,
      r.peer_lateness_p99_ms,
      ratio(r.peer_lateness_p99_ms, r.lateness_p99_ms),
      '≤ 25',
    ],
    ['lateness max (ms)', r.lateness_max_ms, r.peer_lateness_max_ms, '', ''],
    [
      `lateness p99, first ${WARMUP_SECONDS} s after start (ms)`,
      r.lateness_cold_p99_ms,
      r.peer_lateness_cold_p99_ms,
      '',
      '',
    ],
    ['early deliveries', r.early, r.peer_early, '', '0'],
    [
      'burst, 1 replica (/s)',
      r.burst_per_s,
      r.peer_burst_per_s,
      ratio(r.burst_per_s, r.peer_burst_per_s),
      '≥ 5000, ≥ 1.5x peer',
    ],
    ['burst, 2 replicas (/s)', r.burst2_per_s, '', '', ''],
    ['ingest single (tasks/s)', r.ingest_per_s, '', '', '≥ 3000'],
    ['ingest single p99 (ms)', r.ingest_p99_ms, '', '', ''],
    ['ingest batch (tasks/s)', r.ingest_batch_tasks_per_s ?? 'n/a', '', '', '≥ 30000'],
    [
      `burst with ${SIZES.filler} pending (/s)`,
      r.scale_burst_per_s,
      '',
      ratio(r.scale_burst_per_s, r.burst_per_s),
      'within 10%',
    ],
    [`lateness p99 with ${SIZES.filler} pending`, r.scale_lateness_p99_ms, '', '', ''],
    [
      'RSS empty / filled (MiB)',
      `${String(r.rss_mb_empty)} / ${String(r.rss_mb_1m)}`,
      '',
      '',
      'within 10%',
    ],
  ];
  console.log(
    '\n| metric | delay-tasks | graphile-worker | ratio | target |\n|---|---|---|---|---|',
  );
  for (const row of rows) console.log(`| ${row.map((c) => String(c)).join(' | ')} |`);
}

async function main(): Promise<void> {
  const results: Results = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: await machine(),
  };
  const receiver = await startReceiver();
  try {
    await ours(results, receiver);
    await peer(results, receiver);
  } finally {
    receiver.stop();
  }
  printTable(results);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote bench/results/latest.json`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
