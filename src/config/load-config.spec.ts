import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from './app-config';
import {
  apiKeyStrengthBits,
  ConfigError,
  DEFAULT_UI_DIR,
  hashApiKey,
  loadConfig,
  resolveLogFormat,
} from './load-config';

const DEFAULTS: AppConfig = {
  listenHost: '',
  port: 7080,
  databaseUrl: undefined,
  dataDir: './data',
  embeddedPostgresPort: 0,
  databasePoolSize: 10,
  databaseLockTimeoutMs: 2000,
  callbackTimeoutMs: 5000,
  captureResponseBytes: 1024,
  maxAttempts: 3,
  retryBaseDelayMs: 1000,
  retryMaxDelayMs: 300_000,
  callbackAllowCidrs: [],
  callbackNetworkPolicy: 'private',
  dispatchEnabled: true,
  dispatchConcurrency: 64,
  dispatchBatchSize: 100,
  leaseMarginMs: 10_000,
  pollIntervalMs: 2000,
  sweepIntervalMs: 5000,
  shutdownTimeoutMs: 10_000,
  retentionAttemptsDays: 7,
  retentionFailedDays: 30,
  maxParamsBytes: 65_536,
  bodyLimitBytes: 1_048_576,
  apiKeyHashes: [],
  apiKeyReadonlyHashes: [],
  metricsRequireAuth: false,
  allowedOrigins: [],
  uiDir: DEFAULT_UI_DIR,
  logLevel: 'log',
  logFormat: 'auto',
};

