/**
 * The benchmark: delay-tasks side by side with the queues a user would pick instead
 * (graphile-worker, pg-boss, BullMQ) on this machine.
 *
 *   npm ci && npm run build && npm run bench            # full run (about 13 minutes)
 *   npm run bench -- --quick                            # scaled down, about 3 minutes
 *   npm run bench -- --quick --only ours,bullmq         # some of ours, graphile, pgboss, bullmq
 *
 * Starts everything itself: a fresh database per scenario on DATABASE_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres), the service as real processes (node dist/main.js),
 * a callback receiver in its own process, each peer in a process of its own, and for BullMQ a
 * private redis-server (REDIS_SERVER, default /usr/bin/redis-server). Prints a table and writes
 * bench/results/latest.json and bench/results/lateness-distribution.svg.
 */
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { testDatabaseUrl } from '../test/setup/test-server';
import { backendPids, dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { DueRange, PeerProcess, startPeerProcess } from './lib/peer-process';
import { collect, Receiver, rssMb, Service, startReceiver, startService } from './lib/processes';
import { startRedisServer } from './lib/redis-server';
import {
  checkpoint,
  cleanUpOnSignal,
  collectBurst,
  CONCURRENCY,
  machine,
  type Metered,
  serviceEnv,
  splitWarmup,
} from './lib/scenarios';
import { round } from './lib/stats';
import { latenessCdf } from './lib/svg-chart';

const QUICK = process.argv.includes('--quick');
const SYSTEMS = ['ours', 'graphile', 'pgboss', 'bullmq'] as const;
type System = (typeof SYSTEMS)[number];
const ONLY = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1].split(',')
  : [...SYSTEMS];
for (const name of ONLY) {
  if (!(SYSTEMS as readonly string[]).includes(name)) {
    throw new Error(`--only: unknown ${name} (one of ${SYSTEMS.join(', ')})`);
  }
}
const selected = (system: System): boolean => ONLY.includes(system);
const SIZES = QUICK
  ? { rate: 500, seconds: 5, burst: 5000, ingestSeconds: 5, filler: 100_000 }
  : { rate: 1000, seconds: 20, burst: 50_000, ingestSeconds: 15, filler: 1_000_000 };
/** Seconds of load before the lateness measurement starts (see lateness()). */
const WARMUP_SECONDS = QUICK ? 2 : 3;
const SERVER_URL = testDatabaseUrl();
const DB = `dt_bench_${process.pid}`;

type Results = Record<string, unknown>;
/** Steady-state lateness samples (ms) per system, for the distribution chart. */
type Samples = Array<{ label: string; latenessMs: number[] }>;

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

const nowSec = (): number => Date.now() / 1000;

/**
 * Lateness of `rate` tasks/s spread evenly over `seconds`, fractional due times, measured after
 * WARMUP_SECONDS of the same load: a process that just started pays for JIT compilation, its first
 * database connections and keep-alive sockets (p99 above 100 ms in its first second here, then
 * 10–20 ms), and the target is the steady state. The warm-up's own figures are kept as `cold`.
 */
