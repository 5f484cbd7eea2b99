import { HttpService } from '@nestjs/axios';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DATABASE_URL } from '../../database/database.module';
import { DispatchMetrics } from '../metrics/dispatch.metrics';
import { AttemptRecord } from '../tasks/tasks.types';
import { CallbackClient } from './callback.client';
import { CategoryLimits } from './category-limits';
import { CircuitChange } from './circuit-breaker';
import { Completion, CompletionBatcher } from './completion.batcher';
import { buildDeliveryRequest } from './delivery-request';
import { ParkCursor, QueueRepository } from './queue.repository';
import { ClaimedTask } from './queue.types';
import {
  attemptOutcome,
  AttemptResult,
  decideOutcome,
  RetryPolicy,
  retryPolicyOf,
} from './retry-policy';
import { RateSchedule } from './rate-schedule';
import { WakeSignal } from './wake-signal';
import { WakeupListener } from './wakeup.listener';
import { warmDeliveryPath } from './warm-up';
import { withTimeout } from './with-timeout';

type WorkerState = 'idle' | 'running' | 'stopping' | 'stopped';

const ERROR_BACKOFF_MS = 1000;
/** The start-up warm-up is given up after this long (a slow database at boot, say). */
const WARM_UP_MAX_MS = 3000;
/** How often a replica looks for open circuits due for their probe. */
const FLOW_CHECK_MS = 1000;
/** Rows parked or released per statement, and statements per look (bounds one look's time). */
const PARK_CHUNK = 5000;
const PARK_CHUNKS_PER_CHECK = 4;
/**
 * Of the shutdown budget, the part kept for writing outcomes after deliveries were cut off: a
 * quarter of it, at most 2 s (one batched write takes milliseconds when the database is there).
 */
const DRAIN_SHARE = 0.25;
const DRAIN_RESERVE_MAX_MS = 2000;

/**
 * The per-replica dispatch loop: claim due tasks in batches under a lease, deliver each with
 * bounded concurrency, record outcomes through the batcher, then sleep until the next due time,
 * a NOTIFY, a free slot (when waiting for one) or the fallback poll — whichever comes first.
 * It holds no SQL and no HTTP details: those are in QueueRepository and CallbackClient.
 */
