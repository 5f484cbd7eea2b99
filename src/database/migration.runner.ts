import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Arbitrary constant naming this service's migration lock (pg_advisory_lock takes a bigint). */
const MIGRATION_LOCK_ID = 7_080_000_001;

/**
 * Applies pending migrations at start. Replicas booting together serialize on a session-level
 * advisory lock held on a dedicated connection, so each migration runs exactly once; the others
 * wait, then find nothing left to do.
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
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      for (const migration of applied) this.logger.log(`applied migration ${migration.name}`);
      this.done = true;
    } finally {
      await runner
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID])
        .catch(() => undefined);
      await runner.release();
    }
  }
}
