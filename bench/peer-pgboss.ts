/**
 * The pg-boss 10 peer for the benchmark, on the same PostgreSQL (its own database): its workers
 * make the shared peer callback (bench/lib/peer-http.ts). Started by bench/run.ts with one JSON
 * argument, served over IPC by bench/lib/peer-process.ts.
 *
 * Set up for throughput as pg-boss documents it. Each work() call adds one polling loop that
 * fetches up to batchSize jobs, hands them to the handler and polls again after
 * pollingIntervalSeconds (default 2 s, at least 0.5 s) unless the batch took longer
 * (docs/api/workers.md). Concurrency is the caller's business since v10 (teamSize and
 * teamConcurrency are gone): several work() registrations, and the handler running its batch
 * concurrently, as the maintainer advises in timgit/pg-boss#483 and #542. One loop with a batch of
 * 64 is polling-bound (at most 128 jobs/s); 32 loops of 32 at 0.5 s reached 1,322/s in a probe.
 */
import PgBoss from 'pg-boss';
import { createPeerHttp, PeerJob } from './lib/peer-http';
import { DueJob, PeerAdapter, servePeer } from './lib/peer-process';

interface PeerOptions {
  connectionString: string;
}

const QUEUE = 'deliver';
const WORKERS = 32;
const BATCH_SIZE = 32;
const POLLING_INTERVAL_SECONDS = 0.5;

const options = JSON.parse(process.argv[2]) as PeerOptions;
const http = createPeerHttp();

function insert(jobs: DueJob[]): PgBoss.JobInsert[] {
  return jobs.map(({ job, dueMs }) => ({ name: QUEUE, data: job, startAfter: new Date(dueMs) }));
}

function adapter(boss: PgBoss): PeerAdapter {
  return {
    batchSize: 1000,
    addOne: async ({ job, dueMs }) =>
      void (await boss.send(QUEUE, job, { startAfter: new Date(dueMs) })),
    addMany: (jobs) => boss.insert(insert(jobs)),
    stop: async () => {
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      http.close();
    },
  };
}

async function main(): Promise<void> {
  // Its defaults otherwise: a pool of 10 connections, 2 retries (3 attempts, as the others make).
  const boss = new PgBoss({ connectionString: options.connectionString });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  await boss.createQueue(QUEUE);
  for (let i = 0; i < WORKERS; i++) {
    await boss.work<PeerJob>(
      QUEUE,
      { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
      // All-or-nothing per batch (pg-boss completes or fails the batch as one).
      (jobs) => Promise.all(jobs.map((job) => http.deliver(job.data, job.id))),
    );
  }
  servePeer(adapter(boss));
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
