/**
 * What a held-back category's due backlog costs the claim of every other category:
 * `npx ts-node --transpile-only bench/probe-held-backlog.ts [backlog=100000]`. Inserts the
 * backlog, due, for a paused category, plus 1,000 due tasks of a live one, then times CLAIM_DUE
 * (rolled back) and NEXT_DUE_DELAY on the dispatcher's session settings, with and without the
 * pause, and after the backlog is parked (PARK_HELD, what the dispatchers do on a pause).
 * Prints milliseconds per statement.
 */
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { DispatchPool } from '../src/database/dispatch-pool';
import { ParkCursor, QueueRepository } from '../src/modules/dispatch/queue.repository';
import { CLAIM_DUE, NEXT_DUE_DELAY } from '../src/modules/dispatch/queue.sql';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase } from './lib/db';

async function timed(
  pool: DispatchPool,
  text: string,
  values: unknown[],
  runs = 20,
): Promise<number> {
  const client = await pool.pool.connect();
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      await client.query('BEGIN');
      const started = performance.now();
      await client.query(text, values);
      times.push(performance.now() - started);
      await client.query('ROLLBACK');
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  const backlog = Number(process.argv[2] ?? 100_000);
  const server = testDatabaseUrl();
  const url = await freshDatabase(server, 'dt_probe_held');
  const dataSource = new DataSource(buildDataSourceOptions({ url, poolSize: 2 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.query(
    `INSERT INTO handlers (cate, url) VALUES ('held', 'http://127.0.0.1:9/'), ('live', 'http://127.0.0.1:9/')`,
  );
  await dataSource.query(
    `INSERT INTO tasks (cate, key, due_at, run_at, params)
     SELECT 'held', k, now() - interval '1 hour', now() - interval '1 hour' + k * interval '1 ms', '{}'
     FROM generate_series(1, $1::int) k`,
    [backlog],
  );
  await dataSource.query(
    `INSERT INTO tasks (cate, key, due_at, run_at, params)
     SELECT 'live', k, now() - interval '1 minute', now() - interval '1 minute', '{}'
     FROM generate_series(1, 1000) k`,
  );
  await dataSource.query('ANALYZE tasks');
  const pool = new DispatchPool(url, 1);
  const claim = [100, 'probe', 5000, 1000, []];
  for (const paused of [false, true]) {
    await dataSource.query(`UPDATE handlers SET paused = $1 WHERE cate = 'held'`, [paused]);
    const claimMs = await timed(pool, CLAIM_DUE, claim);
    const nextMs = await timed(pool, NEXT_DUE_DELAY, [[]]);
    console.log(
      `held backlog ${backlog}, held ${paused}: claim of 100 ${claimMs.toFixed(2)} ms, next due ${nextMs.toFixed(2)} ms (median of 20)`,
    );
  }
  // What the dispatchers do within a second or so of the pause: park the held backlog.
  const queue = new QueueRepository(pool);
  const parkStarted = performance.now();
  let parked = 0;
  let after: ParkCursor | undefined;
  for (;;) {
    const chunk = await queue.parkHeld(['held'], 5000, after);
    parked += chunk.parked;
    after = chunk.next;
    if (chunk.parked < 5000) break;
  }
  const parkMs = performance.now() - parkStarted;
  await dataSource.query('ANALYZE tasks');
  const claimMs = await timed(pool, CLAIM_DUE, claim);
  const nextMs = await timed(pool, NEXT_DUE_DELAY, [[]]);
  console.log(
    `parked ${parked} in ${parkMs.toFixed(0)} ms; then claim of 100 ${claimMs.toFixed(2)} ms, next due ${nextMs.toFixed(2)} ms (median of 20)`,
  );
  await pool.onApplicationShutdown();
  await dataSource.destroy();
  await dropDatabase(server, 'dt_probe_held');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
