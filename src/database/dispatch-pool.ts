import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, QueryResultRow } from 'pg';
import { IDLE_IN_TRANSACTION_TIMEOUT_MS } from './data-source-options';

/**
 * Connections for the dispatcher's hot path (claim, next due time, outcomes, lease sweep), apart
 * from the API's pool, with two session settings:
 * - synchronous_commit=off: these writes belong to the dispatcher. Losing the last few of them
 *   in a PostgreSQL crash only makes a task be delivered again (at-least-once), never lost. API
 *   writes stay on the synchronous pool, where a 200 means the task is on disk.
 * - enable_bitmapscan=off: right after a burst of tasks is inserted, the statistics still
 *   describe a near-empty table, and the planner picks a bitmap scan plus a sort of every due
 *   row over the ordered partial-index scan, so each claim costs O(backlog) instead of O(batch)
 *   (measured with 30,000 due rows: 33 ms against 1.5 ms per claim).
 * Like the API's pool, it has TCP keep-alive probes after 10 s idle and an
 * idle_in_transaction_session_timeout, so a replica paused inside a claim or outcome transaction
 * cannot hold row locks for longer than that (see data-source-options.ts).
 * Statements are prepared by name on each connection.
 */
@Injectable()
export class DispatchPool implements OnApplicationShutdown {
  private readonly logger = new Logger(DispatchPool.name);
  readonly pool: Pool;

  constructor(url: string, size: number) {
    this.pool = new Pool({
      connectionString: url,
      max: size,
      application_name: 'delay-tasks-dispatch',
      options: [
        '-c synchronous_commit=off',
        '-c enable_bitmapscan=off',
        `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
      ].join(' '),
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection that dies (database restart, terminated backend) must not crash the
    // process; the pool replaces it on the next query.
    this.pool.on('error', (error) => this.logger.warn(`idle connection lost: ${error.message}`));
  }

  async query<T extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: T[]; rowCount: number }> {
    const result = await this.pool.query<T>({ name, text, values });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  /** Runs `work` in one transaction on one connection. */
  async transaction<T>(work: (run: RunStatement) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    // A checked-out connection has no pool listener: without this, a terminated backend would
    // surface as an unhandled 'error' event (the query in flight rejects anyway).
    const onError = (error: Error): void => {
      failed = error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(
        async <R extends QueryResultRow>(name: string, text: string, values: unknown[]) => {
          const { rows, rowCount } = await client.query<R>({ name, text, values });
          return { rows, rowCount: rowCount ?? 0 };
        },
      );
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failed = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(failed);
    }
  }

  /**
   * Opens every connection of the pool now (start-up, before the replica reports ready), so that
   * the first claims and outcome writes do not wait for connections to be set up.
   */
  async warm(): Promise<void> {
    const size = this.pool.options.max ?? 1;
    const clients = await Promise.all(Array.from({ length: size }, () => this.pool.connect()));
    try {
      await Promise.all(clients.map((client) => client.query('SELECT 1')));
    } finally {
      for (const client of clients) client.release();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.ending) await this.pool.end();
  }
}

/** Runs one named statement inside DispatchPool.transaction. */
export type RunStatement = <R extends QueryResultRow = QueryResultRow>(
  name: string,
  text: string,
  values: unknown[],
) => Promise<{ rows: R[]; rowCount: number }>;
