import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/load-config';
import { buildDataSourceOptions } from './src/database/data-source-options';

// Used by the TypeORM CLI (npm run migration:run); needs DATABASE_URL.
const config = loadConfig();
if (!config.databaseUrl) throw new Error('DATABASE_URL must be set to run TypeORM CLI commands');

export default new DataSource(
  buildDataSourceOptions({
    url: config.databaseUrl,
    poolSize: 2,
    applicationName: 'delay-tasks-cli',
  }),
);
