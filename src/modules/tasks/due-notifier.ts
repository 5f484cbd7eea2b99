import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { TasksRepository } from './tasks.repository';

/**
 * Wakes the dispatchers of every replica (they LISTEN on DUE_CHANNEL) when a committed write makes
 * a task due before their next scheduled look at the table. Coalesced: one NOTIFY per event-loop
 * turn at most, and none while an already-announced wake-up comes no later than the new task
 * (the dispatcher re-reads the next due time when it wakes, and this task is committed by then).
 * Runs after the write's transaction, never inside it.
 */
@Injectable()
export class DueNotifier {
  private readonly logger = new Logger(DueNotifier.name);
  /** Local monotonic time of the earliest due time already announced. */
  private announced: number | undefined;
  private pending: number | undefined;
  private flushScheduled = false;

  constructor(
    private readonly tasks: TasksRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A task was committed that is due in `dueInMs` (database clock, may be negative). */
  taskScheduled(dueInMs: number): void {
    // Every dispatcher re-reads the next due time at least once per poll interval.
    if (dueInMs >= this.config.pollIntervalMs) return;
    const now = performance.now();
    const deadline = now + dueInMs;
    if (this.announced !== undefined && this.announced > now && this.announced <= deadline) return;
    this.pending = Math.min(this.pending ?? Infinity, deadline);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.announced = this.pending;
    this.pending = undefined;
    try {
      await this.tasks.notifyDue();
    } catch (error) {
      // Dispatchers fall back to polling; forget the announcement so the next write retries.
      this.announced = undefined;
      this.logger.warn(`NOTIFY failed: ${(error as Error).message}`);
    }
  }
}
