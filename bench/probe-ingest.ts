/**
 * Single-task ingest against one replica, for profiling: `npm run build && npx ts-node
 * --transpile-only bench/probe-ingest.ts [seconds] [--cpu-prof]` (profiles land in bench/results/).
 */
import autocannon from 'autocannon';
import { join } from 'node:path';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase } from './lib/db';
import { startService } from './lib/processes';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const profile = process.argv.includes('--cpu-prof');
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_ingest');
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(__dirname, 'results')}`] : [];
  const service = await startService({ DATABASE_URL: db }, nodeArgs);
  const due = Math.floor(Date.now() / 1000) + 86_400;
  let key = 0;
  const result = await autocannon({
    url: `${service.baseUrl}/task/ingest`,
    method: 'POST',
    connections: 64,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: `{"timestamp":${due},"key":${++key},"params":{"n":${key}}}`,
        }),
      },
    ],
  });
  console.log(
    `ingest: ${Math.round(result['2xx'] / seconds)}/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`,
  );
  await service.stop();
  await dropDatabase(server, 'dt_probe_ingest');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
