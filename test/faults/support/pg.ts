import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import {
  EmbeddedPostgresHandle,
  startEmbeddedPostgres,
} from '../../../src/database/embedded-postgres';
import { readTestServerState, withDatabase } from '../../setup/test-server';
import { freePort } from '../../support/service-process';

/**
 * A small pool for the test's own queries. Unlike one Client, it survives the server restarting
 * or terminating its connections: a broken connection is dropped and the next query opens another.
 */
export class Pg {
  private readonly pool: Pool;

  constructor(readonly url: string) {
    this.pool = new Pool({
      connectionString: url,
      max: 2,
      application_name: 'fault-test',
      connectionTimeoutMillis: 5000,
    });
    this.pool.on('error', () => undefined); // an idle connection the server closed
  }

  async query<T extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  /** The value of the first column of the first row. */
  async scalar<T>(sql: string, params?: unknown[]): Promise<T> {
    const rows = await this.query(sql, params);
    return Object.values(rows[0])[0] as T;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * `count` tasks of `cate` due evenly from `fromS` to `toS` seconds from now (database clock), in
 * one statement, then the NOTIFY the API sends after a write.
 */
export async function insertDueTasks(
  pg: Pg,
  cate: string,
  count: number,
  fromS: number,
  toS: number,
): Promise<void> {
  await pg.query(
    `INSERT INTO tasks (cate, key, due_at, run_at, params)
     SELECT $1::text, k, d, d, json_build_object('k', k)
     FROM generate_series(1, $2::int) AS k,
       LATERAL (SELECT now() + ($3::float8 + ($4::float8 - $3::float8) * (k - 1)
         / greatest($2::int - 1, 1)) * interval '1 second' AS d) AS due`,
    [cate, count, fromS, toS],
  );
  await pg.query(`SELECT pg_notify('delay_tasks_due', '')`);
}

/** md5 over every row of the tables the API writes, to tell whether anything changed. */
export async function tablesChecksum(pg: Pg): Promise<string> {
  return pg.scalar<string>(
    `SELECT md5(
       coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM tasks t), '') || '#' ||
       coalesce((SELECT string_agg(h::text, '|' ORDER BY h.cate) FROM handlers h), '') || '#' ||
       coalesce((SELECT string_agg(a::text, '|' ORDER BY a.id) FROM task_attempts a), ''))`,
  );
}

/** Connections of the service (pool and LISTEN) to `database`. */
export const SERVICE_CONNECTIONS = `
  SELECT pid, application_name FROM pg_stat_activity
  WHERE datname = $1::text AND application_name LIKE 'delay-tasks%' AND pid <> pg_backend_pid()`;

/** An empty database (no schema) on the shared test server; the global teardown drops it. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string }> {
  const state = readTestServerState();
  const name = `${state.prefix}empty_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: state.serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return { name, url: withDatabase(state.serverUrl, name) };
}

/**
 * A PostgreSQL server of the test's own (never the shared one), which it may stop and start:
 * a fixed port and data directory, so that the URL stays the same across restarts.
 */
export class OwnPostgres {
  private handle: EmbeddedPostgresHandle | undefined;

  private constructor(
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dataDir = mkdtempSync(join(tmpdir(), 'delay-tasks-faults-pg-'));
    chmodSync(dataDir, 0o755); // as root, the server runs as the `postgres` OS user
    const server = new OwnPostgres(dataDir, await freePort());
    await server.up();
    return server;
  }

  get url(): string {
    if (!this.handle) throw new Error('server is down');
    return this.handle.url;
  }

  /** Starts the server on the same directory and port. */
  async up(): Promise<void> {
    this.handle = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port });
  }

  /** Fast shutdown: every connection is terminated. */
  async down(): Promise<void> {
    await this.handle?.stop();
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
