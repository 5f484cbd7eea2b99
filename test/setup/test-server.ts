import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Written by the global setup, read by every test file (workers share no memory with it). */
export const TEST_STATE_FILE = join(__dirname, '..', '.tmp', 'test-server.json');

export interface TestServerState {
  /** A connection URL of the server's maintenance database, for CREATE/DROP DATABASE. */
  serverUrl: string;
  /** Migrated template that per-file databases are cloned from. */
  template: string;
  /** Prefix of every database this run creates, so the teardown can drop leftovers. */
  prefix: string;
  /** Set when no server was reachable and the setup started an embedded PostgreSQL. */
  embeddedDir?: string;
}

export function readTestServerState(): TestServerState {
  return JSON.parse(readFileSync(TEST_STATE_FILE, 'utf8')) as TestServerState;
}

/** The same server URL with another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