@Injectable()
export class DispatchWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger(DispatchWorker.name);
  private readonly wakeSignal = new WakeSignal();
  /** Deliveries in flight, each settled once its outcome is handed to the batcher. */
  private readonly deliveries = new Set<Promise<void>>();
  /**
   * Aborted once, when stop() cuts off the deliveries still running: one signal for all of them,
   * since they are all cut off at the same moment (and never before).
   */
  private readonly cutOff = new AbortController();
  private readonly limits = new CategoryLimits();
  private readonly rates = new RateSchedule();
  private readonly completions: CompletionBatcher;
  private readonly listener: WakeupListener;
  private readonly policy: RetryPolicy;
  private state: WorkerState = 'idle';
  private loopDone: Promise<void> | undefined;
  /** The last claim filled its batch: more is due, so wait for several free slots to claim. */
  private backlog = false;
  private waitingForSlot = false;
  /** When to look at held categories and circuits due for a probe next (monotonic ms). */
  private nextFlowCheck = 0;
  /**
   * Categories whose circuit row says more than "closed, no failures" (as of the last look, at
   * most FLOW_CHECK_MS old): outcome batches update the circuit rows of these and of categories
   * with a failure in the batch; a batch of successes elsewhere writes nothing for them.
   */
  private circuitsCounting = new Set<string>();
  /** The park-and-release pass under way, if any. */
  private parking: Promise<void> | undefined;

  constructor(
    private readonly queue: QueueRepository,
    private readonly client: CallbackClient,
    private readonly http: HttpService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_URL) databaseUrl: string,
    private readonly metrics: DispatchMetrics,
  ) {
    metrics.trackInFlight(() => this.inFlight);
    this.completions = new CompletionBatcher(
      queue,
      () => this.wake(),
      (change) => this.circuitChanged(change),
      (tally) => tally.trailingFailures > 0 || this.circuitsCounting.has(tally.cate),
    );
    this.listener = new WakeupListener(databaseUrl, (flowChanged) => {
      if (flowChanged) this.nextFlowCheck = 0;
      this.wake();
    });
    this.policy = retryPolicyOf(config);
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get inFlight(): number {
    return this.deliveries.size;
  }

  /**
   * Warms up (the pool's connections opened, the delivery path compiled: warm-up.ts), then
   * starts. Nest awaits this before the replica listens, so it reports ready warm. A warm-up that
   * fails or takes over WARM_UP_MAX_MS is not waited for: the dispatcher starts anyway.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.dispatchEnabled) return;
    const warm = Promise.all([this.queue.warm(), warmDeliveryPath(this.http, this.config)]);
    await withTimeout(
      warm.catch((error: Error) => this.logger.warn(`warm-up failed: ${error.message}`)),
      WARM_UP_MAX_MS,
    );
    this.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.listener.start();
    this.loopDone = this.loop();
    this.logger.log(`dispatcher ${this.workerId} started`);
  }

  /** Re-read the table now (a task became due earlier than the loop's current sleep). */
  wake(): void {
    this.wakeSignal.wake();
  }

  /**
   * Stops claiming, lets running deliveries finish, cuts off the rest (a delivery whose response
   * status had arrived keeps its result; one cut off before that is released), then writes every
   * outcome — all within one budget, SHUTDOWN_TIMEOUT_MS, of which the last quarter (at most
   * 2 s) is kept for the writes. Safe to call more than once.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    const budgetMs = this.config.shutdownTimeoutMs;
    const deadline = performance.now() + budgetMs;
    const drainReserveMs = Math.min(budgetMs * DRAIN_SHARE, DRAIN_RESERVE_MAX_MS);
    this.state = 'stopping';
    this.wakeSignal.wake();
    await this.loopDone;
    await this.parking;
    await this.listener.stop();
    const deliveriesMs = deadline - drainReserveMs - performance.now();
    if (deliveriesMs > 0) await withTimeout(this.settled(), deliveriesMs);
    this.cutOff.abort();
    await this.settled();
    await this.completions.drain(Math.max(0, deadline - performance.now()));
    this.completions.close();
    this.client.close();
    this.state = 'stopped';
    this.logger.log(`dispatcher ${this.workerId} stopped`);
  }

  private async settled(): Promise<void> {
    await Promise.allSettled(this.deliveries);
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      try {
        await this.tick();
      } catch (error) {
        this.logger.warn(`dispatch loop error: ${(error as Error).message}`);
        await this.wakeSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private async tick(): Promise<void> {
    const wanted = this.claimSize();
    this.waitingForSlot = wanted === 0;
    if (wanted === 0) {
      await this.wakeSignal.sleep(this.config.pollIntervalMs);
      return;
    }
    this.wakeSignal.reset(); // the claim and next-due reads below see everything committed so far
    const { callbackTimeoutMs, leaseMarginMs } = this.config;
    if (performance.now() >= this.nextFlowCheck) await this.flowControl();
    const claimTimed = this.metrics.claimTimer();
    const claimedAt = performance.now(); // before the claim: the lease starts no earlier
    const claimed = await this.queue.claimDue(
      this.workerId,
      wanted,
      callbackTimeoutMs,
      leaseMarginMs,
      this.limits.atCap(),
    );
    claimTimed();
    this.startClaimed(claimed, claimedAt);
    if (this.rates.size > 0) await this.claimRated();
    this.backlog = claimed.length === wanted;
    if (this.backlog || this.state !== 'running') return;
    const delayMs = await this.queue.nextDueDelayMs(this.limits.atCap());
    const poll = this.config.pollIntervalMs;
    const rateMs = this.rates.nextAt() - performance.now();
    const sleepMs = Math.min(delayMs ?? poll, poll, rateMs);
    await this.wakeSignal.sleep(Math.max(sleepMs, 0));
  }

  /**
   * Starts what a claim returned. A claim whose answer came back after its lease margin (the
   * process was stopped or starved meanwhile) may already be another replica's: it is released
   * unsent rather than add a duplicate (the clock is monotonic, so a wall-clock jump cannot
   * trigger or suppress this). Tasks beyond their category's cap go back at once, the attempt
   * not counted.
   */
  private startClaimed(claimed: ClaimedTask[], claimedAt: number): void {
    const { leaseMarginMs } = this.config;
    const sinceClaimMs = performance.now() - claimedAt;
    if (claimed.length > 0 && sinceClaimMs > leaseMarginMs) {
      this.logger.warn(
        `${claimed.length} claims released unsent: ${Math.round(sinceClaimMs)} ms passed since the claim (lease margin ${leaseMarginMs} ms)`,
      );
      for (const task of claimed)
        this.completions.add({ claim: task, outcome: { kind: 'release' } });
      return;
    }
    const { start, overCap } = this.limits.admit(claimed);
    for (const task of start) this.startDelivery(task, claimedAt);
    for (const task of overCap) this.completions.add({ claim: task, outcome: { kind: 'release' } });
  }

  /**
   * Claims for the rate-limited categories whose bucket may have tokens and work (RateSchedule),
   * within this worker's free slots and each category's cap: one statement for all of them.
   */
  private async claimRated(): Promise<void> {
    const now = performance.now();
    const cates: string[] = [];
    const rooms: number[] = [];
    let free = Math.min(
      this.config.dispatchConcurrency - this.deliveries.size,
      this.config.dispatchBatchSize,
    );
    for (const cate of this.rates.dueAt(now)) {
      const room = Math.min(free, this.limits.room(cate));
      if (room <= 0) {
        // At its cap here (a finished delivery wakes the loop) or no slot left this tick.
        this.rates.blocked(cate);
        continue;
      }
      cates.push(cate);
      rooms.push(room);
      free -= room;
    }
    if (cates.length === 0) return;
    const { callbackTimeoutMs, leaseMarginMs } = this.config;
    const claimedAt = performance.now();
    const claims = await this.queue.claimRated(
      this.workerId,
      cates,
      rooms,
      callbackTimeoutMs,
      leaseMarginMs,
    );
    const done = performance.now();
    const byCate = new Map(claims.map((claim) => [claim.cate, claim]));
    cates.forEach((cate, i) => {
      const claim = byCate.get(cate);
      this.rates.record(
        cate,
        claim && { ...claim, claimed: claim.tasks.length, room: rooms[i] },
        done,
      );
      if (claim) this.startClaimed(claim.tasks, claimedAt);
    });
  }

  /**
   * Once per FLOW_CHECK_MS (at once after a pause or resume): parks the due tasks of held
   * categories (paused, circuit not closed) out of the claim's way, releases those of
   * categories no longer held, and sends the probe of each circuit due for one.
   */
  private async flowControl(): Promise<void> {
    this.nextFlowCheck = performance.now() + FLOW_CHECK_MS;
    // Parking and releasing run beside the loop, never in its way: a large backlog takes seconds.
    if (!this.parking) {
      this.parking = this.parkAndRelease()
        .catch((error: Error) => this.logger.warn(`parking held tasks failed: ${error.message}`))
        .finally(() => (this.parking = undefined));
    }
    await this.claimProbes();
  }

  /** One look at the held categories: park their due tasks, release those of the others. */
  private async parkAndRelease(): Promise<void> {
    const { held: heldBack, rated, counting } = await this.queue.flowStates();
    this.circuitsCounting = new Set(counting);
    if (this.rates.setCategories(rated)) this.wake();
    // Rate-limited categories' due tasks are parked too: CLAIM_RATED takes them from there.
    const held = [...new Set([...heldBack, ...rated.keys()])];
    const now = new Set(held);
    // Every category with parked tasks that is no longer held, read afresh at each look: tasks a
    // replica parked and did not release (it stopped), and those a retry parked while the
    // category was held, are released whatever this replica saw before.
    const released = (await this.queue.parkedCategories()).filter((cate) => !now.has(cate));
    if (released.length > 0) {
      const count = await inChunks((limit) => this.queue.releaseParked(released, limit));
      if (count > 0) {
        this.logger.log(`released ${count} held tasks of ${released.join(', ')}`);
        this.wake();
      }
      // Not all released in this look: look again at once.
      if (count >= PARK_CHUNK * PARK_CHUNKS_PER_CHECK) this.nextFlowCheck = 0;
    }
    if (held.length > 0) {
      let after: ParkCursor | undefined;
      const parked = await inChunks(async (limit) => {
        const { parked, next } = await this.queue.parkHeld(held, limit, after);
        after = next;
        return parked;
      });
      // A large held backlog is parked look after look without waiting: until it is, every
      // claim walks what is left of it.
      if (parked >= PARK_CHUNK * PARK_CHUNKS_PER_CHECK) this.nextFlowCheck = 0;
    }
  }

  /**
   * Sends the probe of each category whose open circuit is due for one (at most one cluster-wide
   * per category; see CLAIM_PROBES), at most FLOW_CHECK_MS after its cooldown (or after the
   * fallback poll when the replica sleeps longer).
   */
  private async claimProbes(): Promise<void> {
    const claimedAt = performance.now();
    const probes = await this.queue.claimProbes(
      this.workerId,
      this.config.callbackTimeoutMs,
      this.config.leaseMarginMs,
    );
    const { start, overCap } = this.limits.admit(probes);
    for (const task of start) {
      this.logger.log(`circuit of ${task.cate} half-open: probe task ${task.key} sent`);
      this.startDelivery(task, claimedAt);
    }
    // At this replica's cap for the category: the probe goes back; the next one goes when the
    // lease it would have had ends (CLAIM_PROBES set the next probe time to that).
    for (const task of overCap) this.completions.add({ claim: task, outcome: { kind: 'release' } });
  }

  /** One log line per circuit transition. */
  private circuitChanged(change: CircuitChange): void {
    if (change.state === change.from) return;
    if (change.state === 'open') {
      const why =
        change.from === 'half_open'
          ? 'the probe failed'
          : `${change.failures} consecutive failed attempts`;
      this.logger.warn(
        `circuit of ${change.cate} opened: ${why}; next probe in ${change.openMs ?? '?'} ms`,
      );
    } else if (change.state === 'closed') {
      this.logger.log(`circuit of ${change.cate} closed: an attempt succeeded`);
    }
  }

  /** How many tasks to claim now: 0 while slots are short or outcomes are not yet written. */
  private claimSize(): number {
    const { dispatchConcurrency: concurrency, dispatchBatchSize: batch } = this.config;
    if (this.completions.size >= concurrency * 4) return 0;
    const free = concurrency - this.deliveries.size;
    const minimum = this.backlog ? Math.min(batch, Math.ceil(concurrency / 2)) : 1;
    return free >= minimum ? Math.min(free, batch) : 0;
  }

  private startDelivery(task: ClaimedTask, claimedAt: number): void {
    const delivery: Promise<void> = this.deliver(task, claimedAt).then(
      (completion) => {
        this.completions.add(completion);
        this.deliveryEnded(task, delivery);
      },
      (error: unknown) => {
        this.deliveryEnded(task, delivery);
        throw error;
      },
    );
    this.deliveries.add(delivery);
  }

  private deliveryEnded(task: ClaimedTask, delivery: Promise<void>): void {
    this.deliveries.delete(delivery);
    const capFreed = this.limits.finished(task.cate);
    if (capFreed || this.waitingForSlot || this.backlog) this.wake();
  }

  /**
   * One attempt and what to record of it. A claim cut off by shutdown before its response status
   * arrived is released (the attempt given back); once the status is in, the result stands —
   * a 2xx whose body was still being read is a delivery, not a release to be sent again.
   * `claimedAt` (monotonic, taken before the claim) carries the database clock of the claim
   * forward to the attempt's start.
   */
  private async deliver(task: ClaimedTask, claimedAt: number): Promise<Completion> {
    const started = performance.now();
    // The database clock rules: a replica whose own clock is off must not date attempts or
    // webhook signatures (which receivers check against their clock) by it.
    const startedAtMs =
      task.claimed_at_ms === undefined ? Date.now() : task.claimed_at_ms + (started - claimedAt);
    const result = await this.attempt(task, startedAtMs);
    if (this.cutOff.signal.aborted && result.kind !== 'response') {
      return { claim: task, outcome: { kind: 'release' } };
    }
    const policy =
      task.max_attempts == null ? this.policy : { ...this.policy, maxAttempts: task.max_attempts };
    const outcome = decideOutcome(result, task.attempts, policy, { snoozes: task.snoozes ?? 0 });
    const attempt: AttemptRecord = {
      taskId: task.id,
      cate: task.cate,
      key: task.key,
      deliveryId: task.delivery_id,
      attempt: task.attempts,
      startedAtMs,
      durationMs: performance.now() - started,
      statusCode: result.kind === 'response' ? result.status : null,
      outcome: outcome.kind === 'snooze' ? 'snoozed' : attemptOutcome(result),
      error: outcome.kind === 'ok' ? null : outcome.error,
    };
    this.metrics.attemptFinished(task, attempt);
    return { claim: task, outcome, attempt };
  }

  /** One attempt; a task that makes delivery throw (bad data) fails like any other attempt. */
  private async attempt(task: ClaimedTask, nowMs: number): Promise<AttemptResult> {
    try {
      if (!task.handler_url) return { kind: 'no_handler' };
      const { body, headers } = buildDeliveryRequest(task, nowMs);
      return await this.client.post({
        url: task.handler_url,
        body,
        headers,
        timeoutMs: task.timeout_ms ?? this.config.callbackTimeoutMs,
        signal: this.cutOff.signal,
      });
    } catch (error) {
      return { kind: 'error', message: (error as Error).message };
    }
  }
}

/** Runs `step` with PARK_CHUNK until it does less than that, at most PARK_CHUNKS_PER_CHECK times. */
async function inChunks(step: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < PARK_CHUNKS_PER_CHECK; i++) {
    const done = await step(PARK_CHUNK);
    total += done;
    if (done < PARK_CHUNK) break;
  }
  return total;
}
