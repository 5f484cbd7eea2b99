import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DispatchMetrics } from '../metrics/dispatch.metrics';
import { DispatchWorker } from './dispatch.worker';
import { decideLostLease } from './lost-lease';
import { QueueRepository } from './queue.repository';
import { RetryPolicy, retryPolicyOf } from './retry-policy';

const SWEEP_BATCH = 1000;
const INTERVAL_NAME = 'lease-sweeper';

/**
 * Every SWEEP_INTERVAL_MS, finds tasks whose lease expired (their replica died, hung or lost the
 * database mid-delivery) and records the lost lease as an attempt: a lease_expired row in the
 * history, and a retry after the policy's backoff, or a failure when that was the last attempt.
 * Every replica runs it; SKIP LOCKED keeps them apart.
 */
@Injectable()
export class LeaseSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LeaseSweeper.name);
  private sweeping = false;
  private readonly policy: RetryPolicy;

  constructor(
    private readonly queue: QueueRepository,
    private readonly worker: DispatchWorker,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: DispatchMetrics,
  ) {
    this.policy = retryPolicyOf(config);
  }

  onApplicationBootstrap(): void {
    if (!this.config.dispatchEnabled) return;
    const timer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, timer);
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) {
      this.scheduler.deleteInterval(INTERVAL_NAME);
    }
  }

  /** Returns how many leases were rescued. Overlapping runs are skipped. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      let total = 0;
      let failed = 0;
      for (;;) {
        const swept = await this.queue.rescueExpiredLeases(SWEEP_BATCH, (lease) =>
          decideLostLease(lease, this.policy),
        );
        total += swept.length;
        failed += swept.filter((outcome) => outcome.failure.final).length;
        if (swept.length < SWEEP_BATCH) break;
      }
      this.metrics.leasesRescued(total);
      if (total > 0) {
        this.logger.warn(
          `${total} leases expired: ${total - failed} tasks to be retried after backoff` +
            (failed > 0 ? `; ${failed} failed, their lost lease was their last attempt` : ''),
        );
        this.worker.wake();
      }
      return total;
    } catch (error) {
      this.logger.warn(`lease sweep failed: ${(error as Error).message}`);
      return 0;
    } finally {
      this.sweeping = false;
    }
  }
}
