export type TaskState = 'pending' | 'running' | 'failed';
export const TASK_STATES: readonly TaskState[] = ['pending', 'running', 'failed'];

/** A task as read by the API (FIND_TASK, LIST_TASKS). Exact values are kept as text. */
export interface TaskRow {
  id: string;
  cate: string;
  key: string;
  due_epoch: string;
  params: string;
  handler: string | null;
  category_handler: string | null;
  in_advance: boolean;
  state: TaskState;
  attempts: number;
  last_error: string | null;
  delivery_id: string;
  run_epoch: string;
}

/** Names one claim of a task: completions must match all three (see CLAIM_DUE). */
export interface ClaimRef {
  id: string;
  version: number;
  attempts: number;
}

/** A task claimed for delivery (CLAIM_DUE). */
export interface ClaimedTask extends ClaimRef {
  cate: string;
  key: string;
  params: string;
  in_advance: boolean;
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
}

/** The bounded set of attempt outcomes (history rows and metrics labels). */
export type AttemptOutcome =
  | 'success'
  | 'http_4xx'
  | 'http_5xx'
  | 'http_other'
  | 'timeout'
  | 'connection_error'
  | 'blocked'
  | 'no_handler'
  | 'error';

/** Every AttemptOutcome (the compiler checks the list is complete): metrics series, API enum. */
export const ATTEMPT_OUTCOMES = Object.keys({
  success: true,
  http_4xx: true,
  http_5xx: true,
  http_other: true,
  timeout: true,
  connection_error: true,
  blocked: true,
  no_handler: true,
  error: true,
} satisfies Record<AttemptOutcome, true>) as AttemptOutcome[];

/** One delivery attempt, as kept in task_attempts. */
export interface AttemptRecord {
  taskId: string;
  cate: string;
  key: string;
  deliveryId: string;
  attempt: number;
  startedAtMs: number;
  durationMs: number;
  statusCode: number | null;
  outcome: AttemptOutcome;
  error: string | null;
}

export interface FailureUpdate extends ClaimRef {
  final: boolean;
  delayMs: number;
  error: string;
}

export interface UpsertTaskInput {
  cate: string;
  key: string;
  timestamp: number;
  paramsJson: string;
  handler: string | null;
}

/** One item of a batch upsert (UPSERT_TASKS); the category is the batch's. */
export interface BatchTaskInput {
  key: string;
  timestamp: number;
  paramsJson: string;
  handler: string | null;
}

/** UPSERT_TASKS: tooOldItem is set (and nothing written) when an item was too far in the past. */
export type BatchUpsertResult =
  { kind: 'written'; count: number; earliestDueInMs: number } | { kind: 'too_old'; item: number };

/** RETRY_TASK: the task's state before the call; retried when it was failed and is now pending. */
export interface RetryRow {
  state: TaskState;
  retried: boolean;
}

/** One row of a task's attempt history (LIST_ATTEMPTS). */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptOutcome;
  error: string | null;
}

export interface ListAttemptsFilter {
  cate: string;
  key: string;
  beforeId?: string;
  limit: number;
}

export interface ListTasksFilter {
  cate?: string;
  state?: TaskState;
  afterId?: string;
  limit: number;
}

/** Everything one completion flush writes (TasksRepository.recordOutcomes). */
export interface OutcomeBatch {
  owner: string;
  delivered: ClaimRef[];
  failures: FailureUpdate[];
  released: ClaimRef[];
  attempts: AttemptRecord[];
}

/** Rows each part of an OutcomeBatch changed: claims that were no longer current change none. */
export interface OutcomeCounts {
  delivered: number;
  failures: number;
  released: number;
}

/** TASK_STATS: each count stops at the cap given; the estimates are null without statistics. */
export interface TaskStatsRow {
  pending: number;
  running: number;
  failed: number;
  pending_estimate: number | null;
  running_estimate: number | null;
  failed_estimate: number | null;
  oldest_due_age_seconds: number;
}
