import { Transform } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import {
  IsCate,
  IsHttpUrl,
  IsTaskKey,
  IsUnixTimestamp,
  ToKeyString,
  ToTimestamp,
} from '../../common/task-fields';
import { TASK_STATES, TaskState } from './tasks.types';

export const MAX_LIST_LIMIT = 1000;

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

export class ListTasksQueryDto {
  @IsOptional()
  @IsCate()
  cate?: string;

  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;

  /** Page size, 1 to 1000 (default 100). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` })
  @Max(MAX_LIST_LIMIT, { message: `limit must be an integer from 1 to ${MAX_LIST_LIMIT}` })
  limit?: number;

  /** Opaque cursor from the previous page's nextCursor. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'cursor must be a nextCursor value from a previous page',
  })
  cursor?: string;
}

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
