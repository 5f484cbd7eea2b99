import { readFileSync } from 'node:fs';
import { Client } from 'pg';

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, empty database on the server; returns its URL. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  return databaseUrl(serverUrl, name);
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * Process ids of the server's backends connected to `database`, for reading their CPU time from
 * /proc. Empty when the server is not on this machine: a pid is kept only if it names a local
 * postgres process.
 */
export async function backendPids(serverUrl: string, database: string): Promise<number[]> {
  const { rows } = await withClient(serverUrl, (c) =>
    c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1::text`, [
      database,
    ]),
  );
  return rows
    .map((r) => r.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    });
}

/**
 * Registers `handler` for `cate` and inserts `count` tasks of it straight into the table (the ingest scenario measures the API;
 * here only dispatch matters), keys from `firstKey`, due at `startSec + i * stepSec`.
 */
export async function insertTasks(
  url: string,
  options: {
    cate: string;
    handler: string;
    count: number;
    firstKey: number;
    startSec: number;
    stepSec: number;
  },
): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(
      `INSERT INTO handlers (cate, url) VALUES ($1::text, $2::text)
       ON CONFLICT (cate) DO UPDATE SET url = excluded.url`,
      [options.cate, options.handler],
    );
    await c.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT $1::text, $2::bigint + g, to_timestamp($3::float8 + g * $4::float8),
         to_timestamp($3::float8 + g * $4::float8), json_build_object('i', g)
       FROM generate_series(0, $5::int - 1) AS g`,
      [options.cate, options.firstKey, options.startSec, options.stepSec, options.count],
    );
  });
  // An insert that ends after the first due time would skew lateness and throughput figures.
  const lateSec = Date.now() / 1000 - options.startSec;
  if (lateSec > 0) {
    throw new Error(`inserting ${options.count} tasks ended ${lateSec.toFixed(2)} s late`);
  }
}
