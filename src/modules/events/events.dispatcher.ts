import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { CallbackClient } from '../dispatch/callback.client';
import { describeFailure } from '../dispatch/retry-policy';
import { WakeSignal } from '../dispatch/wake-signal';
import { withTimeout } from '../dispatch/with-timeout';
import { EventsWrittenSignal } from '../handlers/events-written.signal';
import { EventsMetrics, PENDING_EVENTS_LIMIT } from '../metrics/events.metrics';
import { buildEventRequest } from './event-request';
import { decideEventRetry } from './event-retry-policy';
import { ClaimedEvent, EventsRepository } from './events.repository';

/** The events' own HTTP client (a CallbackClient of their own: see EventsModule). */
export const EVENTS_CLIENT = Symbol('EVENTS_CLIENT');

type SenderState = 'idle' | 'running' | 'stopping' | 'stopped';

/** Events claimed (and sent concurrently) at once. */
const CLAIM_BATCH = 50;
/** The fallback poll: events written by other replicas are sent within about this. */
const POLL_INTERVAL_MS = 1000;
const ERROR_BACKOFF_MS = 1000;
/** Of the shutdown budget, the part sends in flight may take before they are cut off. */
const SEND_SHARE = 0.75;

/**
 * Sends the outbox's category events to each category's events handler, on every replica that
 * dispatches: claim due events under a lease (SKIP LOCKED keeps replicas apart), POST each through
 * the deliveries' HTTP client and SSRF guard, signed as deliveries are, then delete it (2xx) or
 * schedule its retry. Wakes every POLL_INTERVAL_MS, and at once when this process wrote events.
 * No SQL here (EventsRepository) and no HTTP details (CallbackClient).
 */
@Injectable()
export class EventsDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventsDispatcher.name);
  private readonly wakeSignal = new WakeSignal();
  /** Aborted when the shutdown budget for sends in flight is spent. */
  private readonly cutOff = new AbortController();
  private state: SenderState = 'idle';
  private loopDone: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly events: EventsRepository,
    @Inject(EVENTS_CLIENT) private readonly client: CallbackClient,
    private readonly metrics: EventsMetrics,
    private readonly written: EventsWrittenSignal,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    metrics.trackPending(() => events.countPending(PENDING_EVENTS_LIMIT));
  }

  onApplicationBootstrap(): void {
    if (this.config.dispatchEnabled) this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.unsubscribe = this.written.subscribe(() => this.wakeSignal.wake());
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming; sends in flight may finish within three quarters of SHUTDOWN_TIMEOUT_MS,
   * then are cut off and their events released (due again now, for any replica). Safe to call
   * more than once.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    const budgetMs = this.config.shutdownTimeoutMs;
    const deadline = performance.now() + budgetMs;
    this.state = 'stopping';
    this.unsubscribe?.();
    this.wakeSignal.wake();
    const loopDone = this.loopDone ?? Promise.resolve();
    await withTimeout(loopDone, budgetMs * SEND_SHARE);
    this.cutOff.abort(new Error('cut off by shutdown'));
    await withTimeout(loopDone, Math.max(0, deadline - performance.now()));
    this.client.close();
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      try {
        this.wakeSignal.reset(); // the claim below sees every event committed so far
        const claimedAt = performance.now();
        const claimed = await this.events.claim(
          CLAIM_BATCH,
          this.config.callbackTimeoutMs,
          this.config.leaseMarginMs,
        );
        await Promise.all(claimed.map((event) => this.send(event, claimedAt)));
        if (claimed.length < CLAIM_BATCH && this.state === 'running') {
          await this.wakeSignal.sleep(POLL_INTERVAL_MS);
        }
      } catch (error) {
        this.logger.warn(`events loop error: ${(error as Error).message}`);
        await this.wakeSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  /** One attempt of one event and its record; a failed record leaves it to its lease. */
  private async send(event: ClaimedEvent, claimedAt: number): Promise<void> {
    try {
      if (!event.events_handler) {
        await this.events.delete(event.id);
        this.metrics.eventFinished(event.type, 'dropped');
        this.logger.debug(
          `event ${event.webhook_id} (${event.type}) of ${event.cate} dropped: the category or its events handler is gone`,
        );
        return;
      }
      // Signed by the database clock, as deliveries are: receivers check the timestamp.
      const nowMs = event.claimed_at_ms + (performance.now() - claimedAt);
      const request = buildEventRequest(event, nowMs);
      const result = await this.client.post({
        url: event.events_handler,
        ...request,
        timeoutMs: event.timeout_ms ?? this.config.callbackTimeoutMs,
        signal: this.cutOff.signal,
      });
      if (result.kind === 'response' && result.status >= 200 && result.status < 300) {
        await this.events.delete(event.id);
        this.metrics.eventFinished(event.type, 'delivered');
      } else if (this.cutOff.signal.aborted && result.kind !== 'response') {
        await this.events.release(event);
      } else {
        await this.failed(event, describeFailure(result, this.config.captureResponseBytes));
      }
    } catch (error) {
      this.logger.warn(
        `recording event ${event.webhook_id} failed, it goes again after its lease: ${(error as Error).message}`,
      );
    }
  }

  private async failed(event: ClaimedEvent, error: string): Promise<void> {
    const decision = decideEventRetry(event.attempts, event.age_ms);
    if (decision.kind === 'retry') {
      await this.events.retry(event, decision.delayMs, error);
      this.metrics.eventFinished(event.type, 'retried');
      return;
    }
    await this.events.delete(event.id);
    this.metrics.eventFinished(event.type, 'dropped');
    this.logger.warn(
      `event ${event.webhook_id} (${event.type}) of ${event.cate} dropped after ${event.attempts} attempts over a day; last: ${error}`,
    );
  }
}
