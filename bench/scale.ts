/**
 * How cost grows with the pending tasks in the table and with the replicas: burst and lateness
 * with 0, 100,000, 1,000,000 and 10,000,000 pending future tasks, each with 1, 2 and 3 replicas.
 * The target (issue 14) is within 10% of the empty table up to 10,000,000.
 *
 *   npm run build && npm run bench:scale             # full run (about 20 minutes here)
 *   npm run bench:scale -- --quick                   # 0, 10k, 100k, 1M pending, smaller loads
 *   npm run bench:scale -- --levels 0,100000 --replicas 1,2
 *   npm run bench:scale -- --redraw                  # the charts again from scale.json
 *
 * One fresh database on DATABASE_URL's server (default
 * postgres://postgres@127.0.0.1:5432/postgres), the service as real processes (node dist/main.js,
 * the settings of bench/run.ts), the callback receiver in its own process. The table is filled
 * level by level, each fill adding rows to the last one's. Prints a table and writes
 * bench/results/scale.json and the charts bench/results/scale-{burst,cpu,lateness,replicas}.svg
 * (both rewritten after each measurement, so that a run cut short keeps what it measured).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PoolClient } from 'pg';
import { DispatchPool } from '../src/database/dispatch-pool';
import { CLAIM_DUE, NEXT_DUE_DELAY } from '../src/modules/dispatch/queue.sql';
import { testDatabaseUrl } from '../test/setup/test-server';
import { backendPids, dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, Receiver, Service, startReceiver, startService } from './lib/processes';
import {
  checkpoint,
  cleanUpOnSignal,
  collectBurst,
  machine,
  serviceEnv,
  splitWarmup,
} from './lib/scenarios';
import { round } from './lib/stats';
import { lineChart, Series } from './lib/svg-chart';
import type { Arrival } from './receiver-process';

const QUICK = process.argv.includes('--quick');
const SIZES = QUICK
  ? { levels: [0, 10_000, 100_000, 1_000_000], burst: 5000, rate: 500, seconds: 5, warmup: 2 }
  : {
      levels: [0, 100_000, 1_000_000, 10_000_000],
      burst: 50_000,
      rate: 1000,
      seconds: 10,
      warmup: 3,
    };
const LEVELS = listOption('--levels') ?? SIZES.levels;
const REPLICAS = listOption('--replicas') ?? [1, 2, 3];
const SERVER_URL = testDatabaseUrl();
const DB = `dt_scale_${process.pid}`;
const FILLER = 'filler';
/** Rows per fill statement: one transaction each, and a progress line each. */
const FILL_CHUNK = 1_000_000;
/**
 * Filler tasks fall due over the three days from tomorrow (the run ends long before), in an order
 * unrelated to their insertion (the golden-ratio sequence), so that the due-time index is grown by
 * inserts all over it, as a live queue's is, yet every run builds the same table.
 */
const FILL_FROM_SEC = Math.floor(Date.now() / 1000) + 86_400;
const FILL_SPAN_SEC = 3 * 86_400;
const NEVER_CALLED = 'http://127.0.0.1:9/never-called';
/**
 * Dead rows and their index entries away. INDEX_CLEANUP ON: with millions of live rows, VACUUM
 * may otherwise skip the indexes (when few pages hold dead rows) and leave the dead entries of
 * the last burst at the front of the due-time index, for every next-due read to step over.
 */
const VACUUM = 'VACUUM (ANALYZE, INDEX_CLEANUP ON) tasks';
const RESULTS_DIR = join(__dirname, 'results');

/** `--name 1,2,3` as numbers (1e6 allowed), ascending; undefined when the option is absent. */
function listOption(name: string): number[] | undefined {
  const index = process.argv.indexOf(name);
  if (index === -1) return undefined;
  const values = (process.argv[index + 1] ?? '').split(',').map(Number);
  const sorted = values.every(
    (v, i) => Number.isInteger(v) && v >= 0 && (i === 0 || v > values[i - 1]),
  );
  if (values.length === 0 || !sorted) {
    throw new Error(`${name}: ascending whole numbers separated by commas, e.g. 0,100000`);
  }
  return values;
}

