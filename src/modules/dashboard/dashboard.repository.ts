import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rowsOf } from '../../database/query-rows';
import { AttemptOutcome } from '../tasks/tasks.types';
import * as sql from './dashboard.sql';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** OVERVIEW: taken_at null until a snapshot was taken. */
export interface OverviewRow {
  taken_at: Date | null;
  oldest_due_age_seconds: number;
  categories: OverviewCategoryRow[];
}

/** An item of OVERVIEW's categories: counted in the snapshot, registered, or both. */
export interface OverviewCategoryRow {
  cate: string;
  registered: boolean;
  pending: number;
  due_now: number;
  running: number;
  failed: number;
  paused: boolean;
  circuit_state: CircuitState;
  rate_per_second: number | null;
  rate_burst: number | null;
}

/** FORECAST: one minute; t in Unix seconds (text), count at most the cap. */
export interface ForecastRow {
  t: string;
  count: number;
  capped: boolean;
}

/** LIST_CATEGORY_ATTEMPTS: as tasks' AttemptRow, with the task key (exact text). */
export interface CategoryAttemptRow {
  id: string;
  key: string;
  delivery_id: string;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
}

/** The dashboard's reads, and the refresh of the overview's snapshot (dashboard.sql.ts). */
@Injectable()
export class DashboardRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Recounts the snapshot unless another session is doing so (the advisory lock) or it is younger
   * than `maxAgeMs`; true when this call wrote it.
   */
  async refreshSnapshot(maxAgeMs: number): Promise<boolean> {
    const [row] = await this.rows<{ refreshed: boolean }>(sql.REFRESH_SNAPSHOT, [
      sql.SNAPSHOT_LOCK_ID,
      maxAgeMs,
    ]);
    return row.refreshed;
  }

  /** Age of the snapshot in ms; undefined when none was taken yet. */
  async snapshotAgeMs(): Promise<number | undefined> {
    const [row] = await this.rows<{ age_ms: number }>(sql.SNAPSHOT_AGE, []);
    return row?.age_ms;
  }

  async overview(): Promise<OverviewRow> {
    const [row] = await this.rows<OverviewRow>(sql.OVERVIEW, []);
    return row;
  }

  /** 60 minutes from the current one, each count at most `cap`. */
  forecast(cap: number): Promise<ForecastRow[]> {
    return this.rows<ForecastRow>(sql.FORECAST, [cap]);
  }

  listCategoryAttempts(
    cate: string,
    beforeId: string,
    limit: number,
  ): Promise<CategoryAttemptRow[]> {
    return this.rows<CategoryAttemptRow>(sql.LIST_CATEGORY_ATTEMPTS, [cate, beforeId, limit]);
  }

  private async rows<T>(text: string, params: unknown[]): Promise<T[]> {
    return rowsOf<T>(await this.dataSource.query<unknown>(text, params));
  }
}
