/**
 * What requests without an API key cost the service, with API_KEYS set: `npm run build && npx
 * ts-node --transpile-only bench/probe-unauthenticated.ts [seconds]`. Each request POSTs a 1 MiB
 * body of arrays nested 32 deep (`[[[…]]],[[[…]]],…`: within the parser's depth limit, and among
 * the costliest JSON to parse) with no Authorization header.
 *
 * - CPU: the service's CPU time (/proc/<pid>/stat) per such request, one client at a time.
 * - Flood: 16 clients (in a child process) send such requests back to back for `seconds` (10),
 *   while this process asks GET /health/live one request at a time; its latency p50/p99/max.
 *
 * The service runs with LOG_LEVEL=error: a warning line per 401 would flood this terminal.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase } from './lib/db';
import { startService } from './lib/processes';
import { percentile, round } from './lib/stats';

const DATABASE = 'dt_probe_unauthenticated';
const API_KEY = 'f3a9c1d24b7e8a05c6d1e29f7b3a4c58d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f';
const CLIENTS = 16;
const BODY_BYTES = 1_048_576; // the default BODY_LIMIT_BYTES: the parser would read all of it
const BODY = nestedArrays(32, BODY_BYTES);

interface FloodReport {
  answered: Record<string, number>;
  errors: number;
}

/** `[a, a, …]` with `a` arrays nested `depth` deep, padded with spaces to `bytes`. */
function nestedArrays(depth: number, bytes: number): Buffer {
  const unit = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const units = Array<string>(Math.floor((bytes - 2) / (unit.length + 1))).fill(unit);
  return Buffer.from(`[${units.join(',')}]`.padEnd(bytes, ' '));
}

/** One key-less POST of BODY; its status, or "error" when the connection failed. */
async function postWithoutKey(url: string): Promise<string> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    await res.arrayBuffer();
    return String(res.status);
  } catch {
    return 'error';
  }
}

/** The child: CLIENTS loops of postWithoutKey until `seconds` have passed. */
async function flood(url: string, seconds: number): Promise<void> {
  const report: FloodReport = { answered: {}, errors: 0 };
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        const outcome = await postWithoutKey(url);
        if (outcome === 'error') report.errors++;
        else report.answered[outcome] = (report.answered[outcome] ?? 0) + 1;
      }
    }),
  );
  process.send?.(report);
}

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Service CPU per key-less request, one at a time: up to 200 requests or 10 s. */
async function cpuPerRequest(pid: number, url: string): Promise<string> {
  for (let i = 0; i < 3; i++) await postWithoutKey(url); // warm-up
  const outcomes: Record<string, number> = {};
  const cpu = cpuMs(pid);
  const deadline = Date.now() + 10_000;
  let count = 0;
  while (count < 200 && Date.now() < deadline) {
    const outcome = await postWithoutKey(url);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    count++;
  }
  const perRequestMs = (cpuMs(pid) - cpu) / count;
  return `${round(perRequestMs, 2)} ms CPU/request over ${count} requests ${JSON.stringify(outcomes)}`;
}

/** GET /health/live one at a time until `done` settles; the latencies in ms. */
async function healthLatencies(baseUrl: string, done: Promise<unknown>): Promise<number[]> {
  let flooding = true;
  void done.finally(() => (flooding = false));
  const latencies: number[] = [];
  while (flooding) {
    const started = performance.now();
    const res = await fetch(`${baseUrl}/health/live`, { signal: AbortSignal.timeout(120_000) });
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, DATABASE);
  const service = await startService({
    DATABASE_URL: db,
    API_KEYS: API_KEY,
    DISPATCH_ENABLED: 'false',
    LOG_LEVEL: 'error',
  });
  const pid = service.child.pid!;
  const url = `${service.baseUrl}/task/probe`;
  console.log(`1 MiB nested-array body, no key: ${await cpuPerRequest(pid, url)}`);

  const child = fork(__filename, ['--flood', url, String(seconds)], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const reported = once(child, 'message') as Promise<[FloodReport]>;
  const cpu = cpuMs(pid);
  const latencies = await healthLatencies(service.baseUrl, reported);
  const [report] = await reported;
  const answered = Object.values(report.answered).reduce((sum, n) => sum + n, 0);
  const floodCpuMs = cpuMs(pid) - cpu;
  console.log(
    `flood of ${CLIENTS} clients for ${seconds} s: ${answered} answered ` +
      `${JSON.stringify(report.answered)}, ${report.errors} connection errors, service CPU ` +
      `${round(floodCpuMs / 1000, 2)} s (${round(floodCpuMs / Math.max(answered, 1), 2)} ms/request)`,
  );
  console.log(
    `GET /health/live meanwhile: ${latencies.length} requests, p50 ` +
      `${round(percentile(latencies, 50), 1)} ms, p99 ${round(percentile(latencies, 99), 1)} ms, ` +
      `max ${round(latencies[latencies.length - 1] ?? NaN, 1)} ms`,
  );
  await service.stop();
  await dropDatabase(server, DATABASE);
}

if (process.argv[2] === '--flood') {
  void flood(process.argv[3], Number(process.argv[4])).then(() => process.exit(0));
} else {
  main().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