async function lateness(dbUrl: string, receiver: Receiver, cate: string, firstKey: number) {
  await checkpoint(SERVER_URL);
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

async function burst(
  dbUrl: string,
  receiver: Receiver,
  cate: string,
  firstKey: number,
  metered?: Metered,
) {
  await checkpoint(SERVER_URL);
  const dueSec = Math.ceil(nowSec() + 3 + SIZES.burst / 20_000);
  await insertTasks(dbUrl, {
    cate,
    handler: receiver.url,
    count: SIZES.burst,
    firstKey,
    startSec: dueSec,
    stepSec: 0,
  });
  return collectBurst(receiver, SIZES.burst, dueSec, 180_000, metered);
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

/**
 * What a minimal NestJS app (one GET route, platform-express: bench/probe-ceiling.ts) answers
 * under the ingest scenario's load, in its own process: the ceiling single-task ingest is held to.
 */
async function nestCeilingPerSecond(): Promise<number> {
  const child = fork(join(__dirname, 'probe-ceiling.ts'), ['--serve', 'nest'], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  try {
    const [message] = (await once(child, 'message')) as [number | AddressInfo];
    const port = typeof message === 'number' ? message : message.port;
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/health/live`,
      connections: 64,
      duration: SIZES.ingestSeconds,
    });
    return round(result['2xx'] / SIZES.ingestSeconds, 0);
  } finally {
    child.kill();
  }
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

async function ours(results: Results, samples: Samples, receiver: Receiver): Promise<void> {
  const dbUrl = await freshDatabase(SERVER_URL, DB);
  let service = await startService(serviceEnv(dbUrl));
  log('ours: lateness');
  const late = await lateness(dbUrl, receiver, 'late', 1);
  samples.push({ label: 'delay-tasks', latenessMs: late.samples });
  log(`ours: burst of ${SIZES.burst}, one replica`);
  const pid = service.child.pid!;
  const burst1 = await burst(dbUrl, receiver, 'burst', 1, {
    worker: () => Promise.resolve([pid]),
    store: () => backendPids(SERVER_URL, DB),
  });
  results.rss_mb_empty = rssMb(service.child.pid!);
  log('ours: ingest');
  const single = await ingest(service);
  const batch = await ingestBatch(service);
  await service.stop();
  log('a minimal NestJS route under the same load (the ingest ceiling)');
  const nestCeiling = await nestCeilingPerSecond();

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
    burst_cpu_us_per_job: burst1.cpuUsPerJob,
    burst_db_cpu_us_per_job: burst1.storeCpuUsPerJob,
    burst_duplicates: burst1.duplicates + burst2.duplicates,
    burst2_per_s: burst2.perSecond,
    cpu_us_per_delivery: burst1.cpuUsPerJob,
    ingest_per_s: single.perSecond,
    ingest_p99_ms: single.p99,
    nest_ceiling_per_s: nestCeiling,
    ingest_batch_tasks_per_s: batch,
    scale_burst_per_s: scaleBurst.perSecond,
    scale_lateness_p50_ms: scaleLate.p50,
    scale_lateness_p99_ms: scaleLate.p99,
  });
}

/** A peer as the harness drives it: its process, its store's processes, and how to tear down. */
interface StartedPeer {
  peer: PeerProcess;
  storePids: () => Promise<number[]>;
  cleanup: () => Promise<void>;
}

interface PeerSpec {
  system: System;
  label: string;
  /** Prefix of its keys in latest.json (graphile-worker's stay `peer_*`). */
  prefix: string;
  start(): Promise<StartedPeer>;
}

/** A peer whose store is a fresh database of its own on the benchmark's PostgreSQL server. */
function postgresPeer(system: System, label: string, prefix: string, script: string): PeerSpec {
  const name = `${DB}_${system}`;
  return {
    system,
    label,
    prefix,
    start: async () => {
      const connectionString = await freshDatabase(SERVER_URL, name);
      const cleanup = () => dropDatabase(SERVER_URL, name);
      try {
        const peer = await startPeerProcess(join(__dirname, script), {
          connectionString,
          concurrency: CONCURRENCY,
        });
        return { peer, storePids: () => backendPids(SERVER_URL, name), cleanup };
      } catch (error) {
        await cleanup();
        throw error;
      }
    },
  };
}

const PEERS: PeerSpec[] = [
  postgresPeer('graphile', 'graphile-worker', 'peer', 'peer-worker.ts'),
  postgresPeer('pgboss', 'pg-boss', 'peer_pgboss', 'peer-pgboss.ts'),
  {
    system: 'bullmq',
    label: 'BullMQ',
    prefix: 'peer_bullmq',
    start: async () => {
      const redis = await startRedisServer();
      try {
        const peer = await startPeerProcess(join(__dirname, 'peer-bullmq.ts'), {
          redisPort: redis.port,
          concurrency: CONCURRENCY,
        });
        return { peer, storePids: () => Promise.resolve([redis.pid]), cleanup: redis.stop };
      } catch (error) {
        await redis.stop();
        throw error;
      }
    },
  },
];

/**
 * The same lateness, burst and ingest scenarios as ours, through the peer's own API: jobs are
 * enqueued with its bulk call before the first is due (the harness checks), due at the same times
 * as ours; ingest is its enqueue call in its own process, jobs due tomorrow.
 */
async function runPeer(
  spec: PeerSpec,
  results: Results,
  samples: Samples,
  receiver: Receiver,
): Promise<void> {
  const { peer, storePids, cleanup } = await spec.start();
  owed.add(cleanup);
  try {
    log(`${spec.label}: lateness`);
    const count = SIZES.rate * (WARMUP_SECONDS + SIZES.seconds);
    await checkpoint(SERVER_URL);
    const startSec = nowSec() + 4 + count / 10_000;
    const range = (n: number, start: number, step: number): DueRange => ({
      url: receiver.url,
      cate: 'peer',
      count: n,
      firstKey: 1,
      startSec: start,
      stepSec: step,
    });
    await peer.enqueue(range(count, startSec, 1 / SIZES.rate));
    const arrivals = await collect(receiver, count, (WARMUP_SECONDS + SIZES.seconds + 30) * 1000);
    const late = splitWarmup(arrivals, startSec + WARMUP_SECONDS);
    samples.push({ label: spec.label, latenessMs: late.samples });
    log(`${spec.label}: burst of ${SIZES.burst}`);
    await checkpoint(SERVER_URL);
    const dueSec = Math.ceil(nowSec() + 3 + SIZES.burst / 5_000);
    await peer.enqueue(range(SIZES.burst, dueSec, 0));
    const burst1 = await collectBurst(receiver, SIZES.burst, dueSec, 300_000, {
      worker: () => Promise.resolve([peer.pid]),
      store: storePids,
    });
    log(`${spec.label}: ingest`);
    const single = await peer.ingest('single', receiver.url, SIZES.ingestSeconds);
    const batch = await peer.ingest('batch', receiver.url, SIZES.ingestSeconds);
    const p = spec.prefix;
    Object.assign(results, {
      [`${p}_lateness_p50_ms`]: late.p50,
      [`${p}_lateness_p99_ms`]: late.p99,
      [`${p}_lateness_max_ms`]: late.max,
      [`${p}_lateness_cold_p99_ms`]: late.cold.p99,
      [`${p}_early`]: late.early + late.cold.early,
      [`${p}_lateness_delivered`]: late.count,
      [`${p}_burst_per_s`]: burst1.perSecond,
      [`${p}_burst_lateness_p99_ms`]: burst1.p99,
      [`${p}_burst_early`]: burst1.early,
      [`${p}_burst_delivered`]: burst1.delivered,
      [`${p}_burst_duplicates`]: burst1.duplicates,
      [`${p}_cpu_us_per_job`]: burst1.cpuUsPerJob,
      [`${p}_db_cpu_us_per_job`]: burst1.storeCpuUsPerJob,
      [`${p}_ingest_per_s`]: single,
      [`${p}_ingest_batch_per_s`]: batch,
    });
  } finally {
    try {
      await peer.stop();
    } finally {
      owed.delete(cleanup);
      await cleanup();
    }
  }
}

const PREFIXES = PEERS.map((p) => p.prefix);

/** One table row: ours, then each peer's value of `${prefix}_${key}`. */
function peerRow(r: Results, label: string, ours: unknown, key: string, target = ''): unknown[] {
  return [label, ours, ...PREFIXES.map((p) => r[`${p}_${key}`]), target];
}

/** A table cell: figures as printed, 'n/a' where a system did not measure (or run) it. */
function cell(value: unknown): string {
  if (value === undefined || value === null) return 'n/a';
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

function printTable(r: Results): void {
  const ratio = (a: unknown, b: unknown): string =>
    typeof a === 'number' && typeof b === 'number' && b > 0 ? `${round(a / b, 2)}x` : '';
  const oursOnly = (label: string, ours: unknown, target = ''): unknown[] => [
    label,
    ours,
    ...PREFIXES.map(() => ''),
    target,
  ];
  const early = (p: string): unknown =>
    r[`${p}_early`] === undefined
      ? undefined
      : Number(r[`${p}_early`]) + Number(r[`${p}_burst_early`] ?? 0);
  const rows: unknown[][] = [
    peerRow(r, 'lateness p50 (ms)', r.lateness_p50_ms, 'lateness_p50_ms', '≤ 3'),
    peerRow(r, 'lateness p99 (ms)', r.lateness_p99_ms, 'lateness_p99_ms', '≤ 10, below every peer'),
    [
      'lateness p99, peer ÷ delay-tasks',
      '',
      ...PREFIXES.map((p) => ratio(r[`${p}_lateness_p99_ms`], r.lateness_p99_ms)),
      '',
    ],
    peerRow(r, 'lateness max (ms)', r.lateness_max_ms, 'lateness_max_ms'),
    peerRow(
      r,
      `lateness p99, first ${WARMUP_SECONDS} s after start (ms)`,
      r.lateness_cold_p99_ms,
      'lateness_cold_p99_ms',
      '≤ 50',
    ),
    ['early deliveries', r.early, ...PREFIXES.map(early), '0'],
    peerRow(r, 'burst, 1 replica (/s)', r.burst_per_s, 'burst_per_s', '≥ 2x the fastest peer'),
    [
      'burst, delay-tasks ÷ peer',
      '',
      ...PREFIXES.map((p) => ratio(r.burst_per_s, r[`${p}_burst_per_s`])),
      '≥ 2x',
    ],
    peerRow(r, 'burst lateness p99 (ms)', r.burst_lateness_p99_ms, 'burst_lateness_p99_ms'),
    peerRow(r, 'burst CPU, worker (µs/job)', r.burst_cpu_us_per_job, 'cpu_us_per_job', '≤ 200'),
    peerRow(r, 'burst CPU, store (µs/job)', r.burst_db_cpu_us_per_job, 'db_cpu_us_per_job'),
    oursOnly('burst, 2 replicas (/s)', r.burst2_per_s),
    peerRow(r, 'ingest single (tasks/s)', r.ingest_per_s, 'ingest_per_s'),
    oursOnly('ingest single p99 (ms)', r.ingest_p99_ms, '≤ 50'),
    oursOnly('minimal NestJS GET route, same load (req/s)', r.nest_ceiling_per_s),
    oursOnly(
      'ingest single / NestJS route',
      typeof r.ingest_per_s === 'number' && typeof r.nest_ceiling_per_s === 'number'
        ? `${Math.round((r.ingest_per_s / r.nest_ceiling_per_s) * 100)}%`
        : 'n/a',
      '≥ 50%',
    ),
    peerRow(
      r,
      'ingest batch (tasks/s)',
      r.ingest_batch_tasks_per_s ?? 'n/a',
      'ingest_batch_per_s',
      '≥ 50000',
    ),
    oursOnly(
      `burst with ${SIZES.filler} pending (/s)`,
      r.scale_burst_per_s,
      `${ratio(r.scale_burst_per_s, r.burst_per_s)} (within 10%)`,
    ),
    oursOnly(`lateness p99 with ${SIZES.filler} pending`, r.scale_lateness_p99_ms),
    oursOnly(
      'RSS empty / filled (MiB)',
      r.rss_mb_empty === undefined ? undefined : `${cell(r.rss_mb_empty)} / ${cell(r.rss_mb_1m)}`,
      'within 10%',
    ),
  ];
  const header = ['metric', 'delay-tasks', ...PEERS.map((p) => p.label), 'target'];
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---|').join('')}`);
  for (const row of rows) {
    console.log(`| ${row.map(cell).join(' | ')} |`);
  }
  console.log(
    "\nStore CPU: PostgreSQL backends of the system's database, or the redis-server. Ingest:" +
      " delay-tasks through its HTTP API, each peer through its library's enqueue call.",
  );
}

/** Clean-ups owed while a scenario runs (see cleanUpOnSignal); set up when main starts. */
let owed = new Set<() => Promise<void>>();

async function main(): Promise<void> {
  owed = cleanUpOnSignal(log);
  const results: Results = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: await machine(SERVER_URL),
  };
  if (ONLY.length < SYSTEMS.length) results.only = ONLY;
  const samples: Samples = [];
  const receiver = await startReceiver();
  try {
    if (selected('ours')) {
      const dropOurs = () => dropDatabase(SERVER_URL, DB);
      owed.add(dropOurs);
      try {
        await ours(results, samples, receiver);
      } finally {
        owed.delete(dropOurs);
        await dropOurs();
      }
    }
    for (const spec of PEERS) {
      if (selected(spec.system)) await runPeer(spec, results, samples, receiver);
    }
  } finally {
    receiver.stop();
  }
  printTable(results);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const rate = `${SIZES.rate} tasks/s`;
  writeFileSync(
    join(dir, 'lateness-distribution.svg'),
    latenessCdf(`Lateness at ${rate}, after a ${WARMUP_SECONDS} s warm-up (one run)`, samples),
  );
  log('wrote bench/results/latest.json and bench/results/lateness-distribution.svg');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
