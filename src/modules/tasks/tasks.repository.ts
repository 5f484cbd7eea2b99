import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { affectedOf, rowsOf } from '../../database/query-rows';
import { GroupCommit } from '../../common/group-commit';
import { retryTransient } from '../../database/transient-retry';
import * as sql from './tasks.sql';
import {
  AttemptRow,
  BatchTaskInput,
  BatchUpsertResult,
  BulkChunkResult,
  BulkDeleteFilter,
  BulkRetryFilter,
  ListAttemptsFilter,
  ListedTaskRow,
  ListTasksFilter,
  RetryRow,
  TaskRow,
  TaskState,
  TaskStatsRow,
  UpsertResult,
  UpsertTaskInput,
} from './tasks.types';

/**
 * The API's SQL against `tasks` and `task_attempts` (tasks.sql.ts); the queue's state machine is
 * dispatch/QueueRepository's.
 */
/** A group commit holds at most this many upserts; more wait for the next group. */
const UPSERT_GROUP_MAX_ITEMS = 256;
/** Groups written at once: part of the pool, so that reads and other writes still get theirs. */
const UPSERT_GROUPS_IN_FLIGHT = 3;

interface UpsertRow {
  too_old: boolean;
  written: boolean;
  due_in_ms: number;
}

function toUpsertResult(row: UpsertRow): UpsertResult | undefined {
  return row.too_old ? undefined : { written: row.written, dueInMs: row.due_in_ms };
}

/**
 * Indexes of `items` in rounds of distinct (cate, key), each in arrival order: the first time a
 * pair is seen goes in round 1, the second time in round 2, and so on.
 */
export function distinctRounds(items: Array<{ cate: string; key: string }>): number[][] {
  const seen = new Map<string, number>();
  const rounds: number[][] = [];
  items.forEach(({ cate, key }, index) => {
    const id = `${cate}\u0000${key}`;
    const round = seen.get(id) ?? 0;
    seen.set(id, round + 1);
    (rounds[round] ??= []).push(index);
  });
  return rounds;
}

