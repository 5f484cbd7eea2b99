/**
 * Does watching the dashboard cost deliveries anything? With `filler` (1,000,000) tasks due
 * tomorrow in 1,000 categories, one replica delivers `rate` (500) tasks/s for `seconds` (20),
 * alternately with nobody watching and with `watchers` (5) dashboards open (twice each), each
 * polling what the overview page polls (overview, series, forecast, session) every 5 s — the
 * overview's recount of the million tasks included. Prints the lateness of each run.
 *
 *   npm run build && npx ts-node --transpile-only bench/probe-dashboard-lateness.ts \
 *     [rate] [seconds] [watchers] [filler]
 */
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, startReceiver, startService } from './lib/processes';
import { summarizeLateness } from './lib/stats';

const DATABASE = 'dt_probe_dashboard_lateness';
const PAGE_POLLS = [
  '/dashboard/overview',
  '/dashboard/series?minutes=15',
  '/dashboard/forecast',
  '/dashboard/session',
];

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 500);
  const seconds = Number(process.argv[3] ?? 20);
  const watchers = Number(process.argv[4] ?? 5);
  const filler = Number(process.argv[5] ?? 1_000_000);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, DATABASE);
  const receiver = await startReceiver();
  // The service migrates the new database at start; the filler goes in after.
  const service = await startService({ DATABASE_URL: db, CALLBACK_ALLOW_CIDRS: '127.0.0.1/32' });
  await withClient(db, (c) =>
    c.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'filler' || (g % 1000), g, now() + interval '1 day' + g * interval '1 ms',
         now() + interval '1 day' + g * interval '1 ms', '{}'
       FROM generate_series(1, $1::int) g`,
      [filler],
    ),
  );
  await withClient(db, (c) => c.query('VACUUM ANALYZE tasks'));
  let firstKey = 1;
  // Alternated, twice each: the first run also pays for warming up.
  for (const watching of [0, watchers, 0, watchers]) {
    let polls = 0;
    let stop = false;
    const pollers = Array.from({ length: watching }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * 5000) / Math.max(watching, 1)));
      while (!stop) {
        await Promise.all(
          PAGE_POLLS.map((path) => fetch(`${service.baseUrl}${path}`).then((r) => r.text())),
        );
        polls += 1;
        await new Promise((r) => setTimeout(r, 5000));
      }
    });
    const count = rate * seconds;
    const startSec = Date.now() / 1000 + 4;
    await insertTasks(db, {
      cate: 'late',
      handler: receiver.url,
      count,
      firstKey,
      startSec,
      stepSec: 1 / rate,
    });
    firstKey += count;
    const arrivals = await collect(receiver, count, (seconds + 20) * 1000);
    stop = true;
    await Promise.all(pollers);
    const late = summarizeLateness(arrivals.map((a) => a.arrivedAtMs - a.due * 1000));
    console.log(
      `${watching} dashboards watching (${polls} page polls): ${arrivals.length}/${count} delivered ` +
        `at ${rate}/s over ${filler} pending tasks, lateness ms p50 ${late.p50} p99 ${late.p99} ` +
        `max ${late.max}`,
    );
  }
  await service.stop();
  receiver.stop();
  await dropDatabase(server, DATABASE);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
