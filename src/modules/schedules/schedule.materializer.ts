import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { WakeSignal } from '../dispatch/wake-signal';
import { ScheduleMetrics } from '../metrics/schedule.metrics';
import { DueNotifier } from '../tasks/due-notifier';
import { parsedSchedule } from './schedule-cache';
import { PlanSettings, planOccurrences } from './schedule-plan';
import { DueScheduleRow, ScheduleAdvance, SchedulesRepository } from './schedules.repository';

/**
 * Occurrences are created this far ahead, as ordinary tasks due at the occurrence: the
 * dispatchers then fire them on time like any task (their next-due timer, not this loop's poll).
 */
export const LOOKAHEAD_MS = 10_000;
/** See PlanSettings.missedAfterMs: more than the poll below, so a slow look is not a miss. */
export const MISSED_AFTER_MS = 2_000;
/** Missed occurrences judged per look (WITHDRAW_MISSED_OCCURRENCES). */
const MISSED_LIMIT = 10_000;
/** Schedules claimed per transaction; a full claim is followed by another at once. */
const CLAIM_LIMIT = 500;
/** Schedules created or resumed on another replica are seen within this. */
const POLL_INTERVAL_MS = 1000;
const ERROR_BACKOFF_MS = 1000;

const PLAN: PlanSettings = { lookaheadMs: LOOKAHEAD_MS, missedAfterMs: MISSED_AFTER_MS };

type LoopState = 'idle' | 'running' | 'stopped';

/**
 * Turns schedules into occurrence tasks, on every replica that dispatches: claim the schedules
 * due within the look-ahead (FOR UPDATE SKIP LOCKED: each is handled by one replica at a time),
 * plan each (missed policy, DST rule: schedule-plan.ts), create the occurrences and move each
 * schedule on in the same transaction. No SQL here (SchedulesRepository).
 */
@Injectable()
export class ScheduleMaterializer
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(ScheduleMaterializer.name);
  private readonly wakeSignal = new WakeSignal();
  private state: LoopState = 'idle';
  private loopDone: Promise<void> | undefined;

  constructor(
    private readonly schedules: SchedulesRepository,
    private readonly notifier: DueNotifier,
    private readonly metrics: ScheduleMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Before any dispatcher of this replica starts (they start at bootstrap): occurrences created
   * ahead and missed while every replica was down are judged by their missed policy before one
   * of them can be claimed.
   */
  async onModuleInit(): Promise<void> {
    if (!this.config.dispatchEnabled) return;
    try {
      await this.withdrawMissed();
    } catch (error) {
      this.logger.warn(`missed occurrences not judged at start: ${(error as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    if (!this.config.dispatchEnabled) return;
    this.state = 'running';
    this.loopDone = this.loop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopped';
    this.wakeSignal.wake();
    await this.loopDone;
  }

  /** A schedule was created or resumed here: look now rather than at the next poll. */
  wake(): void {
    this.wakeSignal.wake();
  }

  /** One look: judges missed occurrences, claims, plans, creates; answers schedules claimed. */
  async materializeOnce(): Promise<number> {
    await this.withdrawMissed();
    const result = await this.schedules.materialize(LOOKAHEAD_MS, CLAIM_LIMIT, (rows) =>
      rows.map((row) => this.plan(row)),
    );
    this.metrics.recorded(result.created, result.skipped);
    if (result.earliestDueInMs !== null) this.notifier.taskScheduled(result.earliestDueInMs);
    return result.claimed;
  }

  private async withdrawMissed(): Promise<void> {
    const withdrawn = await this.schedules.withdrawMissed(MISSED_AFTER_MS, MISSED_LIMIT);
    this.metrics.recorded(0, withdrawn);
  }

  private plan(row: DueScheduleRow): ScheduleAdvance {
    try {
      const plan = planOccurrences(
        parsedSchedule(row),
        row.missed,
        row.next_run_ms,
        row.now_ms,
        PLAN,
      );
      return { id: row.id, fire: plan.fire, nextMs: plan.nextMs, skipped: plan.skipped };
    } catch (error) {
      // Stored schedules were valid when written; one that no longer parses (a time zone gone
      // from the tz database) stops rather than being claimed on every look.
      this.logger.error(`schedule ${row.id} stopped: ${(error as Error).message}`);
      return { id: row.id, fire: [], nextMs: null, skipped: 0 };
    }
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      try {
        this.wakeSignal.reset(); // the claim below sees every schedule committed so far
        const claimed = await this.materializeOnce();
        if (claimed < CLAIM_LIMIT && this.state === 'running') {
          await this.wakeSignal.sleep(POLL_INTERVAL_MS);
        }
      } catch (error) {
        this.logger.warn(`schedule materializer error: ${(error as Error).message}`);
        await this.wakeSignal.sleep(ERROR_BACKOFF_MS);
      }
    }
  }
}
