import { AttemptOutcome } from '../tasks/tasks.types';
import { bucketOf, emptyHistogram } from './lateness-histogram';

/** Width of a statistics bucket: the dashboard series' resolution. */
export const BUCKET_SECONDS = 10;
export const BUCKET_MS = BUCKET_SECONDS * 1000;
/** Buckets kept unflushed at most (a day's worth, while the database is unreachable). */
const MAX_BUCKETS = 8640;

/** One bucket's totals so far, as flushed to dispatch_stats (a row per replica and bucket). */
export interface StatsBucketRow {
  /** Unix milliseconds, a multiple of BUCKET_MS. */
  bucketStartMs: number;
  outcomes: Partial<Record<AttemptOutcome, number>>;
  /** Counts per lateness bucket (lateness-histogram.ts). */
  lateness: number[];
  /** Changes counted into the bucket; a flush marks it clean only if none came in meanwhile. */
  version: number;
}

/**
 * One replica's delivery statistics in memory, by 10-second bucket of this replica's clock (when
 * the attempt was recorded). A bucket's row holds its running totals, so a flush writes (and
 * re-writes, until the bucket is over) the totals, never increments: writing one twice is
 * harmless, and a failed flush is simply done again later. Recording costs a map lookup and two
 * increments; it never waits for anything.
 */
export class DispatchStatsBuckets {
  private readonly buckets = new Map<number, StatsBucketRow>();
  private readonly dirty = new Set<number>();

  /** One finished attempt; `latenessMs` for a first attempt (start − due), else null. */
  attempt(outcome: AttemptOutcome, latenessMs: number | null, nowMs: number): void {
    const bucket = this.bucketAt(nowMs);
    bucket.outcomes[outcome] = (bucket.outcomes[outcome] ?? 0) + 1;
    if (latenessMs !== null) bucket.lateness[bucketOf(latenessMs)] += 1;
    this.touch(bucket);
  }

  /** Attempts of `outcome` counted at once (leases the sweeper found expired). */
  attempts(outcome: AttemptOutcome, count: number, nowMs: number): void {
    if (count <= 0) return;
    const bucket = this.bucketAt(nowMs);
    bucket.outcomes[outcome] = (bucket.outcomes[outcome] ?? 0) + count;
    this.touch(bucket);
  }

  /** Copies of the buckets changed since they were last flushed, oldest first. */
  unflushed(): StatsBucketRow[] {
    return [...this.dirty]
      .sort((a, b) => a - b)
      .map((start) => this.buckets.get(start) as StatsBucketRow)
      .map((row) => ({ ...row, outcomes: { ...row.outcomes }, lateness: [...row.lateness] }));
  }

  /**
   * `rows` (from unflushed()) are written. Each is clean unless more was counted into it since;
   * buckets before the current one that are clean are over and dropped.
   */
  flushed(rows: StatsBucketRow[], nowMs: number): void {
    for (const row of rows) {
      if (this.buckets.get(row.bucketStartMs)?.version === row.version) {
        this.dirty.delete(row.bucketStartMs);
      }
    }
    const current = bucketStartOf(nowMs);
    for (const start of this.buckets.keys()) {
      if (start < current && !this.dirty.has(start)) this.buckets.delete(start);
    }
  }

  private bucketAt(nowMs: number): StatsBucketRow {
    const start = bucketStartOf(nowMs);
    let bucket = this.buckets.get(start);
    if (!bucket) {
      bucket = { bucketStartMs: start, outcomes: {}, lateness: emptyHistogram(), version: 0 };
      this.buckets.set(start, bucket);
      this.dropOldest();
    }
    return bucket;
  }

  private touch(bucket: StatsBucketRow): void {
    bucket.version += 1;
    this.dirty.add(bucket.bucketStartMs);
  }

  /** Bounds memory while flushes fail: the oldest buckets go first. */
  private dropOldest(): void {
    while (this.buckets.size > MAX_BUCKETS) {
      const oldest = Math.min(...this.buckets.keys());
      this.buckets.delete(oldest);
      this.dirty.delete(oldest);
    }
  }
}

export function bucketStartOf(ms: number): number {
  return Math.floor(ms / BUCKET_MS) * BUCKET_MS;
}
