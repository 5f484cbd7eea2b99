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

/** User + system CPU time of a process so far, in µs (Linux); null once it has gone. */
export function cpuMicros(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ticks * 10_000; // USER_HZ is 100 on Linux
}

/**
 * CPU time the processes listed by `pids` use from now until the returned function is called, in
 * µs; null when none of them could be read. The list is taken again at the end, so that processes
 * started in between (a pool's new connections) count from their start; those that exited in
 * between are lost.
 */
export async function meterCpu(
  pids: () => Promise<number[]>,
): Promise<() => Promise<number | null>> {
  const start = new Map<number, number>();
  for (const pid of await pids()) {
    const micros = cpuMicros(pid);
    if (micros !== null) start.set(pid, micros);
  }
  return async () => {
    let total: number | null = null;
    for (const pid of await pids()) {
      const micros = cpuMicros(pid);
      if (micros !== null) total = (total ?? 0) + micros - (start.get(pid) ?? 0);
    }
    return total;
  };
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
  // A harness that ends on an error or a signal must not leave replicas running.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
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
