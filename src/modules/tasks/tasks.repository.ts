import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DispatchPool } from '../../database/dispatch-pool';
import { affectedOf, rowsOf } from '../../database/query-rows';
import * as sql from './tasks.sql';
import {
  AttemptRecord,
  AttemptRow,
  BatchTaskInput,
  BatchUpsertResult,
  ClaimedTask,
  ClaimRef,
  FailureUpdate,
  ListAttemptsFilter,
  ListTasksFilter,
  OutcomeBatch,
  OutcomeCounts,
  RetryRow,
  TaskRow,
  TaskStatsRow,
  UpsertTaskInput,
} from './tasks.types';

/** The only code that runs SQL against `tasks` (see tasks.sql.ts for the statements). */
@Injectable()
export class TasksRepository {
  constructor(
    private readonly dataSource: DataSource,
    /** The dispatcher's hot path runs on its own connections (see DispatchPool). */
    private readonly dispatchPool: DispatchPool,
  ) {}

  /** Returns the delay until the task is due, or undefined when its time is too far in the past. */
  async upsert(input: UpsertTaskInput): Promise<{ dueInMs: number } | undefined> {
    const rows = await this.rows<{ due_in_ms: number }>(sql.UPSERT_TASK, [
      input.cate,
      input.key,
      input.timestamp,
      input.paramsJson,
      input.handler,
    ]);
    return rows[0] && { dueInMs: rows[0].due_in_ms };
  }

  /**
   * Upserts every item of one category in one statement (UPSERT_TASKS), or none of them when one
   * is too far in the past. Keys must be distinct.
   */
  async upsertBatch(cate: string, items: BatchTaskInput[]): Promise<BatchUpsertResult> {
    const [row] = await this.rows<{
      too_old_item: number | null;
      written: number;
      earliest_due_in_ms: number | null;
    }>(sql.UPSERT_TASKS, [
      cate,
      items.map((i) => i.key),
      items.map((i) => i.timestamp),
      items.map((i) => i.paramsJson),
      items.map((i) => i.handler),
    ]);
    if (row.too_old_item !== null) return { kind: 'too_old', item: row.too_old_item };
    return { kind: 'written', count: row.written, earliestDueInMs: row.earliest_due_in_ms ?? 0 };
  }

  /** Re-queues a failed task; undefined when there is no such task (see RETRY_TASK). */
  async retryFailed(cate: string, key: string): Promise<RetryRow | undefined> {
    const rows = await this.rows<RetryRow>(sql.RETRY_TASK, [cate, key]);
    return rows[0];
  }

  listAttempts(filter: ListAttemptsFilter): Promise<AttemptRow[]> {
    return this.rows<AttemptRow>(sql.LIST_ATTEMPTS, [
      filter.cate,
      filter.key,
      filter.beforeId ?? null,
      filter.limit,
    ]);
  }

  /** Deletes up to `limit` attempt rows older than `days`; returns how many. */
  pruneAttempts(days: number, limit: number): Promise<number> {
    return this.affected(sql.PRUNE_ATTEMPTS, [days, limit]);
  }

  /** Deletes up to `limit` tasks failed more than `days` ago; returns how many. */
  pruneFailedTasks(days: number, limit: number): Promise<number> {
    return this.affected(sql.PRUNE_FAILED_TASKS, [days, limit]);
  }

  async find(cate: string, key: string, timestamp?: number): Promise<TaskRow | undefined> {
    const rows = await this.rows<TaskRow>(sql.FIND_TASK, [cate, key, timestamp ?? null]);
    return rows[0];
  }

  /** True when a task was deleted. */
  async delete(cate: string, key: string, timestamp?: number): Promise<boolean> {
    const rows = await this.rows(sql.DELETE_TASK, [cate, key, timestamp ?? null]);
    return rows.length > 0;
  }

  /** Hands the task over for immediate delivery with inAdvance: true; true when it existed. */
  async execNow(cate: string, key: string, timestamp?: number): Promise<boolean> {
    const rows = await this.rows(sql.EXEC_TASK, [cate, key, timestamp ?? null]);
    return rows.length > 0;
  }

  list(filter: ListTasksFilter): Promise<TaskRow[]> {
    const { text, params } = listTasksQuery(filter);
    return this.rows<TaskRow>(text, params);
  }

  /**
   * `timeoutMs` is the default callback timeout; the lease is a category's timeout + margin.
   * Tasks of `skipCates` (categories at the worker's concurrency cap) are left alone.
   */
  async claimDue(
    owner: string,
    limit: number,
    timeoutMs: number,
    leaseMarginMs: number,
    skipCates: string[] = [],
  ): Promise<ClaimedTask[]> {
    const values = [limit, owner, timeoutMs, leaseMarginMs, skipCates];
    return (await this.dispatchPool.query<ClaimedTask>('claim_due', sql.CLAIM_DUE, values)).rows;
  }

  async nextDueDelayMs(skipCates: string[] = []): Promise<number | null> {
    const { rows } = await this.dispatchPool.query<{ delay_ms: number | null }>(
      'next_due_delay',
      sql.NEXT_DUE_DELAY,
      [skipCates],
    );
    return rows[0]?.delay_ms ?? null;
  }

