/**
 * Schedules' timing, on one replica:
 * 1. occurrence lateness: `every` schedules firing every second for `seconds` s, lateness =
 *    arrival − X-Schedule-Time (the receiver reads the occurrence from x-task-due, which is it);
 * 2. what 10,000 active schedules cost ordinary tasks: tasks at `rate`/s for `seconds` s without
 *    schedules, then again with `schedules` schedules firing every minute, spread over the
 *    minute (cron `S * * * * *`, S = i mod 60), each on its own receiver so the two are apart.
 *
 *   npm run build && npx ts-node --transpile-only bench/probe-schedules.ts [every] [seconds] [rate] [schedules]
 */
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, Receiver, startReceiver, startService } from './lib/processes';
import { summarizeLateness } from './lib/stats';

const DB = 'dt_probe_schedules';

function line(label: string, lateness: number[]): string {
  const s = summarizeLateness(lateness);
  return `${label}: n ${s.count}, early ${s.early}, lateness ms p50 ${s.p50} p99 ${s.p99} max ${s.max}`;
}

async function post(baseUrl: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

/** Ordinary tasks at `rate`/s for `seconds` s, starting 3 s from now; their lateness. */
async function taskLateness(
  db: string,
  receiver: Receiver,
  rate: number,
  seconds: number,
  firstKey: number,
): Promise<number[]> {
  const count = rate * seconds;
  await receiver.take();
  await insertTasks(db, {
    cate: 'tasks',
    handler: receiver.url,
    count,
    firstKey,
    startSec: Date.now() / 1000 + 3,
    stepSec: 1 / rate,
  });
  const arrivals = await collect(receiver, count, (seconds + 20) * 1000);
  return arrivals.map((a) => a.arrivedAtMs - a.due * 1000);
}

async function main(): Promise<void> {
  const every = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 20);
  const rate = Number(process.argv[4] ?? 200);
  const schedules = Number(process.argv[5] ?? 10_000);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, DB);
  const occurrences = await startReceiver();
  const tasks = await startReceiver();
  const service = await startService({ DATABASE_URL: db, CALLBACK_ALLOW_CIDRS: '127.0.0.1/32' });
  try {
    // 1. Occurrence lateness.
    await post(service.baseUrl, '/handler/ticks', { handler: occurrences.url });
    for (let key = 1; key <= every; key++) {
      await post(service.baseUrl, '/schedule/ticks', { key, cron: '* * * * * *' });
    }
    await new Promise((r) => setTimeout(r, 2000));
    await occurrences.take();
    const ticks = await collect(occurrences, every * seconds, seconds * 1000 + 500);
    console.log(
      line(
        `${every} every-second schedules, ${seconds} s`,
        ticks.map((a) => a.arrivedAtMs - a.due * 1000),
      ),
    );
    await withClient(db, (c) => c.query(`DELETE FROM schedules`));
    await withClient(db, (c) => c.query(`DELETE FROM tasks`));
    await new Promise((r) => setTimeout(r, 2000));

    // 2. Ordinary tasks without, then with, `schedules` schedules firing every minute.
    const without = await taskLateness(db, tasks, rate, seconds, 1);
    console.log(line(`tasks at ${rate}/s, no schedule`, without));
    await post(service.baseUrl, '/handler/minutely', { handler: occurrences.url });
    await withClient(db, (c) =>
      c.query(
        `INSERT INTO schedules (cate, key, cron, timezone, params, missed, next_run_at)
         SELECT 'minutely', g, (g % 60) || ' * * * * *', 'UTC', '{}', 'once',
           CASE WHEN date_trunc('minute', now()) + make_interval(secs => g % 60) > now()
             THEN date_trunc('minute', now()) + make_interval(secs => g % 60)
             ELSE date_trunc('minute', now()) + make_interval(mins => 1, secs => g % 60) END
         FROM generate_series(1, $1::int) AS g`,
        [schedules],
      ),
    );
    await new Promise((r) => setTimeout(r, 12_000)); // the look-ahead is filled
    await occurrences.take();
    const withSchedules = await taskLateness(db, tasks, rate, seconds, 1_000_000);
    console.log(line(`tasks at ${rate}/s, ${schedules} schedules every minute`, withSchedules));
    const minutely = await occurrences.take();
    console.log(
      line(
        `  their occurrences meanwhile`,
        minutely.map((a) => a.arrivedAtMs - a.due * 1000),
      ),
    );
  } finally {
    await service.stop();
    occurrences.stop();
    tasks.stop();
    await dropDatabase(server, DB);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
