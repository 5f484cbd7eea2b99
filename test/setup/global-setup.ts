import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { testDatabaseUrl, testStateFile, TestServerState, withDatabase } from './test-server';
import { setEmbeddedServer } from './embedded-server';

/**
 * Finds a PostgreSQL server (DATABASE_URL, else 127.0.0.1:5432; when neither answers, an
 * embedded one in a temporary directory), migrates a template database once, and records where
 * it is for the test files, which clone one database each from it.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = testDatabaseUrl();
  let embeddedDir: string | undefined;
  if (!(await reachable(serverUrl))) {
    embeddedDir = mkdtempSync(join(tmpdir(), 'delay-tasks-test-pg-'));
    chmodSync(embeddedDir, 0o755);
    const handle = await startEmbeddedPostgres({ dataDir: embeddedDir, database: 'postgres' });
    setEmbeddedServer(handle, embeddedDir);
    serverUrl = handle.url;
  }
  const prefix = `dt_${process.pid}_`;
  const template = `${prefix}template`;
  await admin(serverUrl, [`DROP DATABASE IF EXISTS ${template}`, `CREATE DATABASE ${template}`]);
  const dataSource = new DataSource(
    buildDataSourceOptions({ url: withDatabase(serverUrl, template), poolSize: 2 }),
  );
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();

  const state: TestServerState = { serverUrl, template, prefix, embeddedDir };
  const stateFile = testStateFile(process.pid);
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(state));
}

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function admin(serverUrl: string, statements: string[]): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}
