import { ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Arrival } from '../receiver-process';

const ROOT = join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resident set size of a process in MiB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

export interface Service {
  child: ChildProcess;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * `node dist/main.js` (the start contract) with the given environment only; `mainJs` runs another
 * build (an older commit's, for an A/B probe).
 */
export async function startService(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  mainJs = join(ROOT, 'dist', 'main.js'),
): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, mainJs], {
    env: { LOG_LEVEL: 'warn', ...env, PORT: String(port), LISTEN_HOST: '127.0.0.1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${baseUrl}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export interface Receiver {
  port: number;
  url: string;
  /** Arrivals since the last call. */
  take(): Promise<Arrival[]>;
  stop(): void;
}

/** The callback receiver in its own process (bench/receiver-process.ts). */
export async function startReceiver(): Promise<Receiver> {
  const child = fork(join(__dirname, '..', 'receiver-process.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    port,
    url: `http://127.0.0.1:${port}/callback`,
    take: async () => {
      child.send('report');
      const [message] = (await once(child, 'message')) as [{ arrivals: Arrival[] }];
      return message.arrivals;
    },
    stop: () => child.send('stop'),
  };
}

/** Collects arrivals until `count` have come or `timeoutMs` passed. */
export async function collect(
  receiver: Receiver,
  count: number,
  timeoutMs: number,
): Promise<Arrival[]> {
  const arrivals: Arrival[] = [];
  const deadline = Date.now() + timeoutMs;
  while (arrivals.length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    arrivals.push(...(await receiver.take()));
  }
  return arrivals;
}
