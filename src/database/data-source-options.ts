import { DataSourceOptions } from 'typeorm';
import { QueryErrorLogger } from './query-error.logger';
import { InitialSchema1764172800000 } from './migrations/1764172800000-InitialSchema';
import { CategorySettingsAndAttempts1764180000000 } from './migrations/1764180000000-CategorySettingsAndAttempts';
import { FailedTasksByCategoryIndex1764190000000 } from './migrations/1764190000000-FailedTasksByCategoryIndex';
import { ClaimTokens1764200000000 } from './migrations/1764200000000-ClaimTokens';
import { FlowControl1764210000000 } from './migrations/1764210000000-FlowControl';
import { RateLimitsAndEventsHandler1764220000000 } from './migrations/1764220000000-RateLimitsAndEventsHandler';
import { EventsOutbox1764230000000 } from './migrations/1764230000000-EventsOutbox';
import { AuditLog1764240000000 } from './migrations/1764240000000-AuditLog';
import { DashboardStats1764250000000 } from './migrations/1764250000000-DashboardStats';
import { Schedules1764260000000 } from './migrations/1764260000000-Schedules';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  applicationName?: string;
  /** lock_timeout of every connection (the API's pool); unset: wait for locks without limit. */
  lockTimeoutMs?: number;
}

/** Every migration, in order. Listed explicitly so that build output and ts-node agree. */
export const MIGRATIONS = [
  InitialSchema1764172800000,
  CategorySettingsAndAttempts1764180000000,
  FailedTasksByCategoryIndex1764190000000,
  ClaimTokens1764200000000,
  FlowControl1764210000000,
  RateLimitsAndEventsHandler1764220000000,
  EventsOutbox1764230000000,
  AuditLog1764240000000,
  DashboardStats1764250000000,
  Schedules1764260000000,
];

/** See `idle_in_transaction_session_timeout` below. */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

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
    logger: new QueryErrorLogger(), // failed statements without their parameters (secrets)
    logging: ['error', 'warn'],
    extra: {
      max: settings.poolSize,
      application_name: settings.applicationName ?? 'delay-tasks',
      connectionTimeoutMillis: 10_000,
      // A peer that vanished without FIN/RST (partition, failover) is noticed after minutes, not
      // after the kernel's default two hours of idleness.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A replica stopped or hung inside a transaction (SIGSTOP, a VM pause) would hold its row
      // locks for as long as it is gone: other replicas' claims and the sweeper SKIP LOCKED past
      // those rows and API writes to them wait. The server ends such a session instead. Every
      // transaction of this service runs its statements back to back, so none is idle this long.
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      // An API write to a row that another session keeps locked (a stuck transaction, a lock
      // queue behind a long statement) fails with 55P03 after this long instead of holding its
      // request and connection for as long as the lock lasts; retryTransient (transient-retry.ts)
      // runs it again, and the client gets 503 + Retry-After at last. Not on the dispatcher's
      // pool (dispatch-pool.ts): the row locks it waits for are the API's, which this keeps short.
      // Migrations lift it on their session (migration-lock.ts).
      lock_timeout: settings.lockTimeoutMs,
    },
  };
}
