import { Injectable, Optional } from '@nestjs/common';
import { DispatchPool, RunStatement } from '../../database/dispatch-pool';
import { EventsWrittenSignal } from '../handlers/events-written.signal';
import { AttemptRecord } from '../tasks/tasks.types';
import { CircuitChange, CircuitRow, CircuitTally, nextCircuit } from './circuit-breaker';
import * as sql from './queue.sql';
import {
  ClaimedTask,
  ClaimRef,
  ExpiredLease,
  FailureUpdate,
  LostLeaseOutcome,
  OutcomeBatch,
  OutcomeCounts,
  RateClaim,
  RatedClaimRow,
  SnoozeUpdate,
} from './queue.types';

/**
 * The queue's state machine (queue.sql.ts), one method per statement or transaction, on the
 * dispatcher's own pool. The API's task SQL stays in TasksRepository.
 */
/** Where PARK_HELD goes on: after this (run_at, id). */
export interface ParkCursor {
  runAt: Date | string;
  id: string;
}

@Injectable()
export class QueueRepository {
  constructor(
    private readonly pool: DispatchPool,
    /** Told after a commit that wrote events (task.failed, circuit changes) to the outbox. */
    @Optional() private readonly eventsWritten?: EventsWrittenSignal,
  ) {}

  /** Opens the dispatcher pool's connections (start-up). */
  warm(): Promise<void> {
    return this.pool.warm();
  }

  /**
   * Claims up to `limit` due tasks for `owner`. `timeoutMs` is the default callback timeout; the
   * lease is a category's timeout + `leaseMarginMs`. Tasks of `skipCates` (categories at the
   * worker's concurrency cap) are left alone.
   */
  async claimDue(
    owner: string,
    limit: number,
    timeoutMs: number,
    leaseMarginMs: number,
    skipCates: string[] = [],
  ): Promise<ClaimedTask[]> {
    const values = [limit, owner, timeoutMs, leaseMarginMs, skipCates];
    return (await this.pool.query<ClaimedTask>('claim_due', sql.CLAIM_DUE, values)).rows;
  }

  /**
   * Claims one probe task for each category whose circuit is due for one (CLAIM_PROBES); the
   * lease as in claimDue.
   */
  async claimProbes(
    owner: string,
    timeoutMs: number,
    leaseMarginMs: number,
  ): Promise<ClaimedTask[]> {
    const values = [owner, timeoutMs, leaseMarginMs];
    return (await this.pool.query<ClaimedTask>('claim_probes', sql.CLAIM_PROBES, values)).rows;
  }

  /**
   * Claims due tasks of rate-limited categories within their token buckets (CLAIM_RATED): up to
   * `rooms[i]` for `cates[i]`. One RateClaim per category whose bucket was read (a category
   * paused, with its circuit not closed or no longer rate-limited has none).
   */
  async claimRated(
    owner: string,
    cates: string[],
    rooms: number[],
    timeoutMs: number,
    leaseMarginMs: number,
  ): Promise<RateClaim[]> {
    const values = [cates, rooms, owner, timeoutMs, leaseMarginMs];
    const { rows } = await this.pool.query<RatedClaimRow>('claim_rated', sql.CLAIM_RATED, values);
    const byCate = new Map<string, RateClaim>();
    for (const { bucket_cate, tokens_left, per_second, allowed, ...task } of rows) {
      let claim = byCate.get(bucket_cate);
      if (!claim) {
        claim = {
          cate: bucket_cate,
          tasks: [],
          allowed,
          tokensLeft: tokens_left,
          perSecond: per_second,
        };
        byCate.set(bucket_cate, claim);
      }
      if (task.id !== null) claim.tasks.push(task as ClaimedTask);
    }
    return [...byCate.values()];
  }