function log(message: string): void {
  console.log(`[scale ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

const nowSec = (): number => Date.now() / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds `fn` took, and what it returned. */
async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [round((performance.now() - started) / 1000, 1), value];
}

interface Fill {
  pending: number;
  added: number;
  insertSeconds: number;
  vacuumSeconds: number;
  checkpointSeconds: number;
  tableMb: number;
}

interface Measurement {
  pending: number;
  replicas: number;
  lateness: Awaited<ReturnType<typeof lateness>>;
  burst: Awaited<ReturnType<typeof burst>>;
  /** Arrivals found before a measurement's tasks were inserted (late repeats of an earlier one). */
  strayArrivals: number;
  /** Tasks of its own left in the table after a measurement, undelivered (then deleted). */
  leftOver: number;
  /** Ratios to the empty table with as many replicas (null at 0 or without a 0 level). */
  vsEmpty: {
    burstPerSecond: number | null;
    serviceCpuPerDelivery: number | null;
    latenessP99: number | null;
  };
}

/** EXPLAIN ANALYZE figures of one dispatcher statement at one level (see explainDispatch). */
interface Plan {
  pending: number;
  statement: 'claim_due' | 'next_due_delay';
  planCacheMode: string;
  executionMs: number;
  /** Shared buffers the statement touched (hit + read), all nodes. */
  buffers: number;
  plan: string;
}

interface Results {
  date: string;
  quick: boolean;
  argv: string[];
  machine: Record<string, unknown>;
  sizes: typeof SIZES;
  levels: number[];
  replicas: number[];
  fills: Fill[];
  plans: Plan[];
  measurements: Measurement[];
  totalSeconds?: number;
}

/**
 * Adds filler rows with keys `from` + 1 to `to`: pending tasks of their own category, whose
 * handler is never called (they fall due tomorrow at the earliest), inserted server-side in
 * chunks. Then VACUUM, as autovacuum would after a fill this size (it is off on some servers; this
 * one's settings are in the results), which also clears what the last level's measurements left,
 * and a CHECKPOINT, so that the fill's writes are not flushed during the measurements.
 */
async function fillTo(dbUrl: string, from: number, to: number): Promise<Fill> {
  const [insertSeconds] = await timed(() =>
    withClient(dbUrl, async (c) => {
      await c.query(
        `INSERT INTO handlers (cate, url) VALUES ($1::text, $2::text) ON CONFLICT (cate) DO NOTHING`,
        [FILLER, NEVER_CALLED],
      );
      for (let first = from + 1; first <= to; first += FILL_CHUNK) {
        const last = Math.min(to, first + FILL_CHUNK - 1);
        await c.query(
          `INSERT INTO tasks (cate, key, due_at, run_at, params)
           SELECT $1::text, g, d.at, d.at, json_build_object('order', g, 'kind', 'reminder')
           FROM generate_series($2::bigint, $3::bigint) AS g,
             LATERAL (SELECT to_timestamp($4::float8
               + ((g * 0.6180339887498949) % 1)::float8 * $5::float8) AS at) d`,
          [FILLER, first, last, FILL_FROM_SEC, FILL_SPAN_SEC],
        );
        if (to - from > FILL_CHUNK) log(`  filled ${last.toLocaleString('en-US')}`);
      }
    }),
  );
  const [vacuumSeconds] = await timed(() => withClient(dbUrl, (c) => c.query(VACUUM)));
  const [checkpointSeconds] = await timed(() => checkpoint(SERVER_URL));
  const tableMb = await withClient(dbUrl, async (c) => {
    const { rows } = await c.query<{ mb: number }>(
      `SELECT round(pg_total_relation_size('tasks') / 1048576.0)::int AS mb`,
    );
    return rows[0].mb;
  });
  return {
    pending: to,
    added: to - from,
    insertSeconds,
    vacuumSeconds,
    checkpointSeconds,
    tableMb,
  };
}

/**
 * The same starting point for every measurement, whatever the level: the dead rows of the last
 * one vacuumed away (VACUUM), the attempt history emptied (its growth over the run is not what is
 * measured), and a CHECKPOINT.
 */
async function settle(dbUrl: string): Promise<void> {
  await withClient(dbUrl, async (c) => {
    await c.query(VACUUM);
    await c.query('TRUNCATE task_attempts');
  });
  await checkpoint(SERVER_URL);
}

/**
 * Waits (up to 10 s) for the completions of a measurement's last deliveries, which are written
 * in batches, then deletes what is left of its category: tasks that were never delivered. Returns
 * their number, 0 in a healthy run.
 */
async function clear(dbUrl: string, cate: string): Promise<number> {
  const count = () =>
    withClient(dbUrl, async (c) => {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE cate = $1::text`,
        [cate],
      );
      return rows[0].n;
    });
  const deadline = Date.now() + 10_000;
  let left = await count();
  while (left > 0 && Date.now() < deadline) {
    await sleep(200);
    left = await count();
  }
  if (left > 0) {
    await withClient(dbUrl, (c) => c.query(`DELETE FROM tasks WHERE cate = $1::text`, [cate]));
  }
  return left;
}

