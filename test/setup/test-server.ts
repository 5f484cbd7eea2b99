import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Written by the global setup, read by every test file (workers share no memory with it). One
 * file per Jest run, named by the pid of the Jest process, so that concurrent runs stay apart:
 * test files run in that process (in band) or in its worker children.
 */
export function testStateFile(jestPid: number): string {
  return join(__dirname, '..', '.tmp', `test-server-${jestPid}.json`);
}

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
  const file = [testStateFile(process.ppid), testStateFile(process.pid)].find((f) => existsSync(f));
  if (!file) throw new Error('no test server state: run the tests through Jest (npm test)');
  return JSON.parse(readFileSync(file, 'utf8')) as TestServerState;
}

/**
 * The server tests (and benchmarks) run against: DATABASE_URL, else the machine's local server.
 * Only a default; the global setup falls back to an embedded server when nothing answers there.
 */
export function testDatabaseUrl(env: Record<string, string | undefined> = process.env): string {
  return env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** The same server URL with another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
