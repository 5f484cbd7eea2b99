import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ipaddr from 'ipaddr.js';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  ValidationError,
} from 'class-validator';
import {
  AppConfig,
  CALLBACK_NETWORK_POLICIES,
  CallbackNetworkPolicy,
  LOG_FORMATS,
  LOG_LEVELS,
  LogFormat,
  LogLevel,
} from './app-config';

/** Raised when the environment or CONF_FILE holds a bad value; the message names the variable. */
export class ConfigError extends Error {}

type RawEnv = Record<string, string | undefined>;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;

const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

/** One property per environment variable; names are the variable names, so messages name them. */
class EnvironmentVariables {
  @IsOptional() @IsString() LISTEN_HOST?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT?: number;
  @IsOptional()
  @IsString()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;
  @IsOptional() @IsString() DATA_DIR?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) EMBEDDED_PG_PORT?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(200) DB_POOL_SIZE?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(600_000) DB_LOCK_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000) CALLBACK_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1024) CAPTURE_RESPONSE_BYTES?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100) MAX_ATTEMPTS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3_600_000) RETRY_BASE_DELAY_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(86_400_000) RETRY_MAX_DELAY_MS?: number;
  @IsOptional() @Transform(toList) @IsString({ each: true }) CALLBACK_ALLOW_CIDRS?: string[];
  @IsOptional() @IsIn(CALLBACK_NETWORK_POLICIES) CALLBACK_NETWORK_POLICY?: CallbackNetworkPolicy;
  @IsOptional()
  @IsIn(['true', 'false', '1', '0'], { message: 'DISPATCH_ENABLED must be true or false' })
  DISPATCH_ENABLED?: string;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000) DISPATCH_CONCURRENCY?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(5_000) DISPATCH_BATCH_SIZE?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000) LEASE_MARGIN_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000) POLL_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000) SWEEP_INTERVAL_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(3_600_000) SHUTDOWN_TIMEOUT_MS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(36_500) RETENTION_ATTEMPTS_DAYS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(36_500) RETENTION_FAILED_DAYS?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(16_777_216) MAX_PARAMS_BYTES?: number;
  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(268_435_456) BODY_LIMIT_BYTES?: number;
  @IsOptional() @Transform(toList) @IsString({ each: true }) API_KEYS?: string[];
  @IsOptional() @Transform(toList) @IsString({ each: true }) API_KEYS_READONLY?: string[];
  @IsOptional() @Transform(toList) @IsString({ each: true }) ALLOWED_ORIGINS?: string[];
  @IsOptional()
  @IsIn(['true', 'false', '1', '0'], { message: 'METRICS_REQUIRE_AUTH must be true or false' })
  METRICS_REQUIRE_AUTH?: string;
  @IsOptional() @IsString() UI_DIR?: string;
  @IsOptional() @IsIn(LOG_LEVELS) LOG_LEVEL?: LogLevel;
  @IsOptional() @IsIn(LOG_FORMATS) LOG_FORMAT?: LogFormat;
}

/**
 * dist/ui of this installation: this file is src/config/load-config.ts or, built,
 * dist/config/load-config.js, both two levels below the project's root.
 */
export const DEFAULT_UI_DIR = join(__dirname, '..', '..', 'dist', 'ui');

/** The original's sample.conf.json keys and the variables they stand for. */
const CONF_FILE_KEYS: Record<string, keyof EnvironmentVariables> = {
  'listen-host': 'LISTEN_HOST',
  'listen-port': 'PORT',
  'cb-retry-times': 'MAX_ATTEMPTS',
  'saving-home': 'DATA_DIR',
};

/**
 * Reads configuration from the environment and, when CONF_FILE names one, from a config file in
 * the original service's format. Environment variables win over the file.
 */
