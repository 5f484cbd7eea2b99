/**
 * One burst against one replica, for profiling: `npm run build && npx ts-node --transpile-only
 * bench/probe-burst.ts 20000 [--cpu-prof] [--filler N] [--main path/to/main.js]` (profiles land
 * in bench/results/; `--main` runs another build, for an A/B comparison).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, insertTasks, withClient } from './lib/db';
import { collect, startReceiver, startService } from './lib/processes';
import { summarizeLateness } from './lib/stats';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const profile = process.argv.includes('--cpu-prof');
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_burst');
  const receiver = await startReceiver();
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(__dirname, 'results')}`] : [];
  const extra = process.argv.slice(3).filter((a) => a.includes('='));
  const env: Record<string, string> = {
    DATABASE_URL: process.argv.includes('--async-commit')
      ? `${db}?options=-c%20synchronous_commit%3Doff`
      : db,
    CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
    ...Object.fromEntries(
      extra.map(
        (a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] as [string, string],
      ),
    ),
  };
  const mainIndex = process.argv.indexOf('--main');
  const mainJs = mainIndex === -1 ? undefined : resolve(process.argv[mainIndex + 1]);
  const service = await startService(env, nodeArgs, mainJs); // applies the migrations
  const fillerIndex = process.argv.indexOf('--filler');
  const filler = fillerIndex === -1 ? 0 : Number(process.argv[fillerIndex + 1]);
  if (filler > 0) {
    // Pending tasks due tomorrow, as in the benchmark's scale scenario.
    await insertTasks(db, {
      cate: 'filler',
      handler: 'http://127.0.0.1:9/never-called',
      count: filler,
      firstKey: 1,
      startSec: Date.now() / 1000 + 86_400,
      stepSec: 0.001,
    });
    await withClient(db, (c) => c.query('VACUUM ANALYZE tasks'));
    await withClient(server, (c) => c.query('CHECKPOINT'));
  }
  const due = Math.ceil(Date.now() / 1000 + 3 + count / 20_000);
  await insertTasks(db, {
    cate: 'b',
    handler: receiver.url,
    count,
    firstKey: 1,
    startSec: due,
    stepSec: 0,
  });
  const cpuBefore = cpuMs(service.child.pid!);
  const arrivals = await collect(receiver, count, 120_000);
  // The service's CPU time per delivery: steadier than the rate on a machine whose neighbours vary.
  const cpuAfter = cpuMs(service.child.pid!);
  const perDeliveryUs = (ms: number): number => Math.round((ms * 1000) / count);
  const cpuPerDeliveryUs = perDeliveryUs(cpuAfter.total - cpuBefore.total);
  const userUs = perDeliveryUs(cpuAfter.user - cpuBefore.user);
  const systemUs = perDeliveryUs(cpuAfter.system - cpuBefore.system);
  const last = Math.max(...arrivals.map((a) => a.arrivedAtMs));
  const late = summarizeLateness(arrivals.map((a) => a.arrivedAtMs - a.due * 1000));
  const perSecond = Math.round(arrivals.length / ((last - due * 1000) / 1000));
  console.log(
    `burst ${arrivals.length}/${count}: ${perSecond}/s, lateness p50 ${late.p50} p99 ${late.p99} ms, ` +
      `service CPU ${cpuPerDeliveryUs} µs per delivery (user ${userUs}, system ${systemUs})`,
  );
  await service.stop();
  receiver.stop();
  await dropDatabase(server, 'dt_probe_burst');
}

/** User and system CPU time of a process so far, in ms (Linux). */
function cpuMs(pid: number): { user: number; system: number; total: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime, stime (fields 14 and 15), in ticks: USER_HZ is 100 on Linux.
  const user = Number(fields[11]) * 10;
  const system = Number(fields[12]) * 10;
  return { user, system, total: user + system };
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
