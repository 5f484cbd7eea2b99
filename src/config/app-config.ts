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
  /**
   * lock_timeout of the API's connections: an API statement waits at most this long for a lock
   * (a row another request or the dispatcher is writing), then is retried and at last answered
   * 503. The dispatcher's connections and migrations are not limited.
   */
  databaseLockTimeoutMs: number;

  callbackTimeoutMs: number;
  /**
   * Bytes of a failed delivery's response body kept in lastError and the attempt history (which
   * any API client may read), 0 to 1024; 0 keeps only the status.
   */
  captureResponseBytes: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  callbackAllowCidrs: string[];
  /** SSRF policy for callbacks: 'public' also refuses private ranges (common/network-policy.ts). */
  callbackNetworkPolicy: CallbackNetworkPolicy;

  /** false makes an API-only replica: it accepts tasks but never delivers them. */
  dispatchEnabled: boolean;
  dispatchConcurrency: number;
  dispatchBatchSize: number;
  leaseMarginMs: number;
  pollIntervalMs: number;
  sweepIntervalMs: number;
  shutdownTimeoutMs: number;
  /** Days attempt history is kept; 0 keeps it forever. */
  retentionAttemptsDays: number;
  /** Days a failed task is kept after its last attempt; 0 keeps it forever. */
  retentionFailedDays: number;

  maxParamsBytes: number;
  bodyLimitBytes: number;
  /**
   * SHA-256 (hex) of each API_KEYS entry (full access); the keys themselves are not kept. Auth is
   * on when this or apiKeyReadonlyHashes is non-empty.
   */
  apiKeyHashes: string[];
  /** SHA-256 (hex) of each API_KEYS_READONLY entry: keys that may only GET and HEAD. */
  apiKeyReadonlyHashes: string[];
  /** With API keys set, /metrics needs one too; by default scrapers need none. */
  metricsRequireAuth: boolean;
  /**
   * ALLOWED_ORIGINS, normalized (`https://host[:port]`): web origins besides the service's own
   * that may send state-changing requests (cross-site-request.middleware.ts).
   */
  allowedOrigins: string[];
  /**
   * UI_DIR: the dashboard's built files, served at /ui (index.html and assets/). Default: dist/ui
   * of this installation, where the UI's build writes them.
   */
  uiDir: string;
  logLevel: LogLevel;
  /** 'auto': human-readable when stdout is a terminal, JSON lines otherwise (resolveLogFormat). */
  logFormat: LogFormat;
}

/** Nest's level names, from the most severe; 'silent' logs nothing (tests). */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CALLBACK_NETWORK_POLICIES = ['private', 'public'] as const;
export type CallbackNetworkPolicy = (typeof CALLBACK_NETWORK_POLICIES)[number];

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Injection token of the AppConfig object. */
export const APP_CONFIG = Symbol('APP_CONFIG');
