import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { readTestServerState, withDatabase } from '../setup/test-server';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs one statement on this database (for assertions and setup that bypass the API). */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template, for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const state = readTestServerState();
  const name = `${state.prefix}${randomBytes(4).toString('hex')}`;
  await onServer(state.serverUrl, `CREATE DATABASE ${name} TEMPLATE ${state.template}`);
  const url = withDatabase(state.serverUrl, name);
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    query: async <T extends object>(sql: string, params?: unknown[]) =>
      (await client.query<T>(sql, params)).rows,
    drop: async () => {
      await client.end();
      await onServer(state.serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs one statement on the server's maintenance database (CREATE/DROP DATABASE). */
export async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
