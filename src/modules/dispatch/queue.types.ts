import { AttemptRecord } from '../tasks/tasks.types';
import { CircuitChange, CircuitTally } from './circuit-breaker';

/** Names one claim of a task for good: completions and releases must match it (queue.sql.ts). */
export interface ClaimRef {
  id: string;
  claim_token: number;
}

/** A task claimed for delivery (CLAIM_DUE). */
export interface ClaimedTask extends ClaimRef {
  cate: string;
  key: string;
  params: string;
  in_advance: boolean;
  /** This attempt's number (1 for the first). */
  attempts: number;
  /** Snoozes (425 Too Early) of this occurrence so far; absent: none. */
  snoozes?: number;
  delivery_id: string;
  due_epoch: string;
  /** The task's own handler, else the category's current one; null when neither exists. */
  handler_url: string | null;
  /** The category's settings; null means the service default. */
  max_attempts: number | null;
  timeout_ms: number | null;
  /** Most deliveries of the category in flight at once on one worker; null or absent: no cap. */
  concurrency?: number | null;
  /** Signing secrets of the category (whsec_…), newest first; empty when unsigned. */
  secrets: string[];
  /** The database clock at the claim, epoch ms; absent: the local clock stands in. */
  claimed_at_ms?: number;
  /** An occurrence of a schedule (due_epoch is its time); absent: false. */
  from_schedule?: boolean;
}

/** What CLAIM_RATED did for one rate-limited category. */
export interface RateClaim {
  cate: string;
  /** Tasks claimed (as many tokens taken). */
  tasks: ClaimedTask[];
  /** What the bucket and the room asked for allowed: min(whole tokens, room). */
  allowed: number;
  /** Tokens in the bucket after the claim (a fraction when the tokens bound the claim). */
  tokensLeft: number;
  perSecond: number;
}

/** A CLAIM_RATED row: the bucket's columns, then a claimed task's (all NULL when none). */
export type RatedClaimRow = {
  bucket_cate: string;
  tokens_left: number;
  per_second: number;
  allowed: number;
} & { [K in keyof ClaimedTask]: ClaimedTask[K] | null };

/** A lease that expired, locked for the sweeper (LOCK_EXPIRED_LEASES). */
export interface ExpiredLease extends ClaimRef {
  cate: string;
  key: string;
  delivery_id: string;
  /** The number of the attempt whose lease was lost. */
  attempts: number;
  /** The worker that held the lease. */
  lease_owner: string | null;
  max_attempts: number | null;
  /** When the lost claim started, and the database clock now (epoch ms). */
  leased_at_ms: number;
  now_ms: number;
}

export interface FailureUpdate extends ClaimRef {
  final: boolean;
  delayMs: number;
  error: string;
}

export interface SnoozeUpdate extends ClaimRef {
  delayMs: number;
}

/** Everything one completion flush writes (QueueRepository.recordOutcomes). */
export interface OutcomeBatch {
  delivered: ClaimRef[];
  failures: FailureUpdate[];
  released: ClaimRef[];
  snoozes: SnoozeUpdate[];
  attempts: AttemptRecord[];
  /** What the batch's attempts say of each category's circuit (tallyCircuits). */
  circuits: CircuitTally[];
}

/** Rows each part of an OutcomeBatch changed: claims that were no longer current change none. */
export interface OutcomeCounts {
  delivered: number;
  failures: number;
  released: number;
  snoozes: number;
  /** Circuit transitions written with the batch. */
  circuitChanges: CircuitChange[];
}

/** What the sweeper decided for one lost lease: its retry or failure, and its history row. */
export interface LostLeaseOutcome {
  failure: FailureUpdate;
  attempt: AttemptRecord;
}
