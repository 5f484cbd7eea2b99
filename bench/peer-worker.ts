/**
 * The peer for the benchmark: graphile-worker on the same PostgreSQL, whose `deliver` task POSTs
 * the same body, with the same headers the receiver reads, through a keep-alive agent with axios
 * (as delay-tasks does). Started by bench/run.ts with one JSON argument; replies 'ready' over IPC.
 */
import axios from 'axios';
import { Logger, run, Runner } from 'graphile-worker';
import { Agent } from 'node:http';

interface PeerOptions {
  connectionString: string;
  concurrency: number;
}

interface DeliverPayload {
  cate: string;
  key: number;
  params: unknown;
  due: string;
  url: string;
}

const options = JSON.parse(process.argv[2]) as PeerOptions;
const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });

async function deliver(payload: unknown, helpers: { job: { id: string } }): Promise<void> {
  const task = payload as DeliverPayload;
  const body = `{"cate":${JSON.stringify(task.cate)},"inAdvance":false,"key":${task.key},"params":${JSON.stringify(task.params)}}`;
  const response = await axios.post(task.url, body, {
    httpAgent: agent,
    timeout: 5000,
    maxRedirects: 0,
    validateStatus: () => true,
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'x-delivery-id': helpers.job.id,
      'x-task-due': task.due,
    },
  });
  if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`);
}

async function main(): Promise<void> {
  const runner: Runner = await run({
    connectionString: options.connectionString,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 2000, // its default: jobs due in the future are found by polling
    logger: new Logger(() => () => undefined),
    taskList: { deliver },
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
  process.send?.('ready');
  process.on('message', (message) => {
    if (message === 'stop') void runner.stop().then(() => process.exit(0));
  });
  process.on('disconnect', () => void runner.stop().then(() => process.exit(0)));
}

void main();
