import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runMigrationsLocked } from './migration-lock';

/**
 * Applies pending migrations at start, under the migration lock shared with replicas booting at
 * the same time and with `npm run migration:run` (see migration-lock.ts).
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
    await runMigrationsLocked(this.dataSource, this.logger);
    this.done = true;
  }
}