export function loadConfig(env: RawEnv = process.env): AppConfig {
  const raw: RawEnv = { ...readConfFile(env.CONF_FILE), ...definedOnly(env) };
  const vars = plainToInstance(EnvironmentVariables, raw, { excludeExtraneousValues: false });
  const errors = validateSync(vars, { skipMissingProperties: false });
  const messages = errors.flatMap(describe);
  const cidrs = vars.CALLBACK_ALLOW_CIDRS ?? [];
  messages.push(...cidrs.filter((c) => !isCidr(c)).map(cidrMessage));
  const apiKeys = vars.API_KEYS ?? [];
  messages.push(...apiKeyMessages('API_KEYS', apiKeys));
  const readonlyKeys = vars.API_KEYS_READONLY ?? [];
  messages.push(...apiKeyMessages('API_KEYS_READONLY', readonlyKeys));
  messages.push(...sharedKeyMessages(apiKeys, readonlyKeys));
  const origins = vars.ALLOWED_ORIGINS ?? [];
  messages.push(...origins.filter((o) => normalizeOrigin(o) === undefined).map(originMessage));
  if (messages.length > 0) throw new ConfigError(messages.join('; '));

  return {
    listenHost: vars.LISTEN_HOST ?? '',
    port: vars.PORT ?? 7080,
    databaseUrl: vars.DATABASE_URL,
    dataDir: vars.DATA_DIR ?? './data',
    embeddedPostgresPort: vars.EMBEDDED_PG_PORT ?? 0,
    databasePoolSize: vars.DB_POOL_SIZE ?? 10,
    databaseLockTimeoutMs: vars.DB_LOCK_TIMEOUT_MS ?? 2000,
    callbackTimeoutMs: vars.CALLBACK_TIMEOUT_MS ?? 5000,
    captureResponseBytes: vars.CAPTURE_RESPONSE_BYTES ?? 1024,
    maxAttempts: vars.MAX_ATTEMPTS ?? 3,
    retryBaseDelayMs: vars.RETRY_BASE_DELAY_MS ?? 1000,
    retryMaxDelayMs: vars.RETRY_MAX_DELAY_MS ?? 300_000,
    callbackAllowCidrs: cidrs,
    callbackNetworkPolicy: vars.CALLBACK_NETWORK_POLICY ?? 'private',
    dispatchEnabled:
      vars.DISPATCH_ENABLED === undefined || /^(true|1)$/.test(vars.DISPATCH_ENABLED),
    dispatchConcurrency: vars.DISPATCH_CONCURRENCY ?? 64,
    dispatchBatchSize: vars.DISPATCH_BATCH_SIZE ?? 100,
    leaseMarginMs: vars.LEASE_MARGIN_MS ?? 10_000,
    pollIntervalMs: vars.POLL_INTERVAL_MS ?? 2000,
    sweepIntervalMs: vars.SWEEP_INTERVAL_MS ?? 5000,
    shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS ?? 10_000,
    retentionAttemptsDays: vars.RETENTION_ATTEMPTS_DAYS ?? 7,
    retentionFailedDays: vars.RETENTION_FAILED_DAYS ?? 30,
    maxParamsBytes: vars.MAX_PARAMS_BYTES ?? 65_536,
    bodyLimitBytes: vars.BODY_LIMIT_BYTES ?? 1_048_576,
    apiKeyHashes: apiKeys.map(hashApiKey),
    apiKeyReadonlyHashes: readonlyKeys.map(hashApiKey),
    metricsRequireAuth: /^(true|1)$/.test(vars.METRICS_REQUIRE_AUTH ?? 'false'),
    allowedOrigins: origins.map((origin) => normalizeOrigin(origin) as string),
    uiDir: resolve(vars.UI_DIR ?? DEFAULT_UI_DIR),
    logLevel: vars.LOG_LEVEL ?? 'log',
    logFormat: vars.LOG_FORMAT ?? 'auto',
  };
}

/** LOG_FORMAT=auto means human-readable on a terminal (a developer), JSON lines otherwise. */
export function resolveLogFormat(
  format: LogFormat,
  stdoutIsTTY: boolean = process.stdout.isTTY === true,
): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return stdoutIsTTY ? 'pretty' : 'json';
}