@Injectable()
export class TasksRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Returns whether the task was written (false: identical to the stored one, nothing changed) and
   * the delay until it is due, or undefined when its time is too far in the past. Concurrent
   * calls are committed together (group commit, UPSERT_TASK_GROUP), each answered on its own.
   */
  upsert(input: UpsertTaskInput): Promise<UpsertResult | undefined> {
    return this.upserts.submit(input);
  }

  private readonly upserts = new GroupCommit<UpsertTaskInput, UpsertResult | undefined>(
    (items) => this.upsertGroup(items),
    UPSERT_GROUP_MAX_ITEMS,
    UPSERT_GROUPS_IN_FLIGHT,
  );

  /**
   * One group: a single item as UPSERT_TASK; more in one statement, or, when a (cate, key)
   * repeats, in rounds of distinct pairs within one transaction, in arrival order. When the group
   * fails as a whole, each item is run on its own, so that one item's error is its own.
   */
  private async upsertGroup(
    items: UpsertTaskInput[],
  ): Promise<PromiseSettledResult<UpsertResult | undefined>[]> {
    if (items.length > 1) {
      try {
        return await this.upsertRounds(items);
      } catch {
        // Fall through: one statement per item.
      }
    }
    return Promise.allSettled(items.map((item) => this.upsertOne(item)));
  }

  private async upsertOne(input: UpsertTaskInput): Promise<UpsertResult | undefined> {
    const [row] = await this.rows<UpsertRow>(sql.UPSERT_TASK, [
      input.cate,
      input.key,
      input.timestamp,
      input.paramsJson,
      input.handler,
    ]);
    return toUpsertResult(row);
  }

  private async upsertRounds(
    items: UpsertTaskInput[],
  ): Promise<PromiseSettledResult<UpsertResult | undefined>[]> {
    const rounds = distinctRounds(items);
    const run = async (query: (text: string, params: unknown[]) => Promise<unknown>) => {
      const results = new Array<PromiseSettledResult<UpsertResult | undefined>>(items.length);
      for (const round of rounds) {
        const group = round.map((index) => items[index]);
        const rows = rowsOf<UpsertRow>(
          await query(sql.UPSERT_TASK_GROUP, [
            group.map((i) => i.cate),
            group.map((i) => i.key),
            group.map((i) => i.timestamp),
            group.map((i) => i.paramsJson),
            group.map((i) => i.handler),
          ]),
        );
        round.forEach((index, position) => {
          results[index] = { status: 'fulfilled', value: toUpsertResult(rows[position]) };
        });
      }
      return results;
    };
    if (rounds.length === 1) {
      return retryTransient(() => run((text, params) => this.dataSource.query(text, params)));
    }
    return retryTransient(() =>
      this.dataSource.transaction((manager) => run((text, params) => manager.query(text, params))),
    );
  }

  /**
   * Upserts every item of one category in one statement (UPSERT_TASKS), or none of them when one
   * is too far in the past. Keys must be distinct.
   */
  async upsertBatch(cate: string, items: BatchTaskInput[]): Promise<BatchUpsertResult> {
    const [row] = await this.rows<{
      too_old_item: number | null;
      accepted: number;
      earliest_due_in_ms: number | null;
    }>(sql.UPSERT_TASKS, [
      cate,
      items.map((i) => i.key),
      items.map((i) => i.timestamp),
      items.map((i) => i.paramsJson),
      items.map((i) => i.handler),
    ]);
    if (row.too_old_item !== null) return { kind: 'too_old', item: row.too_old_item };
    return { kind: 'written', count: row.accepted, earliestDueInMs: row.earliest_due_in_ms };
  }

  /** Re-queues a failed task; undefined when there is no such task (see RETRY_TASK). */
  async retryFailed(cate: string, key: string): Promise<RetryRow | undefined> {
    const rows = await this.rows<RetryRow>(sql.RETRY_TASK, [cate, key]);
    return rows[0];
  }

  /**
   * One chunk of a bulk retry: re-queues the failed tasks among the next `size` failed tasks of
   * the category after id `afterId` (RETRY_FAILED_CHUNK); with `dryRun`, only counts them.
   */
  retryFailedChunk(
    filter: BulkRetryFilter,
    afterId: string,
    size: number,
    dryRun: boolean,
  ): Promise<BulkChunkResult> {
    const text = dryRun ? sql.COUNT_RETRY_CHUNK : sql.RETRY_FAILED_CHUNK;
    return this.chunk(text, [filter.cate, afterId, size, filter.failedAfter, filter.failedBefore]);
  }

  /**
   * One chunk of a bulk delete: deletes the matching tasks among the next `size` tasks of the
   * category after id `afterId`, read through the index that serves the state filter
   * (DELETE_…CHUNK); with `dryRun`, only counts them.
   */
  deleteChunk(
    filter: BulkDeleteFilter,
    afterId: string,
    size: number,
    dryRun: boolean,
  ): Promise<BulkChunkResult> {
    return this.chunk(bulkDeleteQuery(filter.state, dryRun), [
      filter.cate,
      afterId,
      size,
      filter.state,
      filter.dueAfter,
      filter.dueBefore,
    ]);
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

  /** A page of GET /tasks, cut at `limit` items or `maxBytes` (see listPage in tasks.sql.ts). */
  list(filter: ListTasksFilter): Promise<ListedTaskRow[]> {
    const { text, params } = listTasksQuery(filter);
    return this.rows<ListedTaskRow>(text, params);
  }

  /** Counts by state, each exact up to `exactUpTo` (see TASK_STATS), and the oldest due age. */
  async stats(exactUpTo: number): Promise<TaskStatsRow> {
    const [row] = await this.rows<TaskStatsRow>(sql.TASK_STATS, [exactUpTo]);
    return row;
  }

  async notifyDue(): Promise<void> {
    await this.dataSource.query(sql.NOTIFY_DUE);
  }

  /** A bulk chunk statement (one short transaction of its own), as BulkChunkResult. */
  private async chunk(text: string, params: unknown[]): Promise<BulkChunkResult> {
    const [row] = await this.rows<{ scanned: number; last_id: string | null; count: number }>(
      text,
      params,
    );
    return { scanned: row.scanned, lastId: row.last_id, count: row.count };
  }

  /** One statement in autocommit, run again after a deadlock or lock timeout (retryTransient). */
  private async affected(text: string, params: unknown[]): Promise<number> {
    return affectedOf(await retryTransient(() => this.dataSource.query<unknown>(text, params)));
  }

  /** One statement in autocommit, run again after a deadlock or lock timeout (retryTransient). */
  private async rows<T = unknown>(text: string, params: unknown[]): Promise<T[]> {
    return rowsOf<T>(await retryTransient(() => this.dataSource.query<unknown>(text, params)));
  }
}

/** The bulk delete chunk statement (or its dry run) for the state filter (exported for plan tests). */
export function bulkDeleteQuery(state: TaskState | null, dryRun: boolean): string {
  switch (state) {
    case 'failed':
      return dryRun ? sql.COUNT_DELETE_FAILED_CHUNK : sql.DELETE_FAILED_CHUNK;
    case 'running':
      return dryRun ? sql.COUNT_DELETE_RUNNING_CHUNK : sql.DELETE_RUNNING_CHUNK;
    case 'pending':
    case null:
      return dryRun ? sql.COUNT_DELETE_CHUNK : sql.DELETE_CHUNK;
  }
}

/** The GET /tasks statement for the filters given (exported for the query plan test). */
export function listTasksQuery(filter: ListTasksFilter): { text: string; params: unknown[] } {
  const { cate, state, limit, maxBytes } = filter;
  const after = filter.afterId ?? '0';
  if (cate !== undefined && state !== undefined) {
    const text =
      state === 'running' ? sql.LIST_TASKS_IN_STATE_OF_CATE : sql.LIST_TASKS_OF_CATE_IN_STATE;
    return { text, params: [cate, state, after, limit, maxBytes] };
  }
  if (cate !== undefined) {
    return { text: sql.LIST_TASKS_OF_CATE, params: [cate, after, limit, maxBytes] };
  }
  if (state !== undefined) {
    return { text: sql.LIST_TASKS_IN_STATE, params: [state, after, limit, maxBytes] };
  }
  return { text: sql.LIST_TASKS, params: [after, limit, maxBytes] };
}
