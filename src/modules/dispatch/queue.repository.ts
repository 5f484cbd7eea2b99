import { Injectable } from '@nestjs/common';
import { DispatchPool, RunStatement } from '../../database/dispatch-pool';
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
  constructor(private readonly pool: DispatchPool) {}

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

  /** Held categories, and those whose circuit has failures counted (LIST_FLOW_STATES). */
  async flowStates(): Promise<{ held: string[]; counting: string[] }> {
    const { rows } = await this.pool.query<{ cate: string; held: boolean }>(
      'flow_states',
      sql.LIST_FLOW_STATES,
      [],
    );
    return {
      held: rows.filter((r) => r.held).map((r) => r.cate),
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
    return this.pool.transaction(async (run) => {
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
        const values = failureArrays(batch.failures);
        counts.failures = (await run('record_failures', sql.RECORD_FAILURES, values)).rowCount;
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
      if (batch.circuits.length > 0)
        counts.circuitChanges = await updateCircuits(run, batch.circuits);
      return counts;
    });
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
    return this.pool.transaction(async (run) => {
      const { rows } = await run<ExpiredLease>('lock_expired_leases', sql.LOCK_EXPIRED_LEASES, [
        limit,
      ]);
      if (rows.length === 0) return [];
      const outcomes = rows.map(decide);
      const failures = outcomes.map((o) => o.failure);
      await run('record_failures', sql.RECORD_FAILURES, failureArrays(failures));
      const attempts = outcomes.map((o) => o.attempt);
      await run('insert_attempts', sql.INSERT_ATTEMPTS, attemptArrays(attempts));
      return outcomes;
    });
  }
}

/** Locks the batch's categories whose circuit may change and writes their transitions. */
async function updateCircuits(
  run: RunStatement,
  tallies: CircuitTally[],
): Promise<CircuitChange[]> {
  const failing = tallies.filter((t) => t.trailingFailures > 0).map((t) => t.cate);
  const { rows } = await run<CircuitRow>('lock_circuits', sql.LOCK_CIRCUITS, [
    tallies.map((t) => t.cate),
    failing,
  ]);
  if (rows.length === 0) return [];
  const byCate = new Map(tallies.map((t) => [t.cate, t]));
  const changes: CircuitChange[] = [];
  for (const row of rows) {
    const tally = byCate.get(row.cate);
    const change = tally && nextCircuit(row, tally);
    if (change) changes.push(change);
  }
  if (changes.length === 0) return [];
  await run('update_circuits', sql.UPDATE_CIRCUITS, [
    changes.map((c) => c.cate),
    changes.map((c) => c.state),
    changes.map((c) => c.failures),
    changes.map((c) => c.openMs),
    changes.map((c) => c.opened),
  ]);
  return changes;
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
