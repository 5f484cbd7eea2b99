/**
 * Lateness of one service instance: N tasks with fractional due times spread evenly over a
 * window, delivered to a receiver in its own process. Prints p50/p99/max lateness (callback
 * arrival − due time) and the count of early arrivals.
 *
 *   npm run build && npm run bench:lateness            # 1,000 tasks over 10 s
 *   npm run bench:lateness -- --tasks 2000 --seconds 20
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { testDatabaseUrl } from '../test/setup/test-server';
import type { Arrival } from './receiver-process';

const ROOT = join(__dirname, '..');

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

function startReceiver(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, 'receiver-process.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  return new Promise((resolve) =>
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port })),
  );
}

function report(child: ChildProcess): Promise<Arrival[]> {
  child.send('report');
  return new Promise((resolve) =>
    child.once('message', (m: { arrivals: Arrival[] }) => resolve(m.arrivals)),
  );
}

async function waitForHealth(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${base}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('service did not become healthy');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function post(base: string, path: string, body: string): Promise<void> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const tasks = arg('tasks', 1000);
  const seconds = arg('seconds', 10);
  const serverUrl = testDatabaseUrl();
  const dbName = `dt_bench_${process.pid}`;
  await onServer(serverUrl, `CREATE DATABASE ${dbName}`);
  const dbUrl = Object.assign(new URL(serverUrl), { pathname: `/${dbName}` }).toString();
  const receiver = await startReceiver();
  const port = await freePort();
  const service = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    env: {
      PORT: String(port),
      DATABASE_URL: dbUrl,
      LOG_LEVEL: 'warn',
      CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(base, 30_000);
    await post(
      base,
      '/handler/bench',
      JSON.stringify({ handler: `http://127.0.0.1:${receiver.port}/cb` }),
    );
    const start = Date.now() / 1000 + 3;
    for (let i = 0; i < tasks; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, tasks - i) }, (_, j) => {
          const due = (start + ((i + j) * seconds) / tasks).toFixed(6);
          return post(
            base,
            '/task/bench',
            `{"timestamp":${due},"key":${i + j + 1},"params":{"i":${i + j}}}`,
          );
        }),
      );
    }
    const arrivals: Arrival[] = [];
    const deadline = Date.now() + (start + seconds - Date.now() / 1000) * 1000 + 10_000;
    while (arrivals.length < tasks && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      arrivals.push(...(await report(receiver.child)));
    }
    const lateness = arrivals.map((a) => a.arrivedAtMs - a.due * 1000).sort((a, b) => a - b);
    const early = lateness.filter((l) => l < 0).length;
    console.log(
      `tasks=${tasks} over ${seconds}s delivered=${arrivals.length} early=${early} ` +
        `lateness_ms p50=${percentile(lateness, 50).toFixed(2)} p99=${percentile(lateness, 99).toFixed(2)} ` +
        `max=${lateness[lateness.length - 1].toFixed(2)}`,
    );
  } finally {
    service.kill('SIGTERM');
    await once(service, 'exit');
    receiver.child.send('stop');
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
