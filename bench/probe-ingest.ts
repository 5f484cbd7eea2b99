/**
 * Ingest against one replica, for profiling: `npm run build && npx ts-node --transpile-only
 * bench/probe-ingest.ts [seconds] [--batch] [--main <dist/main.js>] [--log-level <level>]
 * [--rate <n>] [--ceiling] [--cpu-prof]`.
 *
 * - default: single-task upserts (POST /task/:cate), 64 connections, as bench/run.ts's ingest;
 * - `--batch`: 1,000 tasks per request (POST /tasks/:cate), 8 connections, as its ingestBatch;
 * - `--main`: another build (a copy of dist/ before a change), for A/B runs on a busy machine;
 * - `--log-level <level>`: the service's LOG_LEVEL (default warn, as bench/run.ts: no line per
 *   successful request; `log`, the production default, writes one);
 * - `--rate <n>`: at most n requests/s in all, so that variants compared do the same work;
 * - `--ceiling`: then the same load (GET, 64 connections) on a minimal NestJS route in its own
 *   process (bench/probe-ceiling.ts), and single-task ingest's rate as a share of it;
 * - `--cpu-prof`: profiles land in bench/results/.
 *
 * Besides the rate it prints the service process's CPU time per request (and per task), and its
 * database backends' per task: the figures to compare when other work shares the machine, which
 * moves the rate far more than them.
 */
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { testDatabaseUrl } from '../test/setup/test-server';
import { backendPids, dropDatabase, freshDatabase } from './lib/db';
import { cpuMicros, meterCpu, startService } from './lib/processes';

const WARMUP_SECONDS = 3;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const profile = process.argv.includes('--cpu-prof');
  const batch = process.argv.includes('--batch');
  const mainJs = option('--main');
  const rate = option('--rate');
  const server = testDatabaseUrl();
  const dbName = `dt_probe_ingest_${process.pid}`; // probes of several work trees may run at once
  const db = await freshDatabase(server, dbName);
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(__dirname, 'results')}`] : [];
  const logLevel = option('--log-level') ?? 'warn';
  const service = await startService({ DATABASE_URL: db, LOG_LEVEL: logLevel }, nodeArgs, mainJs);
  const due = Math.floor(Date.now() / 1000) + 86_400;
  let key = 0;
  const single = (): string => `{"timestamp":${due},"key":${++key},"params":{"n":${key}}}`;
  const many = (): string =>
    JSON.stringify({
      tasks: Array.from({ length: 1000 }, () => ({
        timestamp: due,
        key: ++key,
        params: { k: key },
      })),
    });
  const load = (duration: number): Promise<autocannon.Result> =>
    autocannon({
      url: `${service.baseUrl}/${batch ? 'tasks' : 'task'}/ingest`,
      method: 'POST',
      connections: batch ? 8 : 64,
      duration,
      ...(rate ? { overallRate: Number(rate) } : {}),
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (req) => ({ ...req, body: batch ? many() : single() }) }],
    });
  await load(WARMUP_SECONDS);
  const pid = service.child.pid!;
  const cpuBefore = cpuMicros(pid)!;
  const storeCpu = await meterCpu(() => backendPids(server, dbName));
  const result = await load(seconds);
  const cpu = cpuMicros(pid)! - cpuBefore;
  const dbCpu = await storeCpu();
  const ok = result['2xx'];
  const perTask = batch ? 1000 : 1;
  console.log(
    `${batch ? 'batch ingest' : 'ingest'}: ${Math.round((ok * perTask) / seconds)} tasks/s, ` +
      `${Math.round(ok / seconds)} req/s, p50 ${result.latency.p50} ms, ` +
      `p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, ` +
      `CPU ${Math.round(cpu / ok)} µs/req (${(cpu / (ok * perTask)).toFixed(1)} µs/task), ` +
      `PostgreSQL ${dbCpu === null ? '?' : (dbCpu / (ok * perTask)).toFixed(1)} µs/task`,
  );
  await service.stop();
  await dropDatabase(server, dbName);
  if (process.argv.includes('--ceiling')) await ceiling(seconds, Math.round(ok / seconds));
}

/** The minimal NestJS route under the same load, as bench/run.ts's nestCeilingPerSecond. */
async function ceiling(seconds: number, ingestPerSecond: number): Promise<void> {
  const child = fork(join(__dirname, 'probe-ceiling.ts'), ['--serve', 'nest'], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  try {
    const [message] = (await once(child, 'message')) as [AddressInfo];
    const url = `http://127.0.0.1:${message.port}/health/live`;
    await autocannon({ url, connections: 64, duration: WARMUP_SECONDS });
    const cpuBefore = cpuMicros(child.pid!)!;
    const result = await autocannon({ url, connections: 64, duration: seconds });
    const cpu = cpuMicros(child.pid!)! - cpuBefore;
    const perSecond = Math.round(result['2xx'] / seconds);
    console.log(
      `minimal NestJS route: ${perSecond} req/s, p99 ${result.latency.p99} ms, ` +
        `CPU ${Math.round(cpu / result['2xx'])} µs/req; ingest is ` +
        `${Math.round((100 * ingestPerSecond) / perSecond)}% of it`,
    );
  } finally {
    child.kill();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
