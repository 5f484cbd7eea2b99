import { DataSourceOptions } from 'typeorm';
import { InitialSchema1764172800000 } from './migrations/1764172800000-InitialSchema';
import { CategorySettingsAndAttempts1764180000000 } from './migrations/1764180000000-CategorySettingsAndAttempts';
import { FailedTasksByCategoryIndex1764190000000 } from './migrations/1764190000000-FailedTasksByCategoryIndex';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  applicationName?: string;
}

/** Every migration, in order. Listed explicitly so that build output and ts-node agree. */
export const MIGRATIONS = [
  InitialSchema1764172800000,
  CategorySettingsAndAttempts1764180000000,
  FailedTasksByCategoryIndex1764190000000,
];

/**
 * The one builder of TypeORM options, used by the app, ormconfig.ts (CLI) and tests.
 * All SQL is hand-written, so there are no entities; schema changes only through MIGRATIONS.
 */
export function buildDataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: ['error'],
    extra: {
      max: settings.poolSize,
      application_name: settings.applicationName ?? 'delay-tasks',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    },
  };
}
