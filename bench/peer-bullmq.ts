/**
 * The BullMQ 6 peer for the benchmark, on a private Redis (bench/lib/redis-server.ts): one Worker
 * whose processor makes the shared peer callback (bench/lib/peer-http.ts). Started by bench/run.ts
 * with one JSON argument, served over IPC by bench/lib/peer-process.ts.
 *
 * Jobs are delayed jobs (docs.bullmq.io/guide/jobs/delayed): BullMQ keeps them in a sorted set and
 * the worker moves them to the wait list when due, so no polling interval is involved. One worker
 * at the same concurrency as delay-tasks' dispatcher (docs.bullmq.io/guide/workers/concurrency:
 * the local concurrency factor is the way to overlap I/O-bound jobs in one process).
 */
import { Job, JobsOptions, Queue, Worker } from 'bullmq';
import { createPeerHttp, PeerJob } from './lib/peer-http';
import { DueJob, PeerAdapter, servePeer } from './lib/peer-process';

interface PeerOptions {
  redisPort: number;
  concurrency: number;
}

const QUEUE = 'deliver';
const options = JSON.parse(process.argv[2]) as PeerOptions;
const http = createPeerHttp();
// Workers block on Redis: their connections must retry without limit (BullMQ's connection guide).
const connection = { host: '127.0.0.1', port: options.redisPort, maxRetriesPerRequest: null };

/**
 * `timestamp` pinned so that the job falls due at exactly `dueMs` (BullMQ schedules at
 * timestamp + delay). 3 attempts, as delay-tasks and the other peers make.
 */
function jobOptions(dueMs: number): JobsOptions {
  const now = Date.now();
  return { timestamp: now, delay: Math.max(0, dueMs - now), attempts: 3 };
}

function adapter(queue: Queue, worker: Worker): PeerAdapter {
  return {
    // BullMQ's batches guide advises 100–500 jobs per addBulk for small jobs.
    batchSize: 500,
    addOne: async ({ job, dueMs }) => void (await queue.add(QUEUE, job, jobOptions(dueMs))),
    addMany: async (jobs: DueJob[]) =>
      void (await queue.addBulk(
        jobs.map(({ job, dueMs }) => ({ name: QUEUE, data: job, opts: jobOptions(dueMs) })),
      )),
    stop: async () => {
      await worker.close();
      await queue.close();
      http.close();
    },
  };
}

async function main(): Promise<void> {
  const queue = new Queue<PeerJob>(QUEUE, { connection });
  const worker = new Worker<PeerJob>(
    QUEUE,
    (job: Job<PeerJob>) => http.deliver(job.data, job.id ?? ''),
    {
      connection,
      concurrency: options.concurrency,
      // Delivered jobs are dropped, as delay-tasks deletes delivered tasks (the auto-removal
      // guide: otherwise the completed set grows without bound).
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 5000 },
    },
  );
  worker.on('error', (error) => console.error('bullmq:', error));
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  servePeer(adapter(queue, worker));
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
