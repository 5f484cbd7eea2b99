import { DataSource } from 'typeorm';
import { loadConfig } from '../config/load-config';
import { buildDataSourceOptions } from './data-source-options';

/**
 * The data source of the command-line tools: `npm run migration:run` (migrate.cli.ts) and the
 * TypeORM CLI (ormconfig.ts, for migration:generate). Needs DATABASE_URL.
 */
export function createCliDataSource(): DataSource {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL must be set to run migration commands');
  return new DataSource(
    buildDataSourceOptions({
      url: config.databaseUrl,
      poolSize: 2,
      applicationName: 'delay-tasks-cli',
    }),
  );
}
