import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DispatchWorker } from '../dispatch/dispatch.worker';
import { AttemptObserver, DispatchMetrics } from '../metrics/dispatch.metrics';
import { AttemptOutcome } from '../tasks/tasks.types';
import { BUCKET_MS, DispatchStatsBuckets } from './dispatch-stats.buckets';
import { DispatchStatsRepository } from './dispatch-stats.repository';

/** How often a replica writes its buckets: one statement per interval, none when idle. */
export const FLUSH_INTERVAL_MS = BUCKET_MS;

/**
 * This replica's contribution to the dashboard's series: told of every attempt by DispatchMetrics
 * (where the attempt counters and the lag histogram are fed), it counts them in memory per
 * 10-second bucket (DispatchStatsBuckets) and writes the buckets that changed to dispatch_stats
 * every FLUSH_INTERVAL_MS, in one statement, and once more at shutdown, after the dispatcher has
 * stopped (its last completions counted). A delivery never waits for any of this; a failed
 * write is logged and done again at the next flush. Rows are keyed by the dispatcher's worker
 * id, as its leases (lease_owner).
 */
@Injectable()
export class DispatchStatsRecorder implements AttemptObserver, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DispatchStatsRecorder.name);
  private readonly buckets = new DispatchStatsBuckets();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    metrics: DispatchMetrics,
    private readonly stats: DispatchStatsRepository,
    private readonly worker: DispatchWorker,
  ) {
    metrics.observeAttempts(this);
  }

  get replicaId(): string {
    return this.worker.workerId;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * onApplicationShutdown runs after every beforeApplicationShutdown hook, the dispatcher's stop
   * (which drains its deliveries) included, and before the database module closes its pool.
   */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(); // joins a flush under way, which may have missed the last attempts
    await this.flush();
  }

  attemptFinished(outcome: AttemptOutcome, latenessMs: number | null): void {
    this.buckets.attempt(outcome, latenessMs, Date.now());
  }

  attemptsCounted(outcome: AttemptOutcome, count: number): void {
    this.buckets.attempts(outcome, count, Date.now());
  }

  /** Writes the buckets changed since the last write; one flush at a time (a call joins it). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const rows = this.buckets.unflushed();
    if (rows.length === 0) return;
    try {
      await this.stats.write(this.replicaId, rows);
      this.buckets.flushed(rows, Date.now());
    } catch (error) {
      this.logger.warn(`dispatch statistics not written: ${(error as Error).message}`);
    }
  }
}