  /** Deletes delivered tasks whose claim is still current; returns how many. */
  async completeDelivered(claims: ClaimRef[]): Promise<number> {
    if (claims.length === 0) return 0;
    return this.affected(sql.COMPLETE_DELIVERED, claimArrays(claims));
  }

  async recordFailures(failures: FailureUpdate[]): Promise<number> {
    if (failures.length === 0) return 0;
    return this.affected(sql.RECORD_FAILURES, failureArrays(failures));
  }

  /**
   * Writes one batch of delivery outcomes and its attempt history in a single transaction, so
   * that a batch retried after an error is neither half applied nor recorded twice.
   */
  async recordOutcomes(batch: OutcomeBatch): Promise<OutcomeCounts> {
    return this.dispatchPool.transaction(async (run) => {
      const counts: OutcomeCounts = { delivered: 0, failures: 0, released: 0 };
      if (batch.delivered.length > 0) {
        counts.delivered = await run(
          'complete_delivered',
          sql.COMPLETE_DELIVERED,
          claimArrays(batch.delivered),
        );
      }
      if (batch.failures.length > 0) {
        counts.failures = await run(
          'record_failures',
          sql.RECORD_FAILURES,
          failureArrays(batch.failures),
        );
      }
      if (batch.released.length > 0) {
        const values = [...claimArrays(batch.released), batch.owner];
        counts.released = await run('release_claims', sql.RELEASE_CLAIMS, values);
      }
      if (batch.attempts.length > 0) {
        await run('insert_attempts', sql.INSERT_ATTEMPTS, attemptArrays(batch.attempts));
      }
      return counts;
    });
  }

  /** Returns `owner`'s claims to the queue without counting the attempt. */
  async release(owner: string, claims: ClaimRef[]): Promise<number> {
    if (claims.length === 0) return 0;
    return this.affected(sql.RELEASE_CLAIMS, [...claimArrays(claims), owner]);
  }

  /** Frees expired leases; `failed` counts the tasks whose lost lease was their last attempt. */
  async rescueExpiredLeases(
    limit: number,
    defaultMaxAttempts: number,
  ): Promise<{ rescued: number; failed: number }> {
    const { rows } = await this.dispatchPool.query<{ exhausted: boolean }>(
      'rescue_leases',
      sql.RESCUE_EXPIRED_LEASES,
      [limit, defaultMaxAttempts],
    );
    return { rescued: rows.length, failed: rows.filter((row) => row.exhausted).length };
  }

  /** Counts by state, each exact up to `exactUpTo` (see TASK_STATS), and the oldest due age. */
  async stats(exactUpTo: number): Promise<TaskStatsRow> {
    const [row] = await this.rows<TaskStatsRow>(sql.TASK_STATS, [exactUpTo]);
    return row;
  }

  async notifyDue(): Promise<void> {
    await this.dataSource.query(sql.NOTIFY_DUE);
  }

  private async affected(text: string, params: unknown[]): Promise<number> {
    return affectedOf(await this.dataSource.query(text, params));
  }

  private async rows<T = unknown>(text: string, params: unknown[]): Promise<T[]> {
    return rowsOf<T>(await this.dataSource.query(text, params));
  }
}

/** The GET /tasks statement for the filters given (exported for the query plan test). */
export function listTasksQuery(filter: ListTasksFilter): { text: string; params: unknown[] } {
  const { cate, state, limit } = filter;
  const after = filter.afterId ?? '0';
  if (cate !== undefined && state !== undefined) {
    const text =
      state === 'running' ? sql.LIST_TASKS_IN_STATE_OF_CATE : sql.LIST_TASKS_OF_CATE_IN_STATE;
    return { text, params: [cate, state, after, limit] };
  }
  if (cate !== undefined) return { text: sql.LIST_TASKS_OF_CATE, params: [cate, after, limit] };
  if (state !== undefined) return { text: sql.LIST_TASKS_IN_STATE, params: [state, after, limit] };
  return { text: sql.LIST_TASKS, params: [after, limit] };
}

function claimArrays(claims: ClaimRef[]): [string[], number[], number[]] {
  return [claims.map((c) => c.id), claims.map((c) => c.version), claims.map((c) => c.attempts)];
}

function failureArrays(failures: FailureUpdate[]): unknown[] {
  return [
    ...claimArrays(failures),
    failures.map((f) => f.final),
    failures.map((f) => Math.max(0, Math.round(f.delayMs))),
    failures.map((f) => f.error),
  ];
}

function attemptArrays(attempts: AttemptRecord[]): unknown[] {
  return [
    attempts.map((a) => a.taskId),
    attempts.map((a) => a.cate),
    attempts.map((a) => a.key),
    attempts.map((a) => a.deliveryId),
    attempts.map((a) => a.attempt),
    attempts.map((a) => a.startedAtMs),
    attempts.map((a) => Math.round(a.durationMs)),
    attempts.map((a) => a.statusCode),
    attempts.map((a) => a.outcome),
    attempts.map((a) => a.error),
  ];
}
