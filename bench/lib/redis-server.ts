/**
 * A private redis-server for the BullMQ peer: its own port, no persistence (the benchmark's data is
 * thrown away, and persistence would add disk writes the other queues' figures do not pay for in
 * the same way), stopped by the harness, and killed on the harness's exit if that comes first.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

export interface RedisServer {
  port: number;
  pid: number;
  stop: () => Promise<void>;
}

/** REDIS_SERVER, else Debian's path. */
export function redisServerPath(): string {
  return process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
}

/**
 * REDIS_ARGS: more options, space-separated (`REDIS_ARGS='--hz 100'`, say). BullMQ's worker waits
 * for the next delayed job with a blocking command whose timeout Redis checks between events, and
 * at least once per `hz` tick (10 a second by default): on a quiet server, a BZPOPMIN of 1 ms
 * returns after ~90 ms here (~15 ms at `--hz 100`). The default stays Redis's own, as a user's
 * server would have it.
 */
function extraArgs(): string[] {
  return (process.env.REDIS_ARGS ?? '').split(' ').filter((a) => a !== '');
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitUntilReady(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (await answersPing(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not answer PING within 10 s');
}

export async function startRedisServer(): Promise<RedisServer> {
  const path = redisServerPath();
  if (!existsSync(path)) throw new Error(`no redis-server at ${path} (set REDIS_SERVER)`);
  const port = await freePort();
  // Its working directory, so that nothing it might write lands in the project.
  const dir = mkdtempSync(join(tmpdir(), 'dt-bench-redis-'));
  const child = spawn(
    path,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      // BullMQ's production guide: keys must never be evicted.
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
      '--loglevel',
      'warning',
      ...extraArgs(),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(child, port);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid!, stop };
}
