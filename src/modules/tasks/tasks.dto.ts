import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Expose, Transform, Type } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsDefined,
  IsIn,
  IsOptional,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  ValidationArguments,
} from 'class-validator';
import { isValidTimeZone, LocalTimeError, parseLocalDateTime } from '../../common/local-time';
import { ApiAnyJsonProperty, ApiKeyProperty } from '../../common/openapi.decorators';
import { PageQueryDto } from '../../common/page-query';
import {
  CATE_PATTERN,
  IsCate,
  isHttpUrl,
  IsHttpUrl,
  isTaskKey,
  IsTaskKey,
  isUnixTimestamp,
  IsUnixTimestamp,
  MAX_TIMESTAMP,
  MAX_URL_LENGTH,
  toKeyString,
  ToKeyString,
  ToTimestamp,
} from '../../common/task-fields';
import { isPlainRecord } from '../../common/validation.pipe';
import { ATTEMPT_OUTCOMES, AttemptOutcome, TASK_STATES, TaskState } from './tasks.types';

export const MAX_BATCH_TASKS = 1000;

const LOCAL_AT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?$';
const LOCAL_AT_MESSAGE =
  'at must be a local date-time YYYY-MM-DDTHH:mm[:ss[.SSS]] without offset, e.g. 2027-03-28T02:30:00';

function isLocalDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    parseLocalDateTime(value);
    return true;
  } catch (error) {
    if (error instanceof LocalTimeError) return false;
    throw error;
  }
}

/** Unix seconds as documented: a number from 0 to 253402300799 (year 9999). */
const timestampSchema = { type: 'number', minimum: 0, maximum: MAX_TIMESTAMP } as const;

export class UpsertTaskDto {
  /**
   * When the task is due, in Unix seconds; a fraction gives sub-second precision. More than 60 s
   * in the past (by the database clock) is refused; within 60 s means "due now". Required unless
   * `at` and `timezone` are given instead (exactly one of the two ways).
   */
  @ApiPropertyOptional({ ...timestampSchema, example: 1795800000.25 })
  @ValidateIf((dto: UpsertTaskDto) => dto.at === undefined || dto.timestamp !== undefined)
  @IsDefined({ message: 'timestamp is required' })
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp?: number;

  /**
   * The due time as a local date-time without offset, `YYYY-MM-DDTHH:mm[:ss[.SSS]]`, read in
   * `timezone`, in place of `timestamp`. A local time that does not exist (spring forward) is
   * shifted forward by the gap (02:30 → 03:30); one that happens twice is its first instance.
   */
  @ApiPropertyOptional({
    type: 'string',
    example: '2027-03-28T02:30:00',
    pattern: LOCAL_AT_PATTERN,
  })
  @IsOptional()
  @ValidateBy({
    name: 'isLocalDateTime',
    validator: { validate: isLocalDateTime, defaultMessage: () => LOCAL_AT_MESSAGE },
  })
  @ValidateBy({
    name: 'atOrTimestamp',
    validator: {
      validate: (_value: unknown, args?: ValidationArguments) =>
        (args?.object as UpsertTaskDto | undefined)?.timestamp === undefined,
      defaultMessage: () => 'give either timestamp or at (with timezone), not both',
    },
  })
  at?: string;

