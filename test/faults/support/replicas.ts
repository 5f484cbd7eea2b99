import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess, spawnService, waitUntilHealthy } from '../../support/service-process';

const BOOT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * Environment of a replica used by these tests: callbacks may reach the receiver on 127.0.0.1
 * (SSRF guard), warnings and errors only, and the given settings.
 */
export function replicaEnv(
  databaseUrl: string,
  settings: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
    LOG_LEVEL: 'warn',
    ...settings,
  };
}

/** Every replica a test file started, so that afterAll can stop whatever is left. */
export class Replicas {
  readonly all: ServiceProcess[] = [];

  /** Starts `count` replicas at once and waits until each serves HTTP. */
  async start(
    count: number,
    env: Record<string, string>,
    bootTimeoutMs = BOOT_TIMEOUT_MS,
  ): Promise<ServiceProcess[]> {
    const started = await Promise.all(
      Array.from({ length: count }, async () => {
        const service = await spawnService(env);
        this.all.push(service);
        return service;
      }),
    );
    await Promise.all(started.map((s) => waitUntilHealthy(s, bootTimeoutMs)));
    return started;
  }

  /** SIGTERM (after SIGCONT, for a stopped one), then SIGKILL when it does not exit in time. */
  async stopAll(): Promise<void> {
    await Promise.all(this.all.map(stopReplica));
    this.all.length = 0;
  }
}

export async function stopReplica(service: ServiceProcess): Promise<void> {
  if (hasExited(service)) return;
  service.child.kill('SIGCONT');
  service.child.kill('SIGTERM');
  if (!(await exitsWithin(service, STOP_TIMEOUT_MS))) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
}

/** Waits at most `ms` for the process to exit; true when it did. */
export async function exitsWithin(service: ServiceProcess, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const expired = sleep(ms, false, { signal: timer.signal }).catch(() => false);
  const exited = await Promise.race([service.exited.then(() => true), expired]);
  timer.abort();
  return exited;
}

export function hasExited(service: ServiceProcess): boolean {
  return service.child.exitCode !== null || service.child.signalCode !== null;
}

export function pidOf(service: ServiceProcess): number {
  const pid = service.child.pid;
  if (pid === undefined) throw new Error('replica has no pid');
  return pid;
}

/** `lease_owner LIKE` pattern of a replica's dispatcher (worker id: host:pid:random). */
export function leaseOwnerPattern(service: ServiceProcess): string {
  return `%:${pidOf(service)}:%`;
}

/** Resident set size of the replica's process, in MiB. */
export function rssMiB(service: ServiceProcess): number {
  const status = readFileSync(`/proc/${pidOf(service)}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error('no VmRSS in /proc status');
  return Number(kb[1]) / 1024;
}

/** Polls GET /health/ready until 200; returns the time it took. */
export async function waitUntilReady(service: ServiceProcess, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    const status = await fetch(`${service.baseUrl}/health/ready`, {
      signal: AbortSignal.timeout(2000),
    })
      .then((res) => res.status)
      .catch(() => 0);
    if (status === 200) return Date.now() - started;
    if (Date.now() > deadline || hasExited(service)) {
      throw new Error(
        `replica not ready within ${timeoutMs} ms:\n${service.output().slice(-4000)}`,
      );
    }
    await sleep(50);
  }
}

export interface ApiReply {
  status: number;
  text: string;
}

/** One JSON request to a replica's API. */
export async function callApi(
  service: ServiceProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiReply> {
  const res = await fetch(`${service.baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Registers the category's handler, throwing unless the API answers 200. */
export async function registerHandler(
  service: ServiceProcess,
  cate: string,
  url: string,
  settings: Record<string, unknown> = {},
): Promise<void> {
  const reply = await callApi(service, 'POST', `/handler/${cate}`, { handler: url, ...settings });
  if (reply.status !== 200) throw new Error(`POST /handler/${cate}: ${reply.status} ${reply.text}`);
}

/** Creates a task due at `dueMs` (Unix ms), throwing unless the API answers 200. */
export async function postTask(
  service: ServiceProcess,
  cate: string,
  key: number | string,
  dueMs: number,
): Promise<void> {
  const body = `{"timestamp":${(dueMs / 1000).toFixed(3)},"key":${key},"params":{"k":${key}}}`;
  const reply = await callApi(service, 'POST', `/task/${cate}`, body);
  if (reply.status !== 200) throw new Error(`POST /task/${cate}: ${reply.status} ${reply.text}`);
}
