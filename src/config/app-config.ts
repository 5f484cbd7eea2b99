/** Validated runtime configuration. Built once at boot by `loadConfig()`. */
export interface AppConfig {
  /** Interface to listen on; '' means all interfaces (as the original). */
  listenHost: string;
  port: number;
  /** External PostgreSQL; when absent the service starts an embedded one under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPostgresPort: number;
  databasePoolSize: number;

  callbackTimeoutMs: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  callbackAllowCidrs: string[];

  /** false makes an API-only replica: it accepts tasks but never delivers them. */
  dispatchEnabled: boolean;
  dispatchConcurrency: number;
  dispatchBatchSize: number;
  leaseMarginMs: number;
  pollIntervalMs: number;
  sweepIntervalMs: number;
  shutdownTimeoutMs: number;

  maxParamsBytes: number;
  bodyLimitBytes: number;
  logLevel: LogLevel;
}

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Injection token of the AppConfig object. */
export const APP_CONFIG = Symbol('APP_CONFIG');