  /** IANA time zone of `at` (e.g. Europe/Berlin); required with `at`, only with it. */
  @ApiPropertyOptional({ type: 'string', example: 'Europe/Berlin', maxLength: 64 })
  @ValidateIf((dto: UpsertTaskDto) => dto.at !== undefined || dto.timezone !== undefined)
  @IsDefined({ message: 'timezone is required with at' })
  @ValidateBy({
    name: 'isTimeZoneOfAt',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) =>
        (args?.object as UpsertTaskDto | undefined)?.at !== undefined &&
        typeof value === 'string' &&
        value.length <= 64 &&
        isValidTimeZone(value),
      defaultMessage: (args?: ValidationArguments) =>
        (args?.object as UpsertTaskDto | undefined)?.at === undefined
          ? 'timezone goes with at; a timestamp is Unix seconds, in no time zone'
          : 'timezone must be an IANA time zone name such as Europe/Berlin',
    },
  })
  timezone?: string;

  @ApiKeyProperty()
  @IsDefined({ message: 'key is required' })
  @ToKeyString()
  @IsTaskKey()
  key!: string;

  /**
   * Any JSON value, delivered exactly as given: integers beyond 2^53 keep every digit. At most
   * MAX_PARAMS_BYTES (64 KiB) once serialized.
   */
  @ApiAnyJsonProperty({ required: false, example: { orderId: 9007199254740993n } })
  @Allow()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.params)
  params?: unknown;

  /** Callback URL for this task only; empty, null or absent means the category's handler. */
  @ApiPropertyOptional({
    type: 'string',
    format: 'uri',
    maxLength: MAX_URL_LENGTH,
    nullable: true,
    example: 'http://10.0.0.6:8080/hooks/orders-special',
  })
  @IsOptional()
  @ValidateIf((dto: UpsertTaskDto) => dto.handler !== '')
  @IsHttpUrl()
  handler?: string;

  /**
   * The pipe's shortcut (PlainlyValidated) for the usual task: a JSON number timestamp, a key,
   * and optionally params and a handler, each valid. The instance is the one plainToInstance and
   * whitelisting make of it: the given fields in the given order, through the same transforms.
   * Anything else (`at`, other fields, a timestamp as text or with more digits than a double
   * holds, a field that breaks a rule) goes the full way.
   */
  static validPlain(value: unknown): UpsertTaskDto | undefined {
    if (!isPlainRecord(value)) return undefined;
    const dto = new UpsertTaskDto();
    for (const name of Object.keys(value)) {
      const given = value[name];
      if (name === 'timestamp') {
        if (typeof given !== 'number' || !isUnixTimestamp(given)) return undefined;
        dto.timestamp = given;
      } else if (name === 'key') {
        const key = toKeyString(given);
        if (typeof given === 'object' || !isTaskKey(key)) return undefined;
        dto.key = key;
      } else if (name === 'params') {
        dto.params = given;
      } else if (name === 'handler') {
        if (!(given === null || given === '' || isHttpUrl(given))) return undefined;
        dto.handler = given as string;
      } else {
        return undefined;
      }
    }
    return dto.timestamp === undefined || dto.key === undefined ? undefined : dto;
  }
}

export class DeleteTaskDto {
  @ApiKeyProperty()
  @IsDefined({ message: 'key is required' })
  @ToKeyString()
  @IsTaskKey()
  key!: string;

  /** When given, must equal the task's due time (to the second), else the task counts as absent. */
  @ApiPropertyOptional({ ...timestampSchema, example: 1795800000 })
  @IsOptional()
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp?: number;

  /** Deliver the task now, with inAdvance: true, before removing it. */
  @ApiPropertyOptional({ type: 'boolean', default: false, example: false })
  @IsOptional()
  @IsBoolean({ message: 'exec must be true or false' })
  exec?: boolean;
}

/** Path of one task: /task/:cate/:key. */
export class TaskPathDto {
  /** Category name: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsCate()
  cate!: string;

  @ApiKeyProperty()
  @ToKeyString()
  @IsTaskKey()
  key!: string;
}

export class TaskQueryDto {
  /** When given, must equal the task's due time (to the second), else the answer is 404. */
  @ApiPropertyOptional({ ...timestampSchema, example: 1795800000 })
  @IsOptional()
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp?: number;
}

/** Many tasks of one category, validated all or nothing (POST /tasks/:cate). */
export class BatchUpsertTasksDto {
  /** 1 to 1000 tasks, each as in POST /task/:cate; keys must be distinct. */
  @ApiProperty({ type: [UpsertTaskDto], minItems: 1, maxItems: MAX_BATCH_TASKS })
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

  /** The pipe's shortcut (PlainlyValidated): `tasks` alone, 1 to 1,000 plainly valid tasks. */
  static validPlain(value: unknown): BatchUpsertTasksDto | undefined {
    if (!isPlainRecord(value)) return undefined;
    const names = Object.keys(value);
    const given = value.tasks;
    if (names.length !== 1 || !Array.isArray(given)) return undefined;
    if (given.length < 1 || given.length > MAX_BATCH_TASKS) return undefined;
    const tasks: UpsertTaskDto[] = [];
    for (const item of given) {
      const task = UpsertTaskDto.validPlain(item);
      if (task === undefined) return undefined;
      tasks.push(task);
    }
    const dto = new BatchUpsertTasksDto();
    dto.tasks = tasks;
    return dto;
  }
}

