import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ATTEMPT_OUTCOMES, AttemptOutcome, AttemptRecord } from '../tasks/tasks.types';

/** What the lag of a first attempt is measured against. */
export interface AttemptedTask {
  in_advance: boolean;
  due_epoch: string;
}
import { MetricsRegistry } from './metrics.registry';

/**
 * Told of every attempt DispatchMetrics records (the dashboard's per-bucket statistics). Called
 * synchronously on the delivery's completion: an observer only counts in memory.
 */
export interface AttemptObserver {
  /** `latenessMs`: start − due of a first attempt (as the dispatch lag), else null. */
  attemptFinished(outcome: AttemptOutcome, latenessMs: number | null): void;
  /** Attempts counted at once (leases the sweeper found expired). */
  attemptsCounted(outcome: AttemptOutcome, count: number): void;
}

/** 1 ms to 60 s: lateness targets are milliseconds, a backlog after downtime is minutes. */
export const LAG_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CLAIM_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * What the dispatcher and the lease sweeper report. Per delivery it costs one counter increment
 * and two histogram observations; the in-flight count is read only when scraped.
 */
@Injectable()
export class DispatchMetrics {
  private readonly attempts = new Map<AttemptOutcome, Counter.Internal>();
  private readonly attemptDuration: Histogram;
  private readonly lag: Histogram;
  private readonly claimDuration: Histogram;
  private readonly rescued: Counter;
  private inFlightSource: () => number = () => 0;
  private readonly observers: AttemptObserver[] = [];

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    const attempts = new Counter({
      name: 'delay_tasks_attempts_total',
      help: 'Delivery attempts by outcome',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ATTEMPT_OUTCOMES) {
      const child = attempts.labels(outcome);
      child.inc(0); // the series exists from the start: rate() and alerts see the first attempt
      this.attempts.set(outcome, child);
    }
    this.attemptDuration = new Histogram({
      name: 'delay_tasks_attempt_duration_seconds',
      help: 'Duration of delivery attempts, from the request start to the response or failure',
      buckets: ATTEMPT_BUCKETS,
      registers,
    });
    this.lag = new Histogram({
      name: 'delay_tasks_dispatch_lag_seconds',
      help: "Start of a task's first delivery attempt minus its due time",
      buckets: LAG_BUCKETS,
      registers,
    });
    this.claimDuration = new Histogram({
      name: 'delay_tasks_claim_duration_seconds',
      help: 'Duration of the claim query that leases due tasks',
      buckets: CLAIM_BUCKETS,
      registers,
    });
    this.rescued = new Counter({
      name: 'delay_tasks_leases_rescued_total',
      help: 'Tasks whose lease expired, found by the sweeper (each counted as a lease_expired attempt)',
      registers,
    });
    const inFlight = (): number => this.inFlightSource();
    new Gauge({
      name: 'delay_tasks_in_flight',
      help: 'Deliveries running on this replica',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
  }

  /** Where the in-flight gauge reads from when scraped (the dispatcher's own count). */
  trackInFlight(source: () => number): void {
    this.inFlightSource = source;
  }

  /** Tells `observer` of every attempt from now on. */
  observeAttempts(observer: AttemptObserver): void {
    this.observers.push(observer);
  }

  /** Starts timing a claim; call the returned function once the claim query returned. */
  claimTimer(): () => void {
    const end = this.claimDuration.startTimer();
    return () => void end();
  }

  /**
   * One finished attempt. The lag is taken on first attempts only: a retry starts when its
   * backoff ends, long after the due time, by design. Tasks run in advance (DELETE with exec)
   * are early by design, so they are left out too. The due time is the database's and the start
   * this replica's: clock skew between them shows up here, which is why negatives count as 0.
   */
  attemptFinished(task: AttemptedTask, attempt: AttemptRecord): void {
    this.attempts.get(attempt.outcome)?.inc();
    this.attemptDuration.observe(attempt.durationMs / 1000);
    let latenessMs: number | null = null;
    if (attempt.attempt === 1 && !task.in_advance) {
      this.lag.observe(Math.max(0, attempt.startedAtMs / 1000 - Number(task.due_epoch)));
      latenessMs = Math.max(0, attempt.startedAtMs - Number(task.due_epoch) * 1000);
    }
    for (const observer of this.observers) observer.attemptFinished(attempt.outcome, latenessMs);
  }

  /**
   * Leases the sweeper found expired: each is an attempt with outcome lease_expired (retried
   * after backoff, or failed when it was the last).
   */
  leasesRescued(count: number): void {
    if (count === 0) return;
    this.rescued.inc(count);
    this.attempts.get('lease_expired')?.inc(count);
    for (const observer of this.observers) observer.attemptsCounted('lease_expired', count);
  }
}