/** Distinct deliveries, and arrivals that repeated one. */
function deliveries(arrivals: Arrival[]): { delivered: number; duplicates: number } {
  const ids = new Set(arrivals.map((a) => a.deliveryId));
  return { delivered: ids.size, duplicates: arrivals.length - ids.size };
}

/**
 * Lateness of SIZES.rate tasks/s due evenly (fractional due times) over SIZES.seconds, measured
 * after SIZES.warmup seconds of the same load, as in bench/run.ts: replicas that just started pay
 * for JIT compilation and their first connections, and the steady state is what is compared.
 */
async function lateness(dbUrl: string, receiver: Receiver, cate: string) {
  const expected = SIZES.rate * (SIZES.warmup + SIZES.seconds);
  const startSec = nowSec() + 4;
  await insertTasks(dbUrl, {
    cate,
    handler: receiver.url,
    count: expected,
    firstKey: 1,
    startSec,
    stepSec: 1 / SIZES.rate,
  });
  const arrivals = await collect(receiver, expected, (SIZES.warmup + SIZES.seconds + 30) * 1000);
  const late = splitWarmup(arrivals, startSec + SIZES.warmup);
  return {
    p50: late.p50,
    p99: late.p99,
    max: late.max,
    coldP99: late.cold.p99,
    early: late.early + late.cold.early,
    expected,
    ...deliveries(arrivals),
  };
}

/**
 * SIZES.burst tasks all due at one instant: deliveries per second from the due time to the last,
 * and the CPU time per delivery of the replicas together and of the database's backends.
 */
async function burst(dbUrl: string, receiver: Receiver, cate: string, replicas: Service[]) {
  const dueSec = Math.ceil(nowSec() + 3 + SIZES.burst / 10_000);
  await insertTasks(dbUrl, {
    cate,
    handler: receiver.url,
    count: SIZES.burst,
    firstKey: 1,
    startSec: dueSec,
    stepSec: 0,
  });
  const figures = await collectBurst(receiver, SIZES.burst, dueSec, 300_000, {
    worker: () => Promise.resolve(replicas.map((s) => s.child.pid!)),
    store: () => backendPids(SERVER_URL, DB),
  });
  return { ...figures, expected: SIZES.burst };
}