export class ListTasksQueryDto extends PageQueryDto {
  /** Only tasks of this category. */
  @ApiPropertyOptional({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsOptional()
  @IsCate()
  cate?: string;

  /** Only tasks in this state. */
  @ApiPropertyOptional({ enum: TASK_STATES, enumName: 'TaskState', example: 'failed' })
  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;
}

export class ListAttemptsQueryDto extends PageQueryDto {}

/** A task as returned by GET /task/:cate/:key and GET /tasks. */
export class TaskView {
  @ApiProperty({ example: 'orders' })
  cate!: string;

  @ApiKeyProperty()
  key!: bigint;

  /** Due time in Unix seconds (exact, as stored; a fraction for sub-second precision). */
  @ApiProperty({ type: 'number', example: 1795800000.25 })
  timeToRun!: unknown;

  /** The task's params, exactly as given (integers beyond 2^53 included). */
  @ApiAnyJsonProperty({ example: { orderId: 9007199254740993n } })
  params!: unknown;

  /**
   * The handler a delivery would use now: the task's own, else the category's; credentials
   * masked as in GET /handler/:cate (a password, token and key query values read ***).
   */
  @ApiProperty({ type: 'string', nullable: true, example: 'http://10.0.0.5:8080/hooks/orders' })
  handler!: string | null;

  /** pending: waiting for its time; running: being delivered; failed: attempts exhausted. */
  @ApiProperty({ enum: TASK_STATES, enumName: 'TaskState', example: 'pending' })
  state!: TaskState;

  /** Delivery attempts made for the current occurrence. */
  @ApiProperty({ type: 'integer', example: 0 })
  attempts!: number;

  /**
   * Why the last attempt failed (for an HTTP answer, its status and at most
   * CAPTURE_RESPONSE_BYTES of its body); null when none has.
   */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  lastError!: string | null;

  /** true for a delivery requested with DELETE … "exec": true. */
  @ApiProperty({ example: false })
  inAdvance!: boolean;

  /** Sent as X-Delivery-Id (and webhook-id): the same on every attempt of this occurrence. */
  @ApiProperty({ example: '0b6c7f2e-8f5a-4c1e-9d3b-2a4f6e8c1d90' })
  deliveryId!: string;
}

export class TaskPage {
  /** At most limit tasks, and fewer once they reach about 1 MiB (at least one). */
  @ApiProperty({ type: [TaskView] })
  items!: TaskView[];

  /**
   * Cursor of the next page (the cursor query parameter); null on the last one. A page cut at
   * about 1 MiB has one too.
   */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}

export class DeleteTaskResult {
  /** false when there was no such task (the call is idempotent). */
  @ApiProperty({ example: true })
  deleted!: boolean;
}

export class BatchUpsertView {
  /** Tasks created or updated: all of the batch. */
  @ApiProperty({ type: 'integer', example: 2 })
  count!: number;
}

/** One delivery attempt, as returned by GET /task/:cate/:key/attempts. */
export class AttemptView {
  /** When the attempt started (ISO 8601). */
  @ApiProperty({ format: 'date-time', example: '2026-11-26T17:13:09.979Z' })
  startedAt!: string;

  /** 1 for the first attempt of an occurrence; a retry via POST …/retry starts again at 1. */
  @ApiProperty({ type: 'integer', example: 1 })
  attempt!: number;

  /** The X-Delivery-Id of the occurrence: one task key may have had several occurrences. */
  @ApiProperty({ example: '0b6c7f2e-8f5a-4c1e-9d3b-2a4f6e8c1d90' })
  deliveryId!: string;

  /** HTTP status of the handler's answer; null when there was none. */
  @ApiProperty({ type: 'integer', nullable: true, example: 503 })
  statusCode!: number | null;

  /** What happened, as in the delay_tasks_attempts_total metric. */
  @ApiProperty({ enum: ATTEMPT_OUTCOMES, enumName: 'AttemptOutcome', example: 'http_5xx' })
  outcome!: AttemptOutcome;

  @ApiProperty({ type: 'integer', example: 37 })
  durationMs!: number;

  /**
   * Why the attempt failed (at most 500 characters; of a response's body at most
   * CAPTURE_RESPONSE_BYTES); null on success.
   */
  @ApiProperty({ type: 'string', nullable: true, example: 'HTTP 503: Service Unavailable' })
  error!: string | null;
}

export class AttemptPage {
  @ApiProperty({ type: [AttemptView] })
  items!: AttemptView[];

  /** Cursor of the next page (the cursor query parameter); null on the last one. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}

/** Unix seconds, whole, as a bound of a bulk action's filter: "<field> must be …" when not. */
function IsFilterTime(): PropertyDecorator {
  return ValidateBy({
    name: 'isFilterTime',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= 0 &&
        value <= MAX_TIMESTAMP,
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be an integer of Unix seconds from 0 to ${MAX_TIMESTAMP}`,
    },
  });
}

/**
 * The upper bound of a time window (exclusive) must be later than its lower bound `lower`
 * (inclusive), else the window is empty: most likely the two were swapped.
 */
function IsLaterThan(lower: string): PropertyDecorator {
  return ValidateBy({
    name: 'isLaterThan',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const bound = (args?.object as Record<string, unknown> | undefined)?.[lower];
        return typeof bound !== 'number' || typeof value !== 'number' || value > bound;
      },
      defaultMessage: (args?: ValidationArguments) =>
        `${args?.property} must be later than ${lower} (${lower} is inclusive, ` +
        `${args?.property} exclusive)`,
    },
  });
}

/**
 * Refuses fields of the body other than `fields`. The global pipe drops unknown fields (as the
 * original did), but a bulk action must not run on a misspelt filter: `{"stat": "failed"}` read
 * as no filter would delete every task of the category. Set on a hidden member that collects the
 * body's other field names (Expose: the transform runs even when the body lacks the member).
 */
function OnlyFields(fields: readonly string[]): PropertyDecorator {
  return (target, property) => {
    ApiHideProperty()(target, property);
    Expose()(target, property);
    Transform(({ obj }: { obj: Record<string, unknown> }) =>
      Object.keys(obj).filter((name) => !fields.includes(name)),
    )(target, property);
    ValidateBy({
      name: 'onlyFields',
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.length === 0,
        defaultMessage: (args?: ValidationArguments) =>
          `unknown field ${(args?.value as string[]).map((name) => JSON.stringify(name)).join(', ')}` +
          `; this route takes ${fields.join(', ')}`,
      },
    })(target, property);
  };
}

/** POST /tasks/:cate/retry: which failed tasks of the category to re-queue. */
export class BulkRetryDto {
  @ApiHideProperty() // here, where the swagger plugin sees it
  @OnlyFields(['failedAfter', 'failedBefore', 'dryRun'])
  readonly unknownFields?: string[];

  /** Only tasks that failed at or after this time (Unix seconds, inclusive). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP, example: 1795800000 })
  @IsOptional()
  @ToTimestamp()
  @IsFilterTime()
  failedAfter?: number;

  /** Only tasks that failed before this time (Unix seconds, exclusive); later than failedAfter. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP, example: 1795803600 })
  @IsOptional()
  @ToTimestamp()
  @IsFilterTime()
  @IsLaterThan('failedAfter')
  failedBefore?: number;

  /** Count the tasks that would be re-queued, and change nothing. */
  @ApiPropertyOptional({ type: 'boolean', default: false, example: false })
  @IsOptional()
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;
}

/** POST /tasks/:cate/delete: which tasks of the category to delete. */
export class BulkDeleteDto {
  @ApiHideProperty() // here, where the swagger plugin sees it
  @OnlyFields(['state', 'dueAfter', 'dueBefore', 'dryRun'])
  readonly unknownFields?: string[];

  /** Only tasks in this state; omitted: every state. */
  @ApiPropertyOptional({ enum: TASK_STATES, enumName: 'TaskState', example: 'failed' })
  @IsOptional()
  @IsIn(TASK_STATES, { message: `state must be one of ${TASK_STATES.join(', ')}` })
  state?: TaskState;

  /** Only tasks due at or after this time (Unix seconds, inclusive). */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP, example: 1795800000 })
  @IsOptional()
  @ToTimestamp()
  @IsFilterTime()
  dueAfter?: number;

  /** Only tasks due before this time (Unix seconds, exclusive); later than dueAfter. */
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP, example: 1795886400 })
  @IsOptional()
  @ToTimestamp()
  @IsFilterTime()
  @IsLaterThan('dueAfter')
  dueBefore?: number;

  /** Count the tasks that would be deleted, and change nothing. */
  @ApiPropertyOptional({ type: 'boolean', default: false, example: false })
  @IsOptional()
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;
}

export class BulkActionView {
  /** Tasks re-queued or deleted; with dryRun, the tasks that match. */
  @ApiProperty({ type: 'integer', example: 1250 })
  count!: number;
}
