import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DashboardOverview, OverviewCategory } from './dashboard.dto';
import { DashboardRepository, OverviewCategoryRow } from './dashboard.repository';

/** Counts older than this are recounted when a request finds them so. */
export const SNAPSHOT_MAX_AGE_MS = 5000;
/** How long a request waits for a recount it started before it answers the counts it has. */
export const REFRESH_WAIT_MS = 50;
/** With no counts at all yet, how often a request looks whether another replica wrote them. */
const FIRST_SNAPSHOT_POLL_MS = 50;
const FIRST_SNAPSHOT_WAIT_MS = 30_000;

/**
 * GET /dashboard/overview. Counting a million tasks by category and state takes a few hundred ms,
 * too long for the request and needless on every request or replica, and counters kept up to date
 * by the task writes would cost every write. So the counts are a snapshot in the database
 * (dashboard_snapshots), shared by the replicas and served with the time it was taken (asOf):
 *
 * - a request that finds the snapshot older than SNAPSHOT_MAX_AGE_MS starts a recount and waits
 *   for it at most REFRESH_WAIT_MS, then answers what is stored (the new counts if the recount
 *   was done by then, else the previous ones, which the next request gets fresh);
 * - the recount is single flight: one at a time per replica (a shared promise) and cluster-wide
 *   (an advisory lock taken with try, so a replica never queues behind another's recount);
 * - only the very first request, before any snapshot exists, waits for the whole count.
 *
 * No one watching, nothing counted. Category settings and the oldest due age are read live.
 */
@Injectable()
export class OverviewService {
  private readonly logger = new Logger(OverviewService.name);
  private refreshing: Promise<void> | undefined;

  constructor(private readonly dashboard: DashboardRepository) {}

  async overview(): Promise<DashboardOverview> {
    await this.freshen();
    let row = await this.dashboard.overview();
    const deadline = performance.now() + FIRST_SNAPSHOT_WAIT_MS;
    while (row.taken_at === null && performance.now() < deadline) {
      // Another replica holds the lock and is taking the first snapshot.
      await sleep(FIRST_SNAPSHOT_POLL_MS);
      await this.refresh();
      row = await this.dashboard.overview();
    }
    if (row.taken_at === null) throw new Error('no dashboard snapshot could be taken');
    const categories = row.categories.map(toCategory);
    return {
      asOf: new Date(row.taken_at).toISOString(),
      totals: totalsOf(categories),
      oldestDueAgeSeconds: row.oldest_due_age_seconds,
      categories,
    };
  }

  /** Recounts now, unless the snapshot is fresh or being recounted (tests, the benchmark). */
  refresh(maxAgeMs = SNAPSHOT_MAX_AGE_MS): Promise<void> {
    this.refreshing ??= this.dashboard
      .refreshSnapshot(maxAgeMs)
      .then(() => undefined)
      .catch((error: Error) => this.logger.warn(`dashboard recount failed: ${error.message}`))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async freshen(): Promise<void> {
    const ageMs = await this.dashboard.snapshotAgeMs();
    if (ageMs !== undefined && ageMs <= SNAPSHOT_MAX_AGE_MS) return;
    const refresh = this.refresh();
    if (ageMs === undefined) return refresh;
    const waited = new AbortController();
    await Promise.race([refresh, sleep(REFRESH_WAIT_MS, undefined, { signal: waited.signal })])
      .catch(() => undefined)
      .finally(() => waited.abort());
  }
}

function toCategory(row: OverviewCategoryRow): OverviewCategory {
  return {
    cate: row.cate,
    registered: row.registered,
    pending: row.pending,
    dueNow: row.due_now,
    running: row.running,
    failed: row.failed,
    paused: row.paused,
    circuit: row.circuit_state,
    rateLimit:
      row.rate_per_second === null || row.rate_burst === null
        ? null
        : { perSecond: row.rate_per_second, burst: row.rate_burst },
  };
}

function totalsOf(categories: OverviewCategory[]): DashboardOverview['totals'] {
  const totals = {
    pending: 0,
    dueNow: 0,
    running: 0,
    failed: 0,
    categories: categories.length,
    paused: 0,
    openCircuits: 0,
    rateLimited: 0,
  };
  for (const category of categories) {
    totals.pending += category.pending;
    totals.dueNow += category.dueNow;
    totals.running += category.running;
    totals.failed += category.failed;
    if (category.paused) totals.paused += 1;
    if (category.circuit !== 'closed') totals.openCircuits += 1;
    if (category.rateLimit !== null) totals.rateLimited += 1;
  }
  return totals;
}
