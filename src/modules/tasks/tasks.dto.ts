import { Transform, Type } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsIn,
  IsOptional,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../../common/page-query';
import {
  IsCate,
  IsHttpUrl,
  IsTaskKey,
  IsUnixTimestamp,
  ToKeyString,
  ToTimestamp,
} from '../../common/task-fields';
import { AttemptOutcome, TASK_STATES, TaskState } from './tasks.types';

export const MAX_BATCH_TASKS = 1000;
export class UpsertTaskDto {
  /** When the task is due, in Unix seconds; a fraction gives sub-second precision. */
  @IsDefined({ message: 'timestamp is required' })
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp!: number;

  /** Task key within the category: an integer from 1 to 18446744073709551615. */
  @IsDefined({ message: 'key is required' })
  @ToKeyString()
  @IsTaskKey()
  key!: string;

  /** Any JSON value, delivered exactly as given. */
  @Allow()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.params)
  params?: unknown;

  /** Callback URL for this task only; empty or absent means the category's handler. */
  @IsOptional()
  @ValidateIf((dto: UpsertTaskDto) => dto.handler !== '')
  @IsHttpUrl()
  handler?: string;
}

export class DeleteTaskDto {
  @IsDefined({ message: 'key is required' })
  @ToKeyString()
  @IsTaskKey()
  key!: string;

  /** When given, must equal the task's due time (to the second). */
  @IsOptional()
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp?: number;

  /** Deliver the task now, with inAdvance: true, before removing it. */
  @IsOptional()
  @IsBoolean({ message: 'exec must be true or false' })
  exec?: boolean;
}

export class TaskPathDto {
  @IsCate()
  cate!: string;

  @ToKeyString()
  @IsTaskKey()
  key!: string;
}

export class TaskQueryDto {
  @IsOptional()
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp?: number;
}

/** Many tasks of one category, validated all or nothing (POST /tasks/:cate). */
export class BatchUpsertTasksDto {
  /** 1 to 1000 tasks, each as in POST /task/:cate; keys must be distinct. */
  @ValidateBy({
    name: 'isTaskBatch',
    validator: {
      validate: (value: unknown) =>
        Array.isArray(value) && value.length >= 1 && value.length <= MAX_BATCH_TASKS,
      defaultMessage: () => `tasks must be an array of 1 to ${MAX_BATCH_TASKS} tasks`,
    },
  })
  @ValidateNested({ each: true })
  @Type(() => UpsertTaskDto)
  tasks!: UpsertTaskDto[];
}

export class ListTasksQueryDto extends PageQueryDto {
  @IsOptional()
  @IsCate()
  cate?: string;

  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;
}

export class ListAttemptsQueryDto extends PageQueryDto {}

/** A task as returned by GET /task/:cate/:key and GET /tasks. */
export interface TaskView {
  cate: string;
  key: bigint;
  /** Due time in Unix seconds (exact, as stored). */
  timeToRun: unknown;
  params: unknown;
  /** The handler a delivery would use now: the task's own, else the category's. */
  handler: string | null;
  state: TaskState;
  attempts: number;
  lastError: string | null;
  inAdvance: boolean;
  deliveryId: string;
}

export interface TaskPage {
  items: TaskView[];
  nextCursor: string | null;
}

export interface BatchUpsertView {
  /** Tasks created or updated: all of the batch. */
  count: number;
}

/** One delivery attempt, as returned by GET /task/:cate/:key/attempts. */
export interface AttemptView {
  /** When the attempt started (ISO 8601). */
  startedAt: string;
  /** 1 for the first attempt of an occurrence; a retry via POST …/retry starts again at 1. */
  attempt: number;
  /** The X-Delivery-Id of the occurrence: one task key may have had several occurrences. */
  deliveryId: string;
  /** HTTP status of the handler's answer; null when there was none. */
  statusCode: number | null;
  outcome: AttemptOutcome;
  durationMs: number;
  /** Why the attempt failed (at most 500 characters); null on success. */
  error: string | null;
}

export interface AttemptPage {
  items: AttemptView[];
  nextCursor: string | null;
}
