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

export interface ListTasksFilter {
  cate?: string;
  state?: TaskState;
  afterId?: string;
  limit: number;
}
