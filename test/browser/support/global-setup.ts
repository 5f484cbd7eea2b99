import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { CallbackReceiver } from '../../support/receiver';
import { spawnService, waitUntilHealthy } from '../../support/service-process';
import { testDatabaseUrl, withDatabase } from '../../setup/test-server';
import { BrowserEnv, ENV_FILE } from './env';

/** Keys of the service under test: one full, one read-only (32+ characters, as required). */
export const ADMIN_KEY = 'browser-admin-key-0123456789abcdef0123';
export const READER_KEY = 'browser-reader-key-0123456789abcdef012';

async function onServer(statement: string): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Starts what the browser tests run against: a fresh database on the test server, the service
 * as a real process (built code, serving the built dashboard) with an admin and a read-only key,
 * and a callback receiver. Returns the teardown. What the tests need is written to ENV_FILE.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const database = `delay_tasks_browser_${process.pid}`;
  await onServer(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await onServer(`CREATE DATABASE ${database}`);
  const databaseUrl = withDatabase(testDatabaseUrl(), database);
  const receiver = new CallbackReceiver();
  await receiver.start();
  const root = join(__dirname, '..', '..', '..');
  const service = await spawnService(
    {
      DATABASE_URL: databaseUrl,
      API_KEYS: ADMIN_KEY,
      API_KEYS_READONLY: READER_KEY,
      UI_DIR: join(root, 'dist', 'ui'),
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_MS: '400',
    },
    { preferBuild: true },
  );
  await waitUntilHealthy(service, 60_000);
  const env: BrowserEnv = {
    baseUrl: service.baseUrl,
    databaseUrl,
    receiverUrl: receiver.url('/'),
    adminKey: ADMIN_KEY,
    readerKey: READER_KEY,
  };
  mkdirSync(join(ENV_FILE, '..'), { recursive: true });
  writeFileSync(ENV_FILE, JSON.stringify(env));
  return async () => {
    service.child.kill('SIGTERM');
    await service.exited;
    await receiver.close();
    await onServer(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };
}
