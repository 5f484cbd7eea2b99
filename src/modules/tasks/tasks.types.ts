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
  | 'error'
  | 'lease_expired'
  | 'gone'
  | 'snoozed';

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
  lease_expired: true,
  gone: true,
  snoozed: true,
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

/** UPSERT_TASK: written is false when the task was identical to the stored one. */
export interface UpsertResult {
  written: boolean;
  dueInMs: number;
}

/** UPSERT_TASKS: tooOldItem is set (and nothing written) when an item was too far in the past. */
export type BatchUpsertResult =
  | { kind: 'written'; count: number; earliestDueInMs: number | null }
  | { kind: 'too_old'; item: number };

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
  /** The page ends once its items reach this many bytes (it always holds one item). */
  maxBytes: number;
}

/** One item of a GET /tasks page (LIST_TASKS…), with what the size cut left of the page. */
export interface ListedTaskRow extends TaskRow {
  /** Rows the limit fetched; more than the page's rows when the size cut ended it. */
  fetched: number;
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
  paused_categories: number;
  open_circuits: number;
  half_open_circuits: number;
  rate_limited_categories: number;
  /** Parked (held back) tasks, by why: paused, circuit not closed, rate limit. */
  held_paused: number;
  held_circuit: number;
  held_rate_limit: number;
}

/** Which tasks of a category a bulk retry re-queues: failed, by when they failed (Unix seconds). */
export interface BulkRetryFilter {
  cate: string;
  /** Inclusive; null: no lower bound. */
  failedAfter: number | null;
  /** Exclusive; null: no upper bound. */
  failedBefore: number | null;
}

/** Which tasks of a category a bulk delete removes: by state and due time (Unix seconds). */
export interface BulkDeleteFilter {
  cate: string;
  /** null: every state. */
  state: TaskState | null;
  /** Inclusive; null: no lower bound. */
  dueAfter: number | null;
  /** Exclusive; null: no upper bound. */
  dueBefore: number | null;
}

/** One chunk of a bulk action (see bulkChunk in tasks.sql.ts). */
export interface BulkChunkResult {
  /** Rows the chunk read; fewer than the chunk size: the category has no more. */
  scanned: number;
  /** Id of the last row read, where the next chunk goes on; null when none was read. */
  lastId: string | null;
  /** Rows of the chunk changed (a dry run: matching). */
  count: number;
}
