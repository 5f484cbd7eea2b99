/**
 * Each peer of the benchmark runs in a child process of its own (bench/peer-*.ts), so that its
 * CPU time can be read from /proc apart from the harness's and the receiver's. This file holds
 * both ends of their IPC: `servePeer` in the child, `startPeerProcess` in the harness. Requests
 * are answered one at a time, in order.
 */
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { PeerJob } from './peer-http';

/** `count` jobs due at `startSec + i * stepSec`, keys from `firstKey`, posting to `url`. */
export interface DueRange {
  url: string;
  cate: string;
  count: number;
  firstKey: number;
  startSec: number;
  stepSec: number;
}

export interface DueJob {
  job: PeerJob;
  /** Whole milliseconds: the finest unit pg-boss's and BullMQ's schedules hold. */
  dueMs: number;
}

type PeerRequest =
  | { type: 'enqueue'; range: DueRange }
  | { type: 'ingest'; mode: 'single' | 'batch'; url: string; seconds: number }
  | { type: 'stop' };

type PeerReply = { ok: true; value: number } | { ok: false; error: string };

/** What each peer implements with its own API. */
export interface PeerAdapter {
  /** Jobs per call of the peer's bulk enqueue. */
  batchSize: number;
  addOne(job: DueJob): Promise<void>;
  addMany(jobs: DueJob[]): Promise<void>;
  /** A faster way to enqueue a whole range, if the peer has one; else addMany in batches. */
  enqueue?(range: DueRange): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The jobs of a range. Due times are rounded up to the millisecond, and the x-task-due header
 * carries the rounded time, so lateness is measured from the time the peer was actually given.
 */
export function dueJobs(range: DueRange): DueJob[] {
  return Array.from({ length: range.count }, (_, i) => {
    const dueMs = Math.ceil((range.startSec + i * range.stepSec) * 1000);
    const key = range.firstKey + i;
    return {
      dueMs,
      job: { cate: range.cate, key, params: { i }, due: String(dueMs / 1000), url: range.url },
    };
  });
}

async function enqueueRange(adapter: PeerAdapter, range: DueRange): Promise<number> {
  if (adapter.enqueue) {
    await adapter.enqueue(range);
  } else {
    const jobs = dueJobs(range);
    for (let i = 0; i < jobs.length; i += adapter.batchSize) {
      await adapter.addMany(jobs.slice(i, i + adapter.batchSize));
    }
  }
  // An enqueue that ends after the first due time would skew lateness and throughput figures.
  const lateSec = Date.now() / 1000 - range.startSec;
  if (lateSec > 0) {
    throw new Error(`enqueueing ${range.count} jobs ended ${lateSec.toFixed(2)} s late`);
  }
  return range.count;
}

/**
 * Enqueue rate of the peer's own API, in jobs/s: 64 concurrent callers of the single-job call, or
 * 8 of the bulk call (as many as the service's HTTP ingest gets clients). The jobs are due
 * tomorrow; the peer's workers keep running meanwhile, as they would in production.
 */
async function ingest(
  adapter: PeerAdapter,
  mode: 'single' | 'batch',
  url: string,
  seconds: number,
): Promise<number> {
  const dueSec = Math.floor(Date.now() / 1000) + 86_400;
  let key = 100_000_000;
  const next = (n: number): DueJob[] => {
    const jobs = dueJobs({
      url,
      cate: 'ingest',
      count: n,
      firstKey: key,
      startSec: dueSec,
      stepSec: 0,
    });
    key += n;
    return jobs;
  };
  let added = 0;
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const caller = async (): Promise<void> => {
    while (Date.now() < deadline) {
      if (mode === 'single') {
        await adapter.addOne(next(1)[0]);
        added += 1;
      } else {
        await adapter.addMany(next(adapter.batchSize));
        added += adapter.batchSize;
      }
    }
  };
  await Promise.all(Array.from({ length: mode === 'single' ? 64 : 8 }, caller));
  return Math.round(added / ((Date.now() - started) / 1000));
}

async function handle(adapter: PeerAdapter, request: PeerRequest): Promise<number> {
  switch (request.type) {
    case 'enqueue':
      return enqueueRange(adapter, request.range);
    case 'ingest':
      return ingest(adapter, request.mode, request.url, request.seconds);
    case 'stop':
      await adapter.stop();
      return 0;
  }
}

/** The child's side: answers the harness's requests with `adapter` until told to stop. */
export function servePeer(adapter: PeerAdapter): void {
  let queue = Promise.resolve();
  process.on('message', (raw: unknown) => {
    const message = raw as PeerRequest;
    queue = queue.then(async () => {
      const reply: PeerReply = await handle(adapter, message).then(
        (value) => ({ ok: true as const, value }),
        (error: Error) => ({ ok: false as const, error: error.message }),
      );
      process.send?.(reply);
      if (message.type === 'stop') process.exit(0);
    });
  });
  // The harness died: nothing will stop this peer otherwise. Its store may have gone with the
  // harness (the private redis-server does), and then a clean stop never ends: exit regardless.
  process.on('disconnect', () => {
    setTimeout(() => process.exit(0), 5000).unref();
    void adapter.stop().finally(() => process.exit(0));
  });
  process.send?.('ready');
}

export interface PeerProcess {
  pid: number;
  enqueue(range: DueRange): Promise<void>;
  /** Jobs/s, see ingest() above. */
  ingest(mode: 'single' | 'batch', url: string, seconds: number): Promise<number>;
  stop(): Promise<void>;
}

/** Resolves with the child's next message, or rejects if it exits first. */
async function nextMessage(child: ChildProcess): Promise<unknown> {
  // Aborted after the race so that no listener outlives its request (the loser's rejection is
  // handled by the race itself).
  const listening = new AbortController();
  try {
    return await Promise.race([
      once(child, 'message', { signal: listening.signal }).then(([message]) => message as unknown),
      once(child, 'exit', { signal: listening.signal }).then(([code]) => {
        throw new Error(`peer process exited with ${String(code)}`);
      }),
    ]);
  } finally {
    listening.abort();
  }
}

/** The harness's side: forks `script` with one JSON argument and waits for its 'ready'. */
export async function startPeerProcess(script: string, options: object): Promise<PeerProcess> {
  const child = fork(script, [JSON.stringify(options)], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const request = async (message: PeerRequest): Promise<number> => {
    child.send(message);
    const reply = (await nextMessage(child)) as PeerReply;
    if (!reply.ok) throw new Error(reply.error);
    return reply.value;
  };
  try {
    await nextMessage(child);
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    pid: child.pid!,
    enqueue: async (range) => void (await request({ type: 'enqueue', range })),
    ingest: (mode, url, seconds) => request({ type: 'ingest', mode, url, seconds }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.send({ type: 'stop' });
      await exited;
      clearTimeout(killer);
    },
  };
}