/** Lateness, then a burst, with `count` replicas on the table as it stands. */
async function measure(
  dbUrl: string,
  receiver: Receiver,
  pending: number,
  count: number,
): Promise<Omit<Measurement, 'vsEmpty'>> {
  const replicas: Service[] = [];
  try {
    for (let i = 0; i < count; i++) replicas.push(await startService(serviceEnv(dbUrl)));
    const tag = `p${pending}-r${count}`;
    await settle(dbUrl);
    let strayArrivals = (await receiver.take()).length;
    const late = await lateness(dbUrl, receiver, `late-${tag}`);
    let leftOver = await clear(dbUrl, `late-${tag}`);
    await settle(dbUrl);
    strayArrivals += (await receiver.take()).length;
    const burstFigures = await burst(dbUrl, receiver, `burst-${tag}`, replicas);
    leftOver += await clear(dbUrl, `burst-${tag}`);
    return {
      pending,
      replicas: count,
      lateness: late,
      burst: burstFigures,
      strayArrivals,
      leftOver,
    };
  } finally {
    await Promise.all(replicas.map((s) => s.stop()));
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the dispatcher's two hot statements at the current level, with no
 * replica running: the next-due read of an idle worker, and the first claim (100 tasks) of a
 * burst's worth of due tasks (inserted, claimed and rolled back in one transaction, so nothing
 * else ever sees them; the statistics are those of the last ANALYZE, taken when nothing was due,
 * as before a real burst). Each with a custom and a generic plan, as a prepared statement gets
 * either. Buffers touched is a figure the machine's noise does not move: if a claim read more of
 * the table as it grows, it would show here first.
 */
async function explainDispatch(dbUrl: string, pending: number): Promise<Plan[]> {
  const modes = ['force_custom_plan', 'force_generic_plan'];
  // A connection of the dispatcher's own pool: its session settings shape the plans.
  return withDispatchClient(dbUrl, async (c) => {
    const plans: Plan[] = [];
    const explain = async (statement: Plan['statement'], sql: string, args: string) => {
      for (const mode of modes) {
        await c.query(`SET LOCAL plan_cache_mode = ${mode}`);
        await c.query(`PREPARE scale_probe AS ${sql}`);
        const { rows } = await c.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, BUFFERS) EXECUTE scale_probe(${args})`,
        );
        await c.query('DEALLOCATE scale_probe');
        const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        plans.push({ pending, statement, planCacheMode: mode, ...planFigures(plan), plan });
      }
    };
    await c.query('BEGIN');
    try {
      await explain('next_due_delay', NEXT_DUE_DELAY, `'{}'`);
      await c.query(
        `INSERT INTO handlers (cate, url) VALUES ('explain', $1::text) ON CONFLICT (cate) DO NOTHING`,
        [NEVER_CALLED],
      );
      await c.query(
        `INSERT INTO tasks (cate, key, due_at, run_at, params)
         SELECT 'explain', g, now() - interval '1 second', now() - interval '1 second', '{}'
         FROM generate_series(1, $1::int) AS g`,
        [SIZES.burst],
      );
      await explain('claim_due', CLAIM_DUE, `100, 'explain', 10000, 10000, '{}'`);
    } finally {
      await c.query('ROLLBACK');
    }
    return plans;
  });
}

/** Runs `work` on a connection of the dispatcher's pool (DispatchPool), then closes the pool. */
async function withDispatchClient<T>(
  dbUrl: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const dispatchPool = new DispatchPool(dbUrl, 1);
  try {
    const client = await dispatchPool.pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  } finally {
    await dispatchPool.onApplicationShutdown();
  }
}

/** Execution time and shared buffers of the top node (which counts its children's) of a plan. */
function planFigures(plan: string): { executionMs: number; buffers: number } {
  const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
  const buffers = /Buffers: shared((?: \w+=\d+)+)/.exec(plan)?.[1] ?? '';
  const count = (kind: string) => Number(new RegExp(`${kind}=(\\d+)`).exec(buffers)?.[1] ?? 0);
  return { executionMs, buffers: count('hit') + count('read') };
}

/** Each measurement's ratios to the empty table's with as many replicas. */
function withRatios(measured: Array<Omit<Measurement, 'vsEmpty'>>): Measurement[] {
  const ratio = (a: number | null, b: number | null | undefined): number | null =>
    a === null || b == null || b <= 0 ? null : round(a / b, 2);
  return measured.map((m) => {
    const empty =
      m.pending === 0
        ? undefined
        : measured.find((e) => e.pending === 0 && e.replicas === m.replicas);
    return {
      ...m,
      vsEmpty: {
        burstPerSecond: ratio(m.burst.perSecond, empty?.burst.perSecond),
        serviceCpuPerDelivery: ratio(m.burst.cpuUsPerJob, empty?.burst.cpuUsPerJob),
        latenessP99: ratio(m.lateness.p99, empty?.lateness.p99),
      },
    };
  });
}

/** 0, 10k, 100k, 1M, 10M. */
function shortCount(n: number): string {
  if (n >= 1e6) return `${round(n / 1e6, 1)}M`;
  if (n >= 1e3) return `${round(n / 1e3, 1)}k`;
  return String(n);
}

function printTable(measurements: Measurement[]): void {
  const times = (r: number | null): string => (r === null ? '' : `${r.toFixed(2)}×`);
  const header = [
    'pending',
    'replicas',
    'burst (/s)',
    '× empty',
    'burst lateness p99 (ms)',
    'service CPU (µs/delivery)',
    '× empty',
    'DB CPU (µs/delivery)',
    'lateness p50 (ms)',
    'lateness p99 (ms)',
    '× empty',
    'early',
    'duplicates',
    'undelivered',
  ];
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---|').join('')}`);
  for (const m of measurements) {
    const undelivered =
      m.burst.expected - m.burst.delivered + m.lateness.expected - m.lateness.delivered;
    const row = [
      m.pending.toLocaleString('en-US'),
      m.replicas,
      m.burst.perSecond,
      times(m.vsEmpty.burstPerSecond),
      m.burst.p99,
      m.burst.cpuUsPerJob ?? 'n/a',
      times(m.vsEmpty.serviceCpuPerDelivery),
      m.burst.storeCpuUsPerJob ?? 'n/a',
      m.lateness.p50,
      m.lateness.p99,
      times(m.vsEmpty.latenessP99),
      m.burst.early + m.lateness.early,
      m.burst.duplicates + m.lateness.duplicates + m.strayArrivals,
      undelivered,
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
  console.log(
    `\nBurst: ${SIZES.burst.toLocaleString('en-US')} tasks due at one instant. Lateness: ` +
      `${SIZES.rate} tasks/s for ${SIZES.seconds} s after a ${SIZES.warmup} s warm-up. ` +
      'CPU: all replicas together, and the PostgreSQL backends of the database, during the burst.',
  );
}

function printFills(fills: Fill[]): void {
  console.log(
    '\n| pending | rows added | insert (s) | VACUUM ANALYZE (s) | CHECKPOINT (s) | tasks with indexes (MiB) |\n|---|---|---|---|---|---|',
  );
  for (const f of fills) {
    const row = [
      f.pending.toLocaleString('en-US'),
      f.added.toLocaleString('en-US'),
      f.insertSeconds,
      f.vacuumSeconds,
      f.checkpointSeconds,
      f.tableMb,
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}

function printPlans(plans: Plan[]): void {
  console.log(
    '\n| pending | statement | plan | execution (ms) | shared buffers |\n|---|---|---|---|---|',
  );
  for (const p of plans) {
    const mode = p.planCacheMode.replace('force_', '').replace('_plan', '');
    const row = [p.pending.toLocaleString('en-US'), p.statement, mode, p.executionMs, p.buffers];
    console.log(`| ${row.join(' | ')} |`);
  }
}

/**
 * The charts over pending tasks, on a logarithmic axis whose first decade stands for the empty
 * table (a log axis has no zero), one line per replica count.
 */
function pendingChart(
  results: Results,
  title: string,
  yLabel: string,
  value: (m: Measurement) => number | null,
  note?: (series: Measurement[]) => string | undefined,
): string {
  const { levels } = results;
  const nonZero = levels.filter((l) => l > 0);
  const xMin = nonZero.length === 0 ? 1 : 10 ** (Math.floor(Math.log10(nonZero[0])) - 1);
  const xMax = 10 ** Math.max(Math.ceil(Math.log10(Math.max(...levels, 10))), Math.log10(xMin) + 1);
  const series: Series[] = results.replicas.map((r) => {
    const mine = results.measurements.filter((m) => m.replicas === r);
    return {
      label: `${r} replica${r === 1 ? '' : 's'}`,
      note: note?.(mine),
      points: mine.flatMap((m): Array<[number, number]> => {
        const v = value(m);
        return v === null ? [] : [[Math.max(m.pending, xMin), v]];
      }),
    };
  });
  return lineChart({
    title,
    xLabel: 'pending future tasks in the table (log scale; the first tick is the empty table)',
    yLabel,
    xLog: true,
    xMin,
    xMax,
    yMin: 0,
    markers: true,
    xFormat: (v) => (v <= xMin && levels.includes(0) ? '0' : shortCount(v)),
    series: series.filter((s) => s.points.length > 0),
  });
}

/** "10M: 0.95× empty", the ratio at the largest level measured. */
function ratioNote(key: keyof Measurement['vsEmpty']) {
  return (series: Measurement[]): string | undefined => {
    const last = series[series.length - 1];
    const ratio = last?.vsEmpty[key];
    return ratio == null ? undefined : `${shortCount(last.pending)}: ${ratio.toFixed(2)}× empty`;
  };
}

/** The charts of a run, by file name; drawn from its results alone (see --redraw). */
function charts(results: Results): Record<string, string> {
  const { sizes, measurements } = results;
  const burstTitle = `Burst of ${sizes.burst.toLocaleString('en-US')}`;
  return {
    'scale-burst.svg': pendingChart(
      results,
      `${burstTitle}: deliveries per second`,
      'deliveries per second',
      (m) => m.burst.perSecond,
      ratioNote('burstPerSecond'),
    ),
    'scale-cpu.svg': pendingChart(
      results,
      `${burstTitle}: service CPU per delivery`,
      'µs of CPU per delivery, all replicas',
      (m) => m.burst.cpuUsPerJob,
      ratioNote('serviceCpuPerDelivery'),
    ),
    'scale-lateness.svg': pendingChart(
      results,
      `Lateness p99 at ${sizes.rate.toLocaleString('en-US')} tasks/s`,
      'lateness p99 (ms)',
      (m) => m.lateness.p99,
      ratioNote('latenessP99'),
    ),
    'scale-replicas.svg': lineChart({
      title: `${burstTitle}: deliveries per second by replicas`,
      xLabel: 'replicas (service processes on the same database)',
      yLabel: 'deliveries per second',
      yMin: 0,
      markers: true,
      xTicks: results.replicas,
      series: results.levels
        .map((level) => ({
          label: `${level.toLocaleString('en-US')} pending`,
          points: measurements
            .filter((m) => m.pending === level)
            .map((m): [number, number] => [m.replicas, m.burst.perSecond]),
        }))
        .filter((s) => s.points.length > 0),
    }),
  };
}

function writeOutputs(results: Results): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'scale.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (results.measurements.length === 0) return;
  for (const [name, svg] of Object.entries(charts(results))) {
    writeFileSync(join(RESULTS_DIR, name), svg);
  }
}

/** The server's settings that bear on a table of millions of rows, for the results file. */
async function serverSettings(): Promise<Record<string, string>> {
  const { rows } = await withClient(SERVER_URL, (c) =>
    c.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings
       WHERE name IN ('shared_buffers', 'max_wal_size', 'autovacuum', 'synchronous_commit')`,
    ),
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

/** The database drop owed while the run lasts (see cleanUpOnSignal); set up when main starts. */
let owed = new Set<() => Promise<void>>();

async function run(dbUrl: string, receiver: Receiver, results: Results): Promise<void> {
  // The first replica to start applies the migrations; the fill needs the table.
  await (await startService(serviceEnv(dbUrl))).stop();
  const measured: Array<Omit<Measurement, 'vsEmpty'>> = [];
  let pending = 0;
  for (const level of LEVELS) {
    if (level > pending) {
      log(`filling ${pending.toLocaleString('en-US')} → ${level.toLocaleString('en-US')} pending`);
      const fill = await fillTo(dbUrl, pending, level);
      results.fills.push(fill);
      log(
        `filled ${fill.added.toLocaleString('en-US')} rows: insert ${fill.insertSeconds} s, ` +
          `VACUUM ANALYZE ${fill.vacuumSeconds} s, CHECKPOINT ${fill.checkpointSeconds} s; ` +
          `tasks now ${fill.tableMb} MiB with its indexes`,
      );
      pending = level;
    }
    results.plans.push(...(await explainDispatch(dbUrl, level)));
    for (const count of REPLICAS) {
      log(`${level.toLocaleString('en-US')} pending, ${count} replica(s)`);
      const m = await measure(dbUrl, receiver, level, count);
      log(
        `  burst ${m.burst.perSecond}/s (p99 ${m.burst.p99} ms, ${m.burst.cpuUsPerJob} µs CPU), ` +
          `lateness p50 ${m.lateness.p50} p99 ${m.lateness.p99} ms`,
      );
      measured.push(m);
      results.measurements = withRatios(measured);
      writeOutputs(results);
    }
  }
}

/** --redraw: the charts again from bench/results/scale.json, without measuring anything. */
function redraw(): void {
  const results = JSON.parse(readFileSync(join(RESULTS_DIR, 'scale.json'), 'utf8')) as Results;
  writeOutputs(results);
  log(`redrew the charts of the run of ${results.date}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--redraw')) return redraw();
  owed = cleanUpOnSignal(log);
  const started = performance.now();
  const results: Results = {
    date: new Date().toISOString(),
    quick: QUICK,
    argv: process.argv.slice(2),
    machine: { ...(await machine(SERVER_URL)), settings: await serverSettings() },
    sizes: SIZES,
    levels: LEVELS,
    replicas: REPLICAS,
    fills: [],
    plans: [],
    measurements: [],
  };
  const receiver = await startReceiver();
  const drop = () => dropDatabase(SERVER_URL, DB);
  owed.add(drop);
  try {
    await run(await freshDatabase(SERVER_URL, DB), receiver, results);
  } finally {
    owed.delete(drop);
    await drop();
    receiver.stop();
  }
  results.totalSeconds = Math.round((performance.now() - started) / 1000);
  writeOutputs(results);
  printTable(results.measurements);
  printFills(results.fills);
  printPlans(results.plans);
  log(
    `done in ${round(results.totalSeconds / 60, 1)} min; wrote bench/results/scale.json and ` +
      'bench/results/scale-{burst,cpu,lateness,replicas}.svg',
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
