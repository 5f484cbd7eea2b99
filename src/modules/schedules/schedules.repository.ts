import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rowsOf } from '../../database/query-rows';
import { retryTransient } from '../../database/transient-retry';
import { MissedPolicy } from './schedules.dto';
import * as sql from './schedules.sql';

/** A schedule as read (times as epoch numbers, `now_ms` the database clock of the read). */
export interface ScheduleRow {
  id: string;
  cate: string;
  key: string;
  cron: string;
  timezone: string;
  params: string;
  handler: string | null;
  missed: MissedPolicy;
  /** Unix seconds; null: unbounded. */
  start_at: number | null;
  end_at: number | null;
  paused: boolean;
  /** The first occurrence not yet created, epoch ms; null: none left. */
  next_run_ms: number | null;
  created_at: Date;
  updated_at: Date;
  now_ms: number;
}

/** A schedule as the materializer claims it (CLAIM_DUE_SCHEDULES). */
export interface DueScheduleRow {
  id: string;
  cron: string;
  timezone: string;
  missed: MissedPolicy;
  start_at: number | null;
  end_at: number | null;
  next_run_ms: number;
  now_ms: number;
}

/** A schedule to write (POST /schedule/:cate). */
export interface ScheduleWrite {
  cate: string;
  key: string;
  cron: string;
  timezone: string;
  paramsJson: string;
  handler: string | null;
  missed: MissedPolicy;
  startAt: number | null;
  endAt: number | null;
}

/** What one look of the materializer wrote. */
export interface MaterializeResult {
  /** Schedules claimed. */
  claimed: number;
  /** Occurrence tasks created. */
  created: number;
  /** When the earliest of them is due, ms from now (null: none created). */
  earliestDueInMs: number | null;
  /** Missed occurrences the schedules' policies did not fire. */
  skipped: number;
}

/** The materializer's decision for one claimed schedule. */
export interface ScheduleAdvance {
  id: string;
  /** Occurrences to create (epoch ms). */
  fire: number[];
  /** Its next occurrence not created (epoch ms), null: none left. */
  nextMs: number | null;
  /** Missed occurrences its policy does not fire. */
  skipped: number;
}