  /**
   * Held categories, rate-limited ones (with their rate), and those whose circuit has failures
   * counted (LIST_FLOW_STATES).
   */
  async flowStates(): Promise<{
    held: string[];
    rated: Map<string, number>;
    counting: string[];
  }> {
    const { rows } = await this.pool.query<{
      cate: string;
      held: boolean;
      per_second: number | null;
    }>('flow_states', sql.LIST_FLOW_STATES, []);
    return {
      held: rows.filter((r) => r.held).map((r) => r.cate),
      rated: new Map(
        rows.filter((r) => r.per_second !== null).map((r) => [r.cate, r.per_second as number]),
      ),
      counting: rows.map((r) => r.cate),
    };
  }

  /**
   * Parks up to `limit` due tasks of `cates` after `after` (PARK_HELD); returns how many and
   * where to go on.
   */
  async parkHeld(
    cates: string[],
    limit: number,
    after: ParkCursor = { runAt: '-infinity', id: '0' },
  ): Promise<{ parked: number; next: ParkCursor | undefined }> {
    const { rows } = await this.pool.query<{
      parked: number;
      last_run_at: Date | null;
      last_id: string | null;
    }>('park_held', sql.PARK_HELD, [cates, limit, after.runAt, after.id]);
    const [row] = rows;
    const next =
      row.last_run_at && row.last_id ? { runAt: row.last_run_at, id: row.last_id } : undefined;
    return { parked: row.parked, next };
  }

  /** Releases up to `limit` parked tasks of `cates` no longer held; returns how many. */
  async releaseParked(cates: string[], limit: number): Promise<number> {
    return (await this.pool.query('release_parked', sql.RELEASE_PARKED, [cates, limit])).rowCount;
  }

  async parkedCategories(): Promise<string[]> {
    const { rows } = await this.pool.query<{ cate: string }>(
      'parked_categories',
      sql.LIST_PARKED_CATEGORIES,
      [],
    );
    return rows.map((r) => r.cate);
  }

  /** Milliseconds until the earliest pending task outside `skipCates` is due; null when none. */
  async nextDueDelayMs(skipCates: string[] = []): Promise<number | null> {
    const { rows } = await this.pool.query<{ delay_ms: number | null }>(
      'next_due_delay',
      sql.NEXT_DUE_DELAY,
      [skipCates],
    );
    return rows[0]?.delay_ms ?? null;
  }

  /**
   * Writes one batch of delivery outcomes and its attempt history in a single transaction, so
   * that a batch retried after an error is neither half applied nor recorded twice.
   */
  async recordOutcomes(batch: OutcomeBatch): Promise<OutcomeCounts> {
    let events = 0;
    const written = await this.pool.transaction(async (run) => {
      const counts: OutcomeCounts = {
        delivered: 0,
        failures: 0,
        released: 0,
        snoozes: 0,
        circuitChanges: [],
      };
      if (batch.delivered.length > 0) {
        const values = claimArrays(batch.delivered);
        counts.delivered = (
          await run('complete_delivered', sql.COMPLETE_DELIVERED, values)
        ).rowCount;
      }
      if (batch.failures.length > 0) {
        const recorded = await recordFailures(run, batch.failures);
        counts.failures = recorded.recorded;
        events += recorded.events;
      }
      if (batch.released.length > 0) {
        const values = claimArrays(batch.released);
        counts.released = (await run('release_claims', sql.RELEASE_CLAIMS, values)).rowCount;
      }
      if (batch.snoozes.length > 0) {
        const values = snoozeArrays(batch.snoozes);
        counts.snoozes = (await run('record_snoozes', sql.RECORD_SNOOZES, values)).rowCount;
      }
      if (batch.attempts.length > 0) {
        await run('insert_attempts', sql.INSERT_ATTEMPTS, attemptArrays(batch.attempts));
      }
      // Last: the handler rows stay locked only for the rest of this transaction.
      if (batch.circuits.length > 0) {
        const circuits = await updateCircuits(run, batch.circuits);
        counts.circuitChanges = circuits.changes;
        events += circuits.events;
      }
      return counts;
    });
    this.eventsWritten?.written(events);
    return written;
  }