/** SHA-256 of an API key, hex: what the configuration keeps instead of the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function definedOnly(env: RawEnv): RawEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
}

function readConfFile(path: string | undefined): RawEnv {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`CONF_FILE ${path} cannot be read as JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`CONF_FILE ${path} must hold a JSON object`);
  }
  const raw: RawEnv = {};
  for (const [key, value] of Object.entries(parsed)) {
    const variable = CONF_FILE_KEYS[key];
    if (variable === undefined) continue; // unknown keys are ignored, as the original does
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ConfigError(`CONF_FILE ${path}: "${key}" must be a string or a number`);
    }
    if (String(value) !== '') raw[variable] = String(value);
  }
  return raw;
}

function describe(error: ValidationError): string[] {
  return Object.values(error.constraints ?? {});
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return ipaddr.isValid(text);
  }
}

function cidrMessage(cidr: string): string {
  return `CALLBACK_ALLOW_CIDRS entry "${cidr}" is not an IP address or CIDR range`;
}

/** RFC 6750 bearer-token characters; long enough not to be guessed. */
const API_KEY_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;
const API_KEY_LENGTH = { min: 16, max: 512 };
/** The least estimated strength of a key (apiKeyStrengthBits), in bits. */
export const API_KEY_MIN_BITS = 64;

/** Entries are named by position, never by value: the message goes to the logs. */
function apiKeyMessages(variable: string, keys: string[]): string[] {
  return keys.flatMap((key, index) => {
    const entry = `${variable} entry ${index + 1}`;
    if (
      !API_KEY_PATTERN.test(key) ||
      key.length < API_KEY_LENGTH.min ||
      key.length > API_KEY_LENGTH.max
    ) {
      return [
        `${entry} must be ${API_KEY_LENGTH.min} to ${API_KEY_LENGTH.max} ` +
          'characters from A-Z a-z 0-9 - . _ ~ + / (then = padding)',
      ];
    }
    const bits = apiKeyStrengthBits(key);
    if (bits >= API_KEY_MIN_BITS) return [];
    return [
      `${entry} is too weak: about ${Math.floor(bits)} bits estimated, ${API_KEY_MIN_BITS} needed ` +
        '(a repeated character counts once; generate keys, e.g. openssl rand -hex 32)',
    ];
  });
}

/** A key in both lists would have two roles: refused, naming the read-only entry by position. */
function sharedKeyMessages(fullKeys: string[], readonlyKeys: string[]): string[] {
  const full = new Set(fullKeys);
  return readonlyKeys.flatMap((key, index) =>
    full.has(key)
      ? [`API_KEYS_READONLY entry ${index + 1} is also in API_KEYS: give each key one role`]
      : [],
  );
}

/** Character classes of API keys and their sizes: lower case, upper case, digits, symbols. */
const KEY_CHARACTER_CLASSES = [/[a-z]/, /[A-Z]/, /[0-9]/, /[-._~+/]/];
const KEY_CHARACTER_CLASS_SIZES = [26, 26, 10, 6];

/**
 * A deliberately pessimistic estimate of a key's entropy: each distinct character is worth
 * log2 of the alphabet the key draws from (the sizes of the classes it uses), and a character
 * that repeats adds nothing, nor does "=" padding. `openssl rand -hex 32` (64 hex digits: 16
 * distinct from an alphabet of 36) scores 82 bits, a UUID about 90, "aaaa…" 5, "abab…" 9.
 */
export function apiKeyStrengthBits(key: string): number {
  const characters = new Set(key.replace(/=+$/, ''));
  const alphabet = KEY_CHARACTER_CLASSES.reduce(
    (size, pattern, index) =>
      [...characters].some((c) => pattern.test(c)) ? size + KEY_CHARACTER_CLASS_SIZES[index] : size,
    0,
  );
  return alphabet === 0 ? 0 : characters.size * Math.log2(alphabet);
}

/** The origin `text` names (scheme://host[:port], normalized), if it is one; else undefined. */
export function normalizeOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const originOnly =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    !/[?#]/.test(text);
  return originOnly ? url.origin : undefined;
}

function originMessage(origin: string): string {
  return (
    `ALLOWED_ORIGINS entry "${origin}" is not an origin: scheme://host[:port] with http or ` +
    'https and nothing after it, e.g. https://tasks.example.com'
  );
}