@Injectable()
export class SchedulesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Creates or replaces the schedule in one transaction: the existing row locked first, its
   * occurrences not yet due withdrawn (they were made from the old definition), then written
   * with the next occurrence `firstRun` computes from the database clock (epoch ms in, epoch ms
   * or null out).
   */
  upsert(write: ScheduleWrite, firstRun: (nowMs: number) => number | null): Promise<ScheduleRow> {
    return this.transaction(async (manager) => {
      const [lock] = rowsOf<{ now_ms: number; id: string | null }>(
        await manager.query(sql.LOCK_SCHEDULE, [write.cate, write.key]),
      );
      if (lock.id !== null) await manager.query(sql.WITHDRAW_OCCURRENCES, [lock.id]);
      const rows = rowsOf<ScheduleRow>(
        await manager.query(sql.UPSERT_SCHEDULE, [
          write.cate,
          write.key,
          write.cron,
          write.timezone,
          write.paramsJson,
          write.handler,
          write.missed,
          write.startAt,
          write.endAt,
          firstRun(lock.now_ms),
        ]),
      );
      return rows[0];
    });
  }

  async find(cate: string, key: string): Promise<ScheduleRow | undefined> {
    const rows = rowsOf<ScheduleRow>(await this.query(sql.FIND_SCHEDULE, [cate, key]));
    return rows[0];
  }

  /** Pauses the schedule and withdraws its occurrences not yet due; undefined: no schedule. */
  pause(cate: string, key: string): Promise<ScheduleRow | undefined> {
    return this.transaction(async (manager) => {
      const [lock] = rowsOf<{ id: string | null }>(
        await manager.query(sql.LOCK_SCHEDULE, [cate, key]),
      );
      if (lock.id === null) return undefined;
      const [withdrawn] = rowsOf<{ earliest_ms: number | null }>(
        await manager.query(sql.WITHDRAW_OCCURRENCES, [lock.id]),
      );
      const rows = rowsOf<ScheduleRow>(
        await manager.query(sql.PAUSE_SCHEDULE, [lock.id, withdrawn.earliest_ms]),
      );
      return rows[0];
    });
  }

  async resume(cate: string, key: string): Promise<ScheduleRow | undefined> {
    const rows = rowsOf<ScheduleRow>(await this.query(sql.RESUME_SCHEDULE, [cate, key]));
    return rows[0];
  }

  /** Deletes the schedule and its occurrences not yet due; true when it was there. */
  delete(cate: string, key: string): Promise<boolean> {
    return this.transaction(async (manager) => {
      const [lock] = rowsOf<{ id: string | null }>(
        await manager.query(sql.LOCK_SCHEDULE, [cate, key]),
      );
      if (lock.id === null) return false;
      await manager.query(sql.WITHDRAW_OCCURRENCES, [lock.id]);
      await manager.query(sql.DELETE_SCHEDULE, [lock.id]);
      return true;
    });
  }

  async list(cate: string | undefined, afterId: string, limit: number): Promise<ScheduleRow[]> {
    const rows =
      cate === undefined
        ? await this.query(sql.LIST_SCHEDULES, [afterId, limit])
        : await this.query(sql.LIST_SCHEDULES_OF_CATE, [cate, afterId, limit]);
    return rowsOf<ScheduleRow>(rows);
  }

  /**
   * One look of the materializer, one transaction: claims up to `limit` schedules due within
   * `lookaheadMs` (rows other replicas hold are skipped), lets `decide` plan each, creates the
   * occurrences and moves each schedule on, then commits; creation and the move of next_run_at
   * are one unit, so an occurrence is neither lost nor created twice whatever replica dies when.
   */
  materialize(
    lookaheadMs: number,
    limit: number,
    decide: (rows: DueScheduleRow[]) => ScheduleAdvance[],
  ): Promise<MaterializeResult> {
    return this.transaction(async (manager) => {
      const rows = rowsOf<DueScheduleRow>(
        await manager.query(sql.CLAIM_DUE_SCHEDULES, [lookaheadMs, limit]),
      );
      if (rows.length === 0) return { claimed: 0, created: 0, earliestDueInMs: null, skipped: 0 };
      const advances = decide(rows);
      const ids: string[] = [];
      const times: number[] = [];
      for (const advance of advances) {
        for (const ms of advance.fire) {
          ids.push(advance.id);
          times.push(ms);
        }
      }
      let created = 0;
      let earliestDueInMs: number | null = null;
      if (ids.length > 0) {
        const [inserted] = rowsOf<{ created: number; earliest_due_in_ms: number | null }>(
          await manager.query(sql.INSERT_OCCURRENCES, [ids, times]),
        );
        created = inserted.created;
        earliestDueInMs = inserted.earliest_due_in_ms;
      }
      await manager.query(sql.ADVANCE_SCHEDULES, [
        advances.map((advance) => advance.id),
        advances.map((advance) => advance.nextMs),
      ]);
      const skipped = advances.reduce((sum, advance) => sum + advance.skipped, 0);
      return { claimed: rows.length, created, earliestDueInMs, skipped };
    });
  }

  /** See WITHDRAW_MISSED_OCCURRENCES; answers how many occurrences it withdrew. */
  async withdrawMissed(missedAfterMs: number, limit: number): Promise<number> {
    const rows = rowsOf<{ withdrawn: number }>(
      await this.query(sql.WITHDRAW_MISSED_OCCURRENCES, [missedAfterMs, limit]),
    );
    return rows[0]?.withdrawn ?? 0;
  }

  /** One statement in autocommit, run again after a deadlock or lock timeout (retryTransient). */
  private query(text: string, params: unknown[]): Promise<unknown> {
    return retryTransient(() => this.dataSource.query<unknown>(text, params));
  }

  /** One transaction, run again whole after a deadlock or lock timeout (retryTransient). */
  private transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return retryTransient(() => this.dataSource.transaction(work));
  }
}
