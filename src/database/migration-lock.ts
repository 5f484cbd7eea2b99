import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, Migration, MigrationExecutor, QueryRunner } from 'typeorm';

/** Arbitrary constant naming this service's migration lock (pg_advisory_lock takes a bigint). */
export const MIGRATION_LOCK_ID = 7_080_000_001;
/** How often a session that does not hold the lock asks again. */
const LOCK_POLL_MS = 150;
/** How often the wait is logged, so that a stuck migration elsewhere is visible. */
const LOCK_WAIT_LOG_MS = 10_000;

export interface MigrationLog {
  log(message: string): void;
}

/**
 * Applies pending migrations, each in its own transaction, holding a session-level advisory lock
 * on the connection that runs them. Both ways of migrating come through here, the service's
 * start-up (MigrationRunner) and `npm run migration:run` (migrate.cli.ts), so replicas booting
 * together and a CLI run serialize: each migration runs exactly once; the others wait, then find
 * nothing left to do.
 */
export async function runMigrationsLocked(
  dataSource: DataSource,
  logger: MigrationLog,
): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  let locked = false;
  try {
    // The API pool's lock_timeout (data-source-options.ts) is for requests. A migration waits for
    // its locks as long as it takes: a CREATE INDEX CONCURRENTLY that gave up half-way would
    // leave an invalid index behind.
    await runner.query('SET lock_timeout = 0');
    await acquireMigrationLock(runner, logger);
    locked = true;
    const executor = new MigrationExecutor(dataSource, runner);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    for (const migration of applied) logger.log(`applied migration ${migration.name}`);
    return applied;
  } finally {
    if (locked) {
      await runner
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID])
        .catch(() => undefined);
    }
    await runner.query('RESET lock_timeout').catch(() => undefined);
    await runner.release();
  }
}

/**
 * Polls pg_try_advisory_lock rather than waiting in pg_advisory_lock: a session blocked in
 * pg_advisory_lock sits in an open statement with a snapshot, and CREATE INDEX CONCURRENTLY in
 * the lock holder's migration waits for every such snapshot to end, so a blocking wait deadlocks
 * the boot (seen with five replicas booting at once). Each poll is a statement of its own that
 * ends at once.
 */
async function acquireMigrationLock(runner: QueryRunner, logger: MigrationLog): Promise<void> {
  const started = Date.now();
  let logged = started;
  for (;;) {
    const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
      MIGRATION_LOCK_ID,
    ])) as Array<{ locked: boolean }>;
    if (rows[0]?.locked) return;
    if (Date.now() - logged >= LOCK_WAIT_LOG_MS) {
      logged = Date.now();
      logger.log(
        `waiting for another session's migrations (${Math.round((logged - started) / 1000)} s)`,
      );
    }
    await sleep(LOCK_POLL_MS);
  }
}