  /**
   * Locks up to `limit` expired leases and, in the same transaction, records what `decide` makes
   * of each (a retry after backoff or a failure, plus a `lease_expired` attempt row). Returns the
   * outcomes written.
   */
  async rescueExpiredLeases(
    limit: number,
    decide: (lease: ExpiredLease) => LostLeaseOutcome,
  ): Promise<LostLeaseOutcome[]> {
    const rescued = await this.pool.transaction(async (run) => {
      const { rows } = await run<ExpiredLease>('lock_expired_leases', sql.LOCK_EXPIRED_LEASES, [
        limit,
      ]);
      if (rows.length === 0) return { outcomes: [], events: 0 };
      const outcomes = rows.map(decide);
      const { events } = await recordFailures(
        run,
        outcomes.map((o) => o.failure),
      );
      const attempts = outcomes.map((o) => o.attempt);
      await run('insert_attempts', sql.INSERT_ATTEMPTS, attemptArrays(attempts));
      return { outcomes, events };
    });
    this.eventsWritten?.written(rescued.events);
    return rescued.outcomes;
  }
}

/** RECORD_FAILURES: rows the fence let through, and task.failed events written with them. */
async function recordFailures(
  run: RunStatement,
  failures: FailureUpdate[],
): Promise<{ recorded: number; events: number }> {
  const { rows } = await run<{ recorded: number; events: number }>(
    'record_failures',
    sql.RECORD_FAILURES,
    failureArrays(failures),
  );
  return rows[0] ?? { recorded: 0, events: 0 };
}

/** Locks the batch's categories whose circuit may change and writes their transitions. */
async function updateCircuits(
  run: RunStatement,
  tallies: CircuitTally[],
): Promise<{ changes: CircuitChange[]; events: number }> {
  const failing = tallies.filter((t) => t.trailingFailures > 0).map((t) => t.cate);
  const { rows } = await run<CircuitRow>('lock_circuits', sql.LOCK_CIRCUITS, [
    tallies.map((t) => t.cate),
    failing,
  ]);
  if (rows.length === 0) return { changes: [], events: 0 };
  const byCate = new Map(tallies.map((t) => [t.cate, t]));
  const changes: CircuitChange[] = [];
  for (const row of rows) {
    const tally = byCate.get(row.cate);
    const change = tally && nextCircuit(row, tally);
    if (change) changes.push(change);
  }
  if (changes.length === 0) return { changes, events: 0 };
  const written = await run<{ events: number }>('update_circuits', sql.UPDATE_CIRCUITS, [
    changes.map((c) => c.cate),
    changes.map((c) => c.state),
    changes.map((c) => c.failures),
    changes.map((c) => c.openMs),
    changes.map((c) => c.opened),
    changes.map((c) => c.from),
  ]);
  return { changes, events: written.rows[0]?.events ?? 0 };
}

function snoozeArrays(snoozes: SnoozeUpdate[]): unknown[] {
  return [...claimArrays(snoozes), snoozes.map((s) => Math.max(0, Math.round(s.delayMs)))];
}

function claimArrays(claims: ClaimRef[]): [string[], number[]] {
  return [claims.map((c) => c.id), claims.map((c) => c.claim_token)];
}

function failureArrays(failures: FailureUpdate[]): unknown[] {
  return [
    ...claimArrays(failures),
    failures.map((f) => f.final),
    failures.map((f) => Math.max(0, Math.round(f.delayMs))),
    failures.map((f) => f.error),
  ];
}

function attemptArrays(attempts: AttemptRecord[]): unknown[] {
  return [
    attempts.map((a) => a.taskId),
    attempts.map((a) => a.cate),
    attempts.map((a) => a.key),
    attempts.map((a) => a.deliveryId),
    attempts.map((a) => a.attempt),
    attempts.map((a) => a.startedAtMs),
    attempts.map((a) => Math.round(a.durationMs)),
    attempts.map((a) => a.statusCode),
    attempts.map((a) => a.outcome),
    attempts.map((a) => a.error),
  ];
}
