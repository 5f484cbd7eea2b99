import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { TasksRepository } from '../tasks/tasks.repository';
import { TASK_STATES, TaskState, TaskStatsRow } from '../tasks/tasks.types';
import { MetricsRegistry } from './metrics.registry';

/** Up to this many tasks per state are counted exactly (about 2–10 ms); beyond, estimated. */
export const EXACT_COUNT_LIMIT = 10_000;
/** A scrape does not wait longer for the database; the gauges then read NaN (unknown). */
const STATS_TIMEOUT_MS = 2000;

export interface TaskStats {
  counts: Record<TaskState, number>;
  oldestDueAgeSeconds: number;
  /** Categories held back: paused, and circuits by state other than closed. */
  pausedCategories: number;
  circuits: { open: number; half_open: number };
  rateLimitedCategories: number;
  /** Due tasks held back (parked), by why; each counted up to the exact-count limit. */
  held: Record<HeldReason, number>;
}

export const HELD_REASONS = ['paused', 'circuit', 'rate_limit'] as const;
export type HeldReason = (typeof HELD_REASONS)[number];

/** A state's count: exact below the limit; at the limit, the table statistics' estimate if larger. */
export function stateCount(counted: number, estimate: number | null, limit: number): number {
  return counted < limit ? counted : Math.max(counted, estimate ?? 0);
}

export function taskStats(row: TaskStatsRow, limit: number): TaskStats {
  return {
    counts: {
      pending: stateCount(row.pending, row.pending_estimate, limit),
      running: stateCount(row.running, row.running_estimate, limit),
      failed: stateCount(row.failed, row.failed_estimate, limit),
    },
    oldestDueAgeSeconds: row.oldest_due_age_seconds,
    pausedCategories: row.paused_categories,
    circuits: { open: row.open_circuits, half_open: row.half_open_circuits },
    rateLimitedCategories: row.rate_limited_categories,
    held: {
      paused: row.held_paused,
      circuit: row.held_circuit,
      rate_limit: row.held_rate_limit,
    },
  };
}

/** Gauges read from the database when scraped: tasks by state and the oldest due task's age. */
@Injectable()
export class TaskStatsMetrics {
  private readonly logger = new Logger(TaskStatsMetrics.name);
  private reading: Promise<TaskStats | undefined> | undefined;

  constructor(
    registry: MetricsRegistry,
    private readonly tasks: TasksRepository,
  ) {
    const read = (): Promise<TaskStats | undefined> => this.read();
    new Gauge({
      name: 'delay_tasks_tasks',
      help: `Tasks by state (exact up to ${EXACT_COUNT_LIMIT} per state, estimated beyond)`,
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const stats = await read();
        for (const state of TASK_STATES) this.set({ state }, stats?.counts[state] ?? NaN);
      },
    });
    new Gauge({
      name: 'delay_tasks_oldest_due_age_seconds',
      help: 'Now minus the run time of the oldest pending task that is due; 0 when none is due',
      registers: [registry],
      async collect() {
        this.set((await read())?.oldestDueAgeSeconds ?? NaN);
      },
    });
    new Gauge({
      name: 'delay_tasks_categories_paused',
      help: 'Categories paused (their due tasks are held, cluster-wide)',
      registers: [registry],
      async collect() {
        this.set((await read())?.pausedCategories ?? NaN);
      },
    });
    new Gauge({
      name: 'delay_tasks_circuits',
      help: 'Categories whose circuit breaker is not closed, by state (their due tasks are held)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const stats = await read();
        for (const state of ['open', 'half_open'] as const) {
          this.set({ state }, stats?.circuits[state] ?? NaN);
        }
      },
    });
    new Gauge({
      name: 'delay_tasks_categories_rate_limited',
      help: 'Categories with a rate limit (their deliveries are paced cluster-wide)',
      registers: [registry],
      async collect() {
        this.set((await read())?.rateLimitedCategories ?? NaN);
      },
    });
    new Gauge({
      name: 'delay_tasks_held_tasks',
      help:
        'Due tasks held back, pending with no attempt spent, by reason: paused, circuit (not ' +
        `closed), rate_limit (waiting for the category's rate); exact up to ${EXACT_COUNT_LIMIT}`,
      labelNames: ['reason'],
      registers: [registry],
      async collect() {
        const stats = await read();
        for (const reason of HELD_REASONS) this.set({ reason }, stats?.held[reason] ?? NaN);
      },
    });
  }

  /** One query per scrape, shared by both gauges (the registry collects them concurrently). */
  private read(): Promise<TaskStats | undefined> {
    this.reading ??= this.query().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async query(): Promise<TaskStats | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), STATS_TIMEOUT_MS);
    });
    try {
      const row = await Promise.race([this.tasks.stats(EXACT_COUNT_LIMIT), timeout]);
      return taskStats(row, EXACT_COUNT_LIMIT);
    } catch (error) {
      this.logger.warn(`task statistics unavailable: ${(error as Error).message}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
