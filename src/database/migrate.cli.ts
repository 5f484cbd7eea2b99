import { Logger } from '@nestjs/common';
import { createCliDataSource } from './cli-data-source';
import { runMigrationsLocked } from './migration-lock';

/**
 * `npm run migration:run` (from the sources) or `node dist/database/migrate.cli.js` (built):
 * applies pending migrations to DATABASE_URL, each in its own transaction, under the same
 * advisory lock as the service's start-up, so it never runs a migration alongside a booting
 * replica. Exits 1 when a migration fails.
 */
async function migrate(): Promise<void> {
  const logger = new Logger('Migrations');
  const dataSource = createCliDataSource();
  await dataSource.initialize();
  try {
    const applied = await runMigrationsLocked(dataSource, logger);
    if (applied.length === 0) logger.log('no pending migrations');
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((error: unknown) => {
  new Logger('Migrations').error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
