import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  Allow,
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { ApiAnyJsonProperty, ApiKeyProperty } from '../../common/openapi.decorators';
import { PageQueryDto } from '../../common/page-query';
import {
  CATE_PATTERN,
  IsCate,
  IsHttpUrl,
  IsTaskKey,
  MAX_TIMESTAMP,
  MAX_URL_LENGTH,
  ToKeyString,
  ToTimestamp,
} from '../../common/task-fields';

export const MISSED_POLICIES = ['skip', 'once', 'all'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** Cron expressions longer than this are refused before parsing. */
export const MAX_CRON_LENGTH = 256;
const wholeSecondsSchema = { type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP } as const;

/** POST /schedule/:cate: creates or replaces the schedule (cate, key). */
export class UpsertScheduleDto {
  /** The schedule's key: its own namespace, apart from task keys of the category. */
  @ApiKeyProperty()
  @IsDefined({ message: 'key is required' })
  @ToKeyString()
  @IsTaskKey()
  key!: string;

  /**
   * 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), read in
   * `timezone`. When both day fields are restricted either one matching fires (as Vixie cron).
   * Also accepted: ranges, steps, lists, month and day names, L, W and #. The shortest period
   * is 1 s (`* * * * * *`).
   */
  @ApiProperty({ example: '0 9 * * 1-5', maxLength: MAX_CRON_LENGTH })
  @IsDefined({ message: 'cron is required' })
  @IsString({ message: 'cron must be a string' })
  @MaxLength(MAX_CRON_LENGTH, { message: `cron must be at most ${MAX_CRON_LENGTH} characters` })
  cron!: string;

  /**
   * IANA time zone the cron is read in; default UTC. Across DST changes: a local time that does
   * not exist fires shifted forward by the gap (02:30 → 03:30), one that happens twice fires
   * once (its first instance).
   */
  @ApiPropertyOptional({ example: 'Europe/Berlin', default: 'UTC', maxLength: 64 })
  @IsOptional()
  @IsString({ message: 'timezone must be an IANA time zone name' })
  @MaxLength(64, { message: 'timezone must be an IANA time zone name' })
  timezone?: string;

  /** Any JSON value, delivered with every occurrence exactly as given (as a task's params). */
  @ApiAnyJsonProperty({ required: false, example: { report: 'daily' } })
  @Allow()
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.params)
  params?: unknown;

  /** Callback URL for this schedule only; empty, null or absent means the category's handler. */
  @ApiPropertyOptional({
    type: 'string',
    format: 'uri',
    maxLength: MAX_URL_LENGTH,
    nullable: true,
    example: 'http://10.0.0.6:8080/hooks/reports',
  })
  @IsOptional()
  @ValidateIf((dto: UpsertScheduleDto) => dto.handler !== '')
  @IsHttpUrl()
  handler?: string;

  /**
   * What fires for occurrences missed while no replica ran or the schedule was paused: `skip`
   * none, `once` the latest of them (default), `all` every one of them (the latest 1,000).
   */
  @ApiPropertyOptional({ enum: MISSED_POLICIES, enumName: 'MissedPolicy', default: 'once' })
  @IsOptional()
  @IsIn(MISSED_POLICIES, { message: `missed must be one of ${MISSED_POLICIES.join(', ')}` })
  missed?: MissedPolicy;

  /** Unix seconds: no occurrence before it (one at startAt exactly fires). */
  @ApiPropertyOptional({ ...wholeSecondsSchema, example: 1795800000 })
  @IsOptional()
  @ToTimestamp()
  startAt?: number;

  /** Unix seconds: no occurrence after it (one at endAt exactly fires); after startAt. */
  @ApiPropertyOptional({ ...wholeSecondsSchema, example: 1827336000 })
  @IsOptional()
  @ToTimestamp()
  endAt?: number;
}

/** Path of one schedule: /schedule/:cate/:key. */
export class SchedulePathDto {
  /** Category name: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'reports' })
  @IsCate()
  cate!: string;

  @ApiKeyProperty()
  @ToKeyString()
  @IsTaskKey()
  key!: string;
}

export class ListSchedulesQueryDto extends PageQueryDto {
  /** Only schedules of this category. */
  @ApiPropertyOptional({ pattern: CATE_PATTERN.source, example: 'reports' })
  @IsOptional()
  @IsCate()
  cate?: string;
}

/** A schedule as returned by the schedule routes. */
export class ScheduleView {
  @ApiProperty({ example: 'reports' })
  cate!: string;

  @ApiKeyProperty()
  key!: bigint;

  @ApiProperty({ example: '0 9 * * 1-5' })
  cron!: string;

  @ApiProperty({ example: 'Europe/Berlin' })
  timezone!: string;

  /** Delivered with every occurrence, exactly as given. */
  @ApiAnyJsonProperty({ example: { report: 'daily' } })
  params!: unknown;

  /**
   * The schedule's own handler (credentials masked: a password, token and key query values read
   * ***); null: the category's at delivery time.
   */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  handler!: string | null;

  @ApiProperty({ enum: MISSED_POLICIES, enumName: 'MissedPolicy', example: 'once' })
  missed!: MissedPolicy;

  @ApiProperty({ ...wholeSecondsSchema, nullable: true, example: null })
  startAt!: number | null;

  @ApiProperty({ ...wholeSecondsSchema, nullable: true, example: null })
  endAt!: number | null;

  /** A paused schedule creates no occurrence; on resume, its missed policy applies to the gap. */
  @ApiProperty({ example: false })
  paused!: boolean;

  /**
   * The next 5 occurrences after now, Unix seconds (fewer when endAt comes first); empty while
   * paused.
   */
  @ApiProperty({ type: 'array', items: { type: 'integer' }, example: [1795856400, 1795942800] })
  nextRuns!: number[];

  /** When the schedule was created and last changed (POST, pause, resume), ISO 8601 UTC. */
  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-12-07T09:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-12-07T09:00:00.000Z' })
  updatedAt!: string;
}

export class SchedulePage {
  @ApiProperty({ type: [ScheduleView] })
  items!: ScheduleView[];

  /** Pass as ?cursor= for the next page; null on the last. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}

export class DeleteScheduleResult {
  /** Whether the schedule was there. */
  @ApiProperty({ example: true })
  deleted!: boolean;
}
