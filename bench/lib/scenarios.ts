/**
 * What the benchmarks share (bench/run.ts, bench/scale.ts): the service's settings, the machine
 * they ran on, and how lateness and burst figures are taken from the receiver's arrivals, so that
 * the two report the same figures the same way.
 */
import { cpus } from 'node:os';
import type { Arrival } from '../receiver-process';
import { withClient } from './db';
import { collect, meterCpu, Receiver } from './processes';
import { round, summarizeLateness } from './stats';

/** Callback concurrency of each replica (and of each peer in bench/run.ts). */
export const CONCURRENCY = 64;

export function serviceEnv(dbUrl: string): Record<string, string> {
  return {
    DATABASE_URL: dbUrl,
    CALLBACK_ALLOW_CIDRS: '127.0.0.1/32',
    DISPATCH_CONCURRENCY: String(CONCURRENCY),
  };
}

/** Cores, CPU model, PostgreSQL and Node.js versions, for the results file. */
export async function machine(serverUrl: string): Promise<Record<string, unknown>> {
  const version = await withClient(serverUrl, async (c) => {
    const { rows } = await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return rows[0].v;
  });
  return { cores: cpus().length, cpu: cpus()[0]?.model, postgres: version, node: process.version };
}

/**
 * Writes out what earlier scenarios left dirty (a fill of millions of rows above all) before a
 * measurement starts, so that a checkpoint does not land in the middle of the next scenario,
 * ours or the peer's.
 */
export async function checkpoint(serverUrl: string): Promise<void> {
  await withClient(serverUrl, (c) => c.query('CHECKPOINT'));
}

/**
 * Lateness of the arrivals due from `measuredFromSec` on (with their samples), and of the warm-up
 * before it.
 */
export function splitWarmup(arrivals: Arrival[], measuredFromSec: number) {
  const lateness = (list: Arrival[]) => list.map((a) => a.arrivedAtMs - a.due * 1000);
  const samples = lateness(arrivals.filter((a) => a.due >= measuredFromSec));
  return {
    ...summarizeLateness(samples),
    samples,
    cold: summarizeLateness(lateness(arrivals.filter((a) => a.due < measuredFromSec))),
  };
}

/** `count` tasks all due at one instant: deliveries per second from the due time to the last. */
export function burstFigures(arrivals: Arrival[], dueSec: number) {
  const last = Math.max(...arrivals.map((a) => a.arrivedAtMs));
  const late = summarizeLateness(arrivals.map((a) => a.arrivedAtMs - a.due * 1000));
  const ids = new Set(arrivals.map((a) => a.deliveryId));
  return {
    perSecond: round(arrivals.length / ((last - dueSec * 1000) / 1000), 0),
    p50: late.p50,
    p99: late.p99,
    early: late.early,
    delivered: ids.size,
    duplicates: arrivals.length - ids.size,
  };
}

/** Processes whose CPU time a burst is charged with: the worker's, and its store's. */
export interface Metered {
  worker: () => Promise<number[]>;
  store: () => Promise<number[]>;
}

/**
 * Collects a burst of `count` due at `dueSec`. With `metered`, also the CPU time (µs per
 * delivery) of the worker and of its store from the due time to the last arrival: a steadier
 * figure than the rate on a machine whose neighbours vary, and one that shows where each system
 * spends its work.
 */
export async function collectBurst(
  receiver: Receiver,
  count: number,
  dueSec: number,
  timeoutMs: number,
  metered?: Metered,
) {
  await new Promise((r) => setTimeout(r, Math.max(0, dueSec * 1000 - Date.now())));
  const workerCpu = metered && (await meterCpu(metered.worker));
  const storeCpu = metered && (await meterCpu(metered.store));
  const arrivals = await collect(receiver, count, timeoutMs);
  const perJob = (micros: number | null | undefined): number | null =>
    micros == null || arrivals.length === 0 ? null : Math.round(micros / arrivals.length);
  return {
    ...burstFigures(arrivals, dueSec),
    cpuUsPerJob: perJob(await workerCpu?.()),
    storeCpuUsPerJob: perJob(await storeCpu?.()),
  };
}

/**
 * Clean-ups owed while a benchmark runs (a database to drop, a redis-server to stop), paid on
 * SIGINT and SIGTERM too: their default action would end the harness without its finally
 * blocks. Add a clean-up while it is owed, delete it once paid; at a signal, all those owed run
 * (10 s at most), then the process exits, and its exit hooks kill the child processes still
 * running.
 */
export function cleanUpOnSignal(log: (message: string) => void): Set<() => Promise<void>> {
  const owed = new Set<() => Promise<void>>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      const deadline = new Promise((r) => setTimeout(r, 10_000));
      void Promise.race([
        Promise.allSettled([...owed].map((cleanup) => cleanup())),
        deadline,
      ]).finally(() => process.exit(130));
    });
  }
  return owed;
}
