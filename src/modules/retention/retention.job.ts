import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DispatchStatsRepository } from '../dashboard/dispatch-stats.repository';
import { TasksRepository } from '../tasks/tasks.repository';

/** Rows per DELETE: short transactions, few locks, and a run still keeps up with heavy traffic. */
export const PRUNE_BATCH = 5000;
const INTERVAL_MS = 10 * 60_000;
const INTERVAL_NAME = 'retention';

export interface PruneCounts {
  attempts: number;
  failedTasks: number;
  /** Dashboard statistics rows (dispatch_stats) of buckets over a day old. */
  dispatchStats: number;
}

/**
 * Every ten minutes, deletes attempt history older than RETENTION_ATTEMPTS_DAYS and tasks failed
 * for good more than RETENTION_FAILED_DAYS ago (0 keeps them), and the dashboard's delivery
 * statistics (dispatch_stats) older than a day (always: the series shows at most an hour). Deletes go in batches that take
 * their rows with SKIP LOCKED, so every replica may prune at once without waiting on the others
 * or deleting a row twice; a run goes on until a batch comes back short.
 */
@Injectable()
export class RetentionJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionJob.name);
  private running = false;

  constructor(
    private readonly tasks: TasksRepository,
    private readonly dispatchStats: DispatchStatsRepository,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.prune(), INTERVAL_MS);
    timer.unref();
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) {
      this.scheduler.deleteInterval(INTERVAL_NAME);
    }
  }

  /** One run; overlapping runs are skipped. Errors are logged and retried on the next run. */
  async prune(): Promise<PruneCounts> {
    const counts: PruneCounts = { attempts: 0, failedTasks: 0, dispatchStats: 0 };
    if (this.running) return counts;
    this.running = true;
    try {
      const { retentionAttemptsDays: attemptDays, retentionFailedDays: failedDays } = this.config;
      if (attemptDays > 0) {
        counts.attempts = await drain((n) => this.tasks.pruneAttempts(attemptDays, n));
      }
      if (failedDays > 0) {
        counts.failedTasks = await drain((n) => this.tasks.pruneFailedTasks(failedDays, n));
      }
      counts.dispatchStats = await drain((n) => this.dispatchStats.prune(n));
      if (counts.attempts + counts.failedTasks + counts.dispatchStats > 0) {
        this.logger.log(
          `retention removed ${counts.attempts} attempt rows, ${counts.failedTasks} failed ` +
            `tasks and ${counts.dispatchStats} dashboard statistics rows`,
        );
      }
    } catch (error) {
      this.logger.warn(`retention run failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
    return counts;
  }
}

/** Runs `deleteBatch` until a batch deletes fewer rows than asked; returns the total. */
async function drain(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(PRUNE_BATCH);
    total += deleted;
    if (deleted < PRUNE_BATCH) return total;
  }
}
