import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, QueryRunner } from 'typeorm';

/** Arbitrary constant naming this service's migration lock (pg_advisory_lock takes a bigint). */
const MIGRATION_LOCK_ID = 7_080_000_001;
/** How often a replica that does not hold the lock asks again. */
const LOCK_POLL_MS = 150;
/** How often the wait is logged, so that a stuck migration elsewhere is visible. */
const LOCK_WAIT_LOG_MS = 10_000;

/**
 * Applies pending migrations at start. Replicas booting together serialize on a session-level
 * advisory lock held on a dedicated connection, so each migration runs exactly once; the others
 * wait, then find nothing left to do.
 *
 * The lock is polled with pg_try_advisory_lock rather than waited for with pg_advisory_lock: a
 * session blocked in pg_advisory_lock sits in an open statement with a snapshot, and
 * CREATE INDEX CONCURRENTLY in the lock holder's migration waits for every such snapshot to end,
 * so a blocking wait deadlocks the boot (seen with five replicas booting at once). Each poll is a
 * statement of its own that ends at once.
 */
@Injectable()
export class MigrationRunner implements OnModuleInit {
  private readonly logger = new Logger(MigrationRunner.name);
  private done = false;

  constructor(private readonly dataSource: DataSource) {}

  get migrationsApplied(): boolean {
    return this.done;
  }

  async onModuleInit(): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let locked = false;
    try {
      await this.acquire(runner);
      locked = true;
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      for (const migration of applied) this.logger.log(`applied migration ${migration.name}`);
      this.done = true;
    } finally {
      if (locked) {
        await runner
          .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID])
          .catch(() => undefined);
      }
      await runner.release();
    }
  }

  private async acquire(runner: QueryRunner): Promise<void> {
    const started = Date.now();
    let logged = started;
    for (;;) {
      const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        MIGRATION_LOCK_ID,
      ])) as Array<{ locked: boolean }>;
      if (rows[0]?.locked) return;
      if (Date.now() - logged >= LOCK_WAIT_LOG_MS) {
        logged = Date.now();
        this.logger.log(
          `waiting for another replica's migrations (${Math.round((logged - started) / 1000)} s)`,
        );
      }
      await sleep(LOCK_POLL_MS);
    }
  }
}
