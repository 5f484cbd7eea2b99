import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { affectedOf, rowsOf } from '../../database/query-rows';
import * as sql from './tasks.sql';
import {
  ClaimedTask,
  ClaimRef,
  FailureUpdate,
  ListTasksFilter,
  TaskRow,
  UpsertTaskInput,
} from './tasks.types';

/** The only code that runs SQL against `tasks` (see tasks.sql.ts for the statements). */
@Injectable()
export class TasksRepository {
  constructor(private readonly dataSource: DataSource) {}

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
    return this.rows<TaskRow>(sql.LIST_TASKS, [
      filter.cate ?? null,
      filter.state ?? null,
      filter.afterId ?? null,
      filter.limit,
    ]);
  }

  claimDue(owner: string, limit: number, leaseMs: number): Promise<ClaimedTask[]> {
    return this.rows<ClaimedTask>(sql.CLAIM_DUE, [limit, owner, Math.ceil(leaseMs)]);
  }

  async nextDueDelayMs(): Promise<number | null> {
    const rows = await this.rows<{ delay_ms: number | null }>(sql.NEXT_DUE_DELAY, []);
    return rows[0]?.delay_ms ?? null;
  }

  /** Deletes delivered tasks whose claim is still current; returns how many. */
  async completeDelivered(claims: ClaimRef[]): Promise<number> {
    if (claims.length === 0) return 0;
    return this.affected(sql.COMPLETE_DELIVERED, claimArrays(claims));
  }

  async recordFailures(failures: FailureUpdate[]): Promise<number> {
    if (failures.length === 0) return 0;
    return this.affected(sql.RECORD_FAILURES, [
      ...claimArrays(failures),
      failures.map((f) => f.final),
      failures.map((f) => Math.max(0, Math.round(f.delayMs))),
      failures.map((f) => f.error),
    ]);
  }

  /** Returns `owner`'s claims to the queue without counting the attempt. */
  async release(owner: string, claims: ClaimRef[]): Promise<number> {
    if (claims.length === 0) return 0;
    return this.affected(sql.RELEASE_CLAIMS, [...claimArrays(claims), owner]);
  }

  async rescueExpiredLeases(limit: number): Promise<number> {
    return this.affected(sql.RESCUE_EXPIRED_LEASES, [limit]);
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

function claimArrays(claims: ClaimRef[]): [string[], number[], number[]] {
  return [claims.map((c) => c.id), claims.map((c) => c.version), claims.map((c) => c.attempts)];
}
