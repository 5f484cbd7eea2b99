/**
 * The lateness scenario alone, for tuning: `rate` tasks/s for `seconds` (fractional due times)
 * into one replica, then lateness p50/p99/max overall and per second of the run.
 *
 *   npm run build && npx ts-node --transpile-only bench/probe-lateness.ts [rate] [seconds]
 */
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks } from './lib/db';
import { collect, startReceiver, startService } from './lib/processes';
import { summarizeLateness } from './lib/stats';

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 1000);
  const seconds = Number(process.argv[3] ?? 10);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_lateness');
  const receiver = await startReceiver();
  const service = await startService({
    DATABASE_URL: db,
    CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
  });
  const count = rate * seconds;
  const startSec = Date.now() / 1000 + 4;
  await insertTasks(db, {
    cate: 'late',
    handler: receiver.url,
    count,
    firstKey: 1,
    startSec,
    stepSec: 1 / rate,
  });
  const arrivals = await collect(receiver, count, (seconds + 20) * 1000);
  const all = summarizeLateness(arrivals.map((a) => a.arrivedAtMs - a.due * 1000));
  console.log(
    `${arrivals.length}/${count} delivered, early ${all.early}, lateness ms p50 ${all.p50} p99 ${all.p99} max ${all.max}`,
  );
  for (let s = 0; s < seconds; s++) {
    const inSecond = arrivals.filter((a) => a.due >= startSec + s && a.due < startSec + s + 1);
    const late = summarizeLateness(inSecond.map((a) => a.arrivedAtMs - a.due * 1000));
    console.log(`  second ${s}: n ${late.count} p50 ${late.p50} p99 ${late.p99} max ${late.max}`);
  }
  await service.stop();
  receiver.stop();
  await dropDatabase(server, 'dt_probe_lateness');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
