import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { affectedOf, rowsOf } from '../../database/query-rows';
import { AttemptOutcome } from '../tasks/tasks.types';
import { StatsBucketRow } from './dispatch-stats.buckets';
import * as sql from './dispatch-stats.sql';

/** SERIES: one 10-second bucket, replicas summed; outcomes and lateness null without rows. */
export interface SeriesRow {
  /** Unix seconds of the bucket's start (text). */
  t: string;
  outcomes: Partial<Record<AttemptOutcome, number>> | null;
  lateness: number[] | null;
}

/** dispatch_stats: the dashboard's delivery statistics (dispatch-stats.sql.ts). */
@Injectable()
export class DispatchStatsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes a replica's buckets (their running totals) in one statement. */
  async write(replicaId: string, rows: StatsBucketRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.dataSource.query(sql.WRITE_BUCKETS, [
      replicaId,
      rows.map((row) => row.bucketStartMs),
      rows.map((row) => JSON.stringify(row.outcomes)),
      rows.map((row) => `{${row.lateness.join(',')}}`),
    ]);
  }

  /** The last `buckets` 10-second buckets up to the current one, oldest first. */
  async series(buckets: number): Promise<SeriesRow[]> {
    return rowsOf<SeriesRow>(await this.dataSource.query<unknown>(sql.SERIES, [buckets]));
  }

  /** Deletes up to `limit` rows of buckets over a day old; returns how many. */
  async prune(limit: number): Promise<number> {
    return affectedOf(await this.dataSource.query<unknown>(sql.PRUNE_DISPATCH_STATS, [limit]));
  }
}
