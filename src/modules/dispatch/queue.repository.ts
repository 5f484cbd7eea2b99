import { Injectable } from '@nestjs/common';
import { DispatchPool } from '../../database/dispatch-pool';
import { AttemptRecord } from '../tasks/tasks.types';
import * as sql from './queue.sql';
import {
  ClaimedTask,
  ClaimRef,
  ExpiredLease,
  FailureUpdate,
  LostLeaseOutcome,
  OutcomeBatch,
  OutcomeCounts,
} from './queue.types';

/**
 * The queue's state machine (queue.sql.ts), one method per statement or transaction, on the
 * dispatcher's own pool. The API's task SQL stays in TasksRepository.
 */
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
      const counts: OutcomeCounts = { delivered: 0, failures: 0, released: 0 };
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
      if (batch.attempts.length > 0) {
        await run('insert_attempts', sql.INSERT_ATTEMPTS, attemptArrays(batch.attempts));
      }
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