/** The error loadConfig throws for `env`; fails the test when it throws none. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    expect(loadConfig({})).toStrictEqual(DEFAULTS);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' })).toStrictEqual(DEFAULTS);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      LISTEN_HOST: '127.0.0.1',
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/tasks',
      DATA_DIR: '/var/lib/delay-tasks',
      EMBEDDED_PG_PORT: '5433',
      DB_POOL_SIZE: '20',
      DB_LOCK_TIMEOUT_MS: '2000',
      CALLBACK_TIMEOUT_MS: '2500',
      CAPTURE_RESPONSE_BYTES: '0',
      MAX_ATTEMPTS: '7',
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_MS: '60000',
      CALLBACK_ALLOW_CIDRS: '127.0.0.0/8, ::1 ,10.1.2.3',
      CALLBACK_NETWORK_POLICY: 'public',
      DISPATCH_ENABLED: 'false',
      DISPATCH_CONCURRENCY: '16',
      DISPATCH_BATCH_SIZE: '50',
      LEASE_MARGIN_MS: '5000',
      POLL_INTERVAL_MS: '1000',
      SWEEP_INTERVAL_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: '0',
      RETENTION_ATTEMPTS_DAYS: '0',
      RETENTION_FAILED_DAYS: '90',
      MAX_PARAMS_BYTES: '1024',
      BODY_LIMIT_BYTES: '4096',
      API_KEYS: 'first-key-0123456789, second/key+AbCdEf==',
      API_KEYS_READONLY: ' reader-key-0123456789 ,',
      METRICS_REQUIRE_AUTH: 'true',
      ALLOWED_ORIGINS: 'https://Ops.Example.com:443/, http://localhost:5173',
      UI_DIR: '/srv/delay-tasks/ui',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
    });
    expect(config).toStrictEqual<AppConfig>({
      listenHost: '127.0.0.1',
      port: 8080,
      databaseUrl: 'postgres://u:p@db:5432/tasks',
      dataDir: '/var/lib/delay-tasks',
      embeddedPostgresPort: 5433,
      databasePoolSize: 20,
      databaseLockTimeoutMs: 2000,
      callbackTimeoutMs: 2500,
      captureResponseBytes: 0,
      maxAttempts: 7,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 60_000,
      callbackAllowCidrs: ['127.0.0.0/8', '::1', '10.1.2.3'],
      callbackNetworkPolicy: 'public',
      dispatchEnabled: false,
      dispatchConcurrency: 16,
      dispatchBatchSize: 50,
      leaseMarginMs: 5000,
      pollIntervalMs: 1000,
      sweepIntervalMs: 3000,
      shutdownTimeoutMs: 0,
      retentionAttemptsDays: 0,
      retentionFailedDays: 90,
      maxParamsBytes: 1024,
      bodyLimitBytes: 4096,
      apiKeyHashes: [hashApiKey('first-key-0123456789'), hashApiKey('second/key+AbCdEf==')],
      apiKeyReadonlyHashes: [hashApiKey('reader-key-0123456789')],
      metricsRequireAuth: true,
      allowedOrigins: ['https://ops.example.com', 'http://localhost:5173'],
      uiDir: '/srv/delay-tasks/ui',
      logLevel: 'debug',
      logFormat: 'json',
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads DISPATCH_ENABLED=%s as %s', (value, expected) => {
    expect(loadConfig({ DISPATCH_ENABLED: value }).dispatchEnabled).toBe(expected);
  });

  it('keeps SHA-256 hashes of API_KEYS, never the keys themselves', () => {
    const config = loadConfig({ API_KEYS: 'k-0123456789abcdef' });
    expect(config.apiKeyHashes).toStrictEqual([
      '6b1ed3249bfeaf163cc86042729f1023caea2e1d2f3594407894563fdf054b42',
    ]);
    expect(JSON.stringify(config)).not.toContain('k-0123456789abcdef');
  });

  describe('API_KEYS_READONLY', () => {
    it('keeps SHA-256 hashes of the read-only keys apart from the full-access ones', () => {
      const config = loadConfig({
        API_KEYS: 'k-0123456789abcdef',
        API_KEYS_READONLY: 'r-0123456789abcdef, Kq7vXz2Lm9PwR4tN',
      });
      expect(config.apiKeyHashes).toStrictEqual([hashApiKey('k-0123456789abcdef')]);
      expect(config.apiKeyReadonlyHashes).toStrictEqual([
        hashApiKey('r-0123456789abcdef'),
        hashApiKey('Kq7vXz2Lm9PwR4tN'),
      ]);
      expect(JSON.stringify(config)).not.toMatch(/r-0123456789abcdef|Kq7vXz2Lm9PwR4tN/);
    });

    it('may be set without API_KEYS (auth on, nobody can write)', () => {
      const config = loadConfig({ API_KEYS_READONLY: 'r-0123456789abcdef' });
      expect(config.apiKeyHashes).toStrictEqual([]);
      expect(config.apiKeyReadonlyHashes).toStrictEqual([hashApiKey('r-0123456789abcdef')]);
    });

    it('treats an empty value as unset', () => {
      expect(loadConfig({ API_KEYS_READONLY: '' }).apiKeyReadonlyHashes).toStrictEqual([]);
      expect(loadConfig({ API_KEYS_READONLY: ' , ' }).apiKeyReadonlyHashes).toStrictEqual([]);
    });

    it('names a malformed entry by position and variable, never by value', () => {
      const { message } = configError({ API_KEYS_READONLY: 'good-key-0123456789,short key' });
      expect(message).toMatch(/^API_KEYS_READONLY entry 2 must be 16 to 512 characters/);
      expect(message).not.toContain('short key');
    });

    it('applies the same strength rule as API_KEYS', () => {
      const weak = 'abcdefgh'.repeat(4);
      const { message } = configError({ API_KEYS_READONLY: weak });
      expect(message).toMatch(/^API_KEYS_READONLY entry 1 is too weak: about \d+ bits/);
      expect(message).not.toContain(weak);
    });

    it('refuses a key that is in both lists, naming neither key', () => {
      const key = 'Kq7vXz2Lm9PwR4tN';
      const { message } = configError({
        API_KEYS: `k-0123456789abcdef,${key}`,
        API_KEYS_READONLY: `r-0123456789abcdef,${key}`,
      });
      expect(message).toBe('API_KEYS_READONLY entry 2 is also in API_KEYS: give each key one role');
    });

    it('reports bad entries of both lists at once', () => {
      const { message } = configError({ API_KEYS: 'short', API_KEYS_READONLY: 'tiny' });
      expect(message).toMatch(/API_KEYS entry 1 must be/);
      expect(message).toMatch(/API_KEYS_READONLY entry 1 must be/);
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads METRICS_REQUIRE_AUTH=%s as %s', (value, expected) => {
    expect(loadConfig({ METRICS_REQUIRE_AUTH: value }).metricsRequireAuth).toBe(expected);
  });

  it('names a bad API_KEYS entry by position, never by value', () => {
    const { message } = configError({ API_KEYS: 'good-key-0123456789,short' });
    expect(message).toMatch(/^API_KEYS entry 2 must be 16 to 512 characters/);
    expect(message).not.toContain('short');
  });

  it.each([
    ['one repeated character', 'a'.repeat(40)],
    ['two characters alternating', 'ab'.repeat(20)],
    ['a short pattern repeated', 'abcdefgh'.repeat(4)],
    ['digits only', '01234567890123456789'],
    ['few distinct letters', 'aabbccddeeffgghhii'],
    ['padding standing for characters', `abcdefgh${'='.repeat(20)}`],
  ])('refuses a low-entropy API key (%s), naming API_KEYS but not the key', (_name, key) => {
    const { message } = configError({ API_KEYS: `${'9f86d081884c7d659a2feaa0c55ad015'},${key}` });
    expect(message).toMatch(/^API_KEYS entry 2 is too weak: about \d+ bits estimated, 64 needed/);
    expect(message).not.toContain(key);
  });

  it.each([
    ['openssl rand -hex 32', 'f3a9c1d24b7e8a05c6d1e29f7b3a4c58d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f'],
    ['openssl rand -base64 24', 'q8Vt1Zb3kPc9XyLm0Rw2Hn4Js6Df7Ga5'],
    ['a UUID', '3f2b8c1e-9d4a-4e7b-8a6f-1c2d3e4f5a6b'],
    ['16 random letters and digits', 'Kq7vXz2Lm9PwR4tN'],
  ])('accepts a generated API key (%s)', (_name, key) => {
    expect(loadConfig({ API_KEYS: key }).apiKeyHashes).toStrictEqual([hashApiKey(key)]);
  });

  it('estimates key strength from distinct characters and the classes they come from', () => {
    expect(apiKeyStrengthBits('a'.repeat(64))).toBeCloseTo(Math.log2(26));
    expect(apiKeyStrengthBits('0123456789abcdef'.repeat(4))).toBeCloseTo(16 * Math.log2(36));
    expect(apiKeyStrengthBits('aA0-')).toBeCloseTo(4 * Math.log2(26 + 26 + 10 + 6));
    expect(apiKeyStrengthBits('ab==')).toBe(apiKeyStrengthBits('ab'));
  });

  it('normalizes ALLOWED_ORIGINS entries to origins', () => {
    expect(loadConfig({ ALLOWED_ORIGINS: 'HTTP://Dash.Example:80' }).allowedOrigins).toStrictEqual([
      'http://dash.example',
    ]);
  });

  it('accepts LOG_LEVEL=silent, which turns logging off', () => {
    expect(loadConfig({ LOG_LEVEL: 'silent' }).logLevel).toBe('silent');
  });

  it.each([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('resolves LOG_FORMAT=%s with a terminal=%s to %s', (format, tty, expected) => {
    expect(resolveLogFormat(format, tty)).toBe(expected);
  });

  it('accepts postgresql:// as well as postgres:// URLs', () => {
    const url = 'postgresql://db/tasks';
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://db/tasks'],
    ['DATABASE_URL', 'db:5432'],
    ['EMBEDDED_PG_PORT', 'any'],
    ['DB_POOL_SIZE', '1'],
    ['DB_POOL_SIZE', '1000'],
    ['CALLBACK_TIMEOUT_MS', '5s'],
    ['DB_LOCK_TIMEOUT_MS', '0'],
    ['DB_LOCK_TIMEOUT_MS', '5s'],
    ['CALLBACK_TIMEOUT_MS', '10'],
    ['CAPTURE_RESPONSE_BYTES', '-1'],
    ['CAPTURE_RESPONSE_BYTES', '1025'],
    ['CAPTURE_RESPONSE_BYTES', '1k'],
    ['MAX_ATTEMPTS', '0'],
    ['MAX_ATTEMPTS', 'three'],
    ['RETRY_BASE_DELAY_MS', '0'],
    ['RETRY_MAX_DELAY_MS', '1e3'],
    ['CALLBACK_ALLOW_CIDRS', '10.0.0.0/33'],
    ['CALLBACK_ALLOW_CIDRS', '127.0.0.0/8,localhost'],
    ['CALLBACK_NETWORK_POLICY', 'strict'],
    ['CALLBACK_NETWORK_POLICY', 'PUBLIC'],
    ['API_KEYS', 'too-short'],
    ['API_KEYS', 'has spaces in the middle'],
    ['API_KEYS', 'a-long-enough-key-0123,bad"quote-0123456'],
    ['API_KEYS', 'x'.repeat(32)],
    ['API_KEYS', '1234567890123456'],
    ['API_KEYS_READONLY', 'too-short'],
    ['API_KEYS_READONLY', '1234567890123456'],
    ['ALLOWED_ORIGINS', '*'],
    ['ALLOWED_ORIGINS', 'null'],
    ['ALLOWED_ORIGINS', 'dash.example.com'],
    ['ALLOWED_ORIGINS', 'https://dash.example.com/ui'],
    ['ALLOWED_ORIGINS', 'https://dash.example.com?x=1'],
    ['ALLOWED_ORIGINS', 'ftp://dash.example.com'],
    ['ALLOWED_ORIGINS', 'https://user@dash.example.com'],
    ['METRICS_REQUIRE_AUTH', 'yes'],
    ['DISPATCH_ENABLED', 'yes'],
    ['DISPATCH_CONCURRENCY', '0'],
    ['DISPATCH_BATCH_SIZE', 'many'],
    ['LEASE_MARGIN_MS', '1'],
    ['POLL_INTERVAL_MS', '1'],
    ['SWEEP_INTERVAL_MS', '-5'],
    ['SHUTDOWN_TIMEOUT_MS', '-1'],
    ['RETENTION_ATTEMPTS_DAYS', '-1'],
    ['RETENTION_ATTEMPTS_DAYS', '1.5'],
    ['RETENTION_FAILED_DAYS', 'forever'],
    ['RETENTION_FAILED_DAYS', '36501'],
    ['MAX_PARAMS_BYTES', '1'],
    ['BODY_LIMIT_BYTES', '10'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_LEVEL', 'info'],
    ['LOG_FORMAT', 'yaml'],
  ])('stops on %s=%p with a message naming the variable', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  it('names every bad variable at once', () => {
    const { message } = configError({ PORT: 'x', MAX_ATTEMPTS: '0', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/MAX_ATTEMPTS/);
    expect(message).toMatch(/LOG_LEVEL/);
  });

  describe('CONF_FILE', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'delay-tasks-conf-'));
    });

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function confFile(name: string, content: string): string {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    }

    it("honours the original's sample.conf.json", () => {
      const path = confFile(
        'sample.conf.json',
        '{"listen-host":"","listen-port":7080,"cb-retry-times":3,"saving-home":"."}',
      );
      expect(loadConfig({ CONF_FILE: path })).toStrictEqual({ ...DEFAULTS, dataDir: '.' });
    });

    it('maps listen-host, listen-port, cb-retry-times and saving-home', () => {
      const path = confFile(
        'custom.conf.json',
        '{"listen-host":"127.0.0.1","listen-port":8081,"cb-retry-times":5,"saving-home":"/srv/dt"}',
      );
      expect(loadConfig({ CONF_FILE: path })).toMatchObject({
        listenHost: '127.0.0.1',
        port: 8081,
        maxAttempts: 5,
        dataDir: '/srv/dt',
      });
    });

    it('lets environment variables override the file', () => {
      const path = confFile(
        'override.conf.json',
        '{"listen-host":"127.0.0.1","listen-port":8081,"cb-retry-times":5,"saving-home":"/srv/dt"}',
      );
      const config = loadConfig({
        CONF_FILE: path,
        LISTEN_HOST: '0.0.0.0',
        PORT: '9090',
        MAX_ATTEMPTS: '2',
        DATA_DIR: '/data',
      });
      expect(config).toMatchObject({
        listenHost: '0.0.0.0',
        port: 9090,
        maxAttempts: 2,
        dataDir: '/data',
      });
    });

    it('keeps values of the file that the environment does not set', () => {
      const path = confFile('partial.conf.json', '{"listen-port":8082,"cb-retry-times":4}');
      expect(loadConfig({ CONF_FILE: path, PORT: '9091' })).toMatchObject({
        port: 9091,
        maxAttempts: 4,
      });
    });

    it('ignores keys it does not know, as the original does', () => {
      const path = confFile('unknown.conf.json', '{"listen-port":8083,"colour":"blue"}');
      expect(loadConfig({ CONF_FILE: path }).port).toBe(8083);
    });

    it('accepts numbers written as strings', () => {
      const path = confFile('strings.conf.json', '{"listen-port":"8084"}');
      expect(loadConfig({ CONF_FILE: path }).port).toBe(8084);
    });

    it('stops when the file does not exist, naming CONF_FILE', () => {
      const path = join(dir, 'missing.conf.json');
      expect(configError({ CONF_FILE: path }).message).toMatch(/^CONF_FILE .*missing\.conf\.json/);
    });

    it('stops when the file is not JSON, naming CONF_FILE', () => {
      const path = confFile('broken.conf.json', '{"listen-port":');
      expect(configError({ CONF_FILE: path }).message).toMatch(
        /^CONF_FILE .*cannot be read as JSON/,
      );
    });

    it('stops when the file holds no JSON object, naming CONF_FILE', () => {
      const path = confFile('array.conf.json', '[7080]');
      expect(configError({ CONF_FILE: path }).message).toMatch(
        /^CONF_FILE .*must hold a JSON object/,
      );
    });

    it('stops when a key holds neither a string nor a number, naming the key', () => {
      const path = confFile('bool.conf.json', '{"listen-port":true}');
      expect(configError({ CONF_FILE: path }).message).toMatch(/"listen-port"/);
    });

    it.each([
      ['listen-port', '"abc"', 'PORT'],
      ['listen-port', '70000', 'PORT'],
      ['cb-retry-times', '0', 'MAX_ATTEMPTS'],
    ])('stops on a bad %s=%s with a message naming the setting', (key, value, variable) => {
      const path = confFile(`bad-${key}.conf.json`, `{"${key}":${value}}`);
      expect(configError({ CONF_FILE: path }).message).toContain(variable);
    });
  });
});
