/**
 * The dashboard's answer times at scale. `npm run build && npx ts-node --transpile-only
 * bench/probe-dashboard.ts [tasks] [categories] [calls]` fills a fresh database with `tasks`
 * (1,000,000) tasks in `categories` (1,000) categories (test/support/dashboard-fill.ts: a tenth
 * due, four tenths due within the hour, some paused, parked, running, failed), starts the
 * service (`node dist/main.js`, dispatcher off, so the counts hold still) and prints p50/p99
 * over `calls` (50) calls of:
 *
 * - GET /dashboard/overview, first call: no snapshot yet, the request waits for the recount;
 * - overview, cold: before each call the snapshot is aged past 5 s, so each call starts a recount
 *   and waits for it at most 50 ms before answering the stored counts;
 * - overview, warm: calls back to back (a recount starts every 5 s, in the background);
 * - GET /dashboard/forecast, cold (a new service process, first calls) and warm.
 */
import { testDatabaseUrl } from '../test/setup/test-server';
import { fillDashboardTasks } from '../test/support/dashboard-fill';
import { dropDatabase, freshDatabase, withClient } from './lib/db';
import { startService } from './lib/processes';
import { percentile, round } from './lib/stats';

const DATABASE = 'dt_probe_dashboard';

async function timedGet(url: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 200)}`);
  return { ms, body };
}

function summary(name: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} n=${String(times.length).padStart(3)}  ` +
      `p50 ${round(percentile(sorted, 50), 1)} ms  p99 ${round(percentile(sorted, 99), 1)} ms  ` +
      `slowest ${sorted
        .slice(-3)
        .map((ms) => round(ms, 1))
        .join(', ')} ms`,
  );
}

async function series(
  calls: number,
  url: string,
  before?: () => Promise<unknown>,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    if (before) await before();
    times.push((await timedGet(url)).ms);
  }
  return times;
}

async function main(): Promise<void> {
  const [tasks = 1_000_000, categories = 1000, calls = 50] = process.argv.slice(2).map(Number);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, DATABASE);
  const env = { DATABASE_URL: db, DISPATCH_ENABLED: 'false' };
  let service = await startService(env); // runs the migrations
  try {
    await service.stop();
    const started = performance.now();
    await withClient(db, (c) =>
      fillDashboardTasks(
        async (sql, params) => (await c.query<Record<string, unknown>>(sql, params)).rows,
        tasks,
        categories,
      ),
    );
    console.log(
      `filled ${tasks} tasks in ${categories} categories in ${Math.round((performance.now() - started) / 1000)} s`,
    );

    service = await startService(env);
    const overview = `${service.baseUrl}/dashboard/overview`;
    const forecast = `${service.baseUrl}/dashboard/forecast`;

    const forecastCold = await series(3, forecast);
    const first = await timedGet(overview);
    const answer = JSON.parse(first.body) as {
      result: { asOf: string; totals: Record<string, number>; categories: unknown[] };
    };
    console.log(
      `overview: ${answer.result.categories.length} categories, totals ${JSON.stringify(answer.result.totals)}`,
    );
    console.log(`GET /dashboard/overview, first call (no snapshot yet): ${round(first.ms, 1)} ms`);

    const age = () =>
      withClient(db, (c) =>
        c.query(`UPDATE dashboard_snapshots SET taken_at = taken_at - interval '1 minute'`),
      );
    // Let a recount started by the previous call finish, so that each call starts its own.
    const ageAfterRecount = async () => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await age();
    };
    summary(
      'GET /dashboard/overview cold (stale, recount)',
      await series(calls, overview, ageAfterRecount),
    );
    summary('GET /dashboard/overview warm', await series(calls, overview));
    summary('GET /dashboard/forecast cold (first 3 calls)', forecastCold);
    summary('GET /dashboard/forecast warm', await series(calls, forecast));
  } finally {
    await service.stop();
    await dropDatabase(server, DATABASE);
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
