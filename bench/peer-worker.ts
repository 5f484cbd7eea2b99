/**
 * The graphile-worker peer for the benchmark, on the same PostgreSQL (its own database): its
 * `deliver` task makes the shared peer callback (bench/lib/peer-http.ts). Started by bench/run.ts
 * with one JSON argument, served over IPC by bench/lib/peer-process.ts.
 */
import { Logger, makeWorkerUtils, run, Runner, WorkerUtils } from 'graphile-worker';
import { withClient } from './lib/db';
import { createPeerHttp, PeerJob } from './lib/peer-http';
import { DueJob, DueRange, PeerAdapter, servePeer } from './lib/peer-process';

interface PeerOptions {
  connectionString: string;
  concurrency: number;
}

const options = JSON.parse(process.argv[2]) as PeerOptions;
const http = createPeerHttp();
/** graphile-worker's default is 25; delay-tasks and the other peers make 3 attempts. */
const MAX_ATTEMPTS = 3;
const silent = new Logger(() => () => undefined);

/**
 * A whole range in one statement through graphile-worker's own batch function (add_job per row
 * runs at ~1,000 jobs/s here, too slow to finish before the first one is due). The due times keep
 * the range's full precision (to_timestamp of a float).
 */
async function enqueue(range: DueRange): Promise<void> {
  await withClient(options.connectionString, (c) =>
    c.query(
      `SELECT graphile_worker.add_jobs(array_agg(ROW('deliver',
         json_build_object('cate', $5::text, 'key', $6::bigint + g, 'params', json_build_object('i', g),
           'due', (($2::float8 + g * $3::float8))::text, 'url', $4::text),
         NULL, to_timestamp($2::float8 + g * $3::float8), $7::int, NULL, NULL, NULL
       )::graphile_worker.job_spec ORDER BY g))
       FROM generate_series(0, $1::int - 1) AS g`,
      [
        range.count,
        range.startSec,
        range.stepSec,
        range.url,
        range.cate,
        range.firstKey,
        MAX_ATTEMPTS,
      ],
    ),
  );
}

function adapter(runner: Runner, utils: WorkerUtils): PeerAdapter {
  return {
    batchSize: 1000,
    addOne: async ({ job, dueMs }) =>
      void (await runner.addJob('deliver', job, {
        runAt: new Date(dueMs),
        maxAttempts: MAX_ATTEMPTS,
      })),
    addMany: async (jobs: DueJob[]) =>
      void (await utils.addJobs(
        jobs.map(({ job, dueMs }) => ({
          identifier: 'deliver',
          payload: job,
          runAt: new Date(dueMs),
          maxAttempts: MAX_ATTEMPTS,
        })),
      )),
    enqueue,
    stop: async () => {
      await runner.stop();
      await utils.release();
      http.close();
    },
  };
}

async function main(): Promise<void> {
  const runner = await run({
    connectionString: options.connectionString,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 2000, // its default: jobs due in the future are found by polling
    logger: silent,
    taskList: {
      deliver: (payload, helpers) => http.deliver(payload as PeerJob, helpers.job.id),
    },
    // Its documented batching (worker.graphile.org/docs/performance#batching), off by default:
    // jobs fetched and locked concurrency + 1 at a time, completions written in batches. Without
    // it, it fetches and completes one job per round trip (about half the burst rate here).
    preset: {
      worker: {
        localQueue: { size: options.concurrency + 1 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  });
  // The bulk call lives on WorkerUtils (a producer's handle), with its own small pool.
  const utils = await makeWorkerUtils({
    connectionString: options.connectionString,
    logger: silent,
  });
  servePeer(adapter(runner, utils));
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
