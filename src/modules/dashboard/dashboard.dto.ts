import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { ApiKeyProperty } from '../../common/openapi.decorators';
import { PageQueryDto } from '../../common/page-query';
import { CATE_PATTERN, IsCate } from '../../common/task-fields';
import { RateLimitSettings } from '../handlers/handlers.dto';
import { AttemptView } from '../tasks/tasks.dto';
import { ATTEMPT_OUTCOMES, AttemptOutcome } from '../tasks/tasks.types';

/** Task counts of the whole service, and how many categories are held back. */
export class OverviewTotals {
  /** Pending tasks (waiting for their time, in backoff, or held back). */
  @ApiProperty({ type: 'integer', example: 120_000 })
  pending!: number;

  /** Pending tasks that are due: their time has come, held-back (parked) ones included. */
  @ApiProperty({ type: 'integer', example: 35 })
  dueNow!: number;

  /** Tasks being delivered (leased by a replica). */
  @ApiProperty({ type: 'integer', example: 12 })
  running!: number;

  /** Tasks whose attempts are used up (kept until retried, deleted or pruned). */
  @ApiProperty({ type: 'integer', example: 3 })
  failed!: number;

  /** Entries of `categories`. */
  @ApiProperty({ type: 'integer', example: 4 })
  categories!: number;

  /** Categories paused. */
  @ApiProperty({ type: 'integer', example: 1 })
  paused!: number;

  /** Categories whose circuit is not closed (open or half-open): their due tasks are held. */
  @ApiProperty({ type: 'integer', example: 0 })
  openCircuits!: number;

  /** Categories with a rate limit. */
  @ApiProperty({ type: 'integer', example: 1 })
  rateLimited!: number;
}

export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;

/** One category: its task counts (as of asOf) and its flow state (now). */
export class OverviewCategory {
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  cate!: string;

  /** false: tasks without a handler row (they fail with no_handler when due). */
  @ApiProperty({ example: true })
  registered!: boolean;

  @ApiProperty({ type: 'integer', example: 120_000 })
  pending!: number;

  /** Pending and due, held-back (parked) tasks included. */
  @ApiProperty({ type: 'integer', example: 35 })
  dueNow!: number;

  @ApiProperty({ type: 'integer', example: 12 })
  running!: number;

  @ApiProperty({ type: 'integer', example: 3 })
  failed!: number;

  @ApiProperty({ example: false })
  paused!: boolean;

  /** The circuit breaker's state (closed for an unregistered category). */
  @ApiProperty({ enum: CIRCUIT_STATES, enumName: 'CircuitState', example: 'closed' })
  circuit!: 'closed' | 'open' | 'half_open';

  /** null: no rate limit. */
  /** As in GET /handler/:cate. */
  @ApiProperty({ type: RateLimitSettings, nullable: true, example: null })
  rateLimit!: RateLimitSettings | null;
}

/**
 * GET /dashboard/overview. Task counts come from a snapshot the replicas take in turn (at most
 * one at a time, cluster-wide) when a request finds it older than 5 s: `asOf` is when they were
 * counted. Category settings (paused, circuit, rateLimit, registered) and oldestDueAgeSeconds are
 * read at the time of the request.
 */
export class DashboardOverview {
  /** When the task counts were taken, by the database clock (ISO 8601). */
  @ApiProperty({ format: 'date-time', example: '2026-11-26T17:13:09.979Z' })
  asOf!: string;

  @ApiProperty({ type: OverviewTotals })
  totals!: OverviewTotals;

  /**
   * Seconds since the run time of the oldest pending task that is due and not held back (as the
   * delay_tasks_oldest_due_age_seconds metric); 0 when none is. Read now, not as of asOf.
   */
  @ApiProperty({ example: 0.42 })
  oldestDueAgeSeconds!: number;

  /** Every category with a handler row or a task (as of asOf), in cate order. */
  @ApiProperty({ type: [OverviewCategory] })
  categories!: OverviewCategory[];
}

/** `?minutes=` of GET /dashboard/series. */
export class SeriesQueryDto {
  /** The window: the last 1 to 60 minutes, up to now. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 60, default: 15 })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: 'minutes must be an integer from 1 to 60' })
  @Min(1, { message: 'minutes must be an integer from 1 to 60' })
  @Max(60, { message: 'minutes must be an integer from 1 to 60' })
  minutes: number = 15;
}

const OUTCOME_PROPERTIES = Object.fromEntries(
  ATTEMPT_OUTCOMES.map((outcome) => [outcome, { type: 'integer' as const }]),
);

/** One 10-second bucket, every replica's deliveries summed. */
export class SeriesPoint {
  /** Start of the bucket, Unix seconds (a multiple of 10). */
  @ApiProperty({ type: 'integer', example: 1795800000 })
  t!: number;

  /**
   * Attempts finished in the bucket, by outcome (as the delay_tasks_attempts_total metric; lost
   * leases counted when the sweeper finds them); outcomes without any are left out.
   */
  @ApiProperty({
    type: 'object',
    properties: OUTCOME_PROPERTIES,
    additionalProperties: false,
    example: { success: 412, http_5xx: 3 },
  })
  outcomes!: Partial<Record<AttemptOutcome, number>>;

  /** Attempts finished in the bucket, of any outcome: the sum of outcomes. */
  @ApiProperty({ type: 'integer', example: 415 })
  deliveries!: number;

  /**
   * Median lateness of the first attempts started in the bucket (start − due, ms), estimated
   * from the replicas' merged histograms; null without any.
   */
  @ApiProperty({ type: 'number', nullable: true, example: 4.2 })
  latenessP50Ms!: number | null;

  /** 99th percentile of the same; null without any first attempt. */
  @ApiProperty({ type: 'number', nullable: true, example: 38.5 })
  latenessP99Ms!: number | null;
}

/** GET /dashboard/series. */
export class DashboardSeries {
  /** Width of a point. */
  @ApiProperty({ type: 'integer', example: 10 })
  bucketSeconds!: number;

  /**
   * Every bucket of the window, oldest first, zeros where nothing happened; the last is the
   * bucket under way (replicas write their counts every 10 s, so it fills in late).
   */
  @ApiProperty({ type: [SeriesPoint] })
  points!: SeriesPoint[];
}

/** One minute of the forecast. */
export class ForecastMinute {
  /** Start of the minute, Unix seconds. */
  @ApiProperty({ type: 'integer', example: 1795800060 })
  t!: number;

  /** Pending tasks whose next run time falls in the minute (at most 10,000; see capped). */
  @ApiProperty({ type: 'integer', example: 1200 })
  count!: number;

  /** Present (true) only when the minute holds more than 10,000 tasks: count is then 10,000. */
  @ApiPropertyOptional({ example: true })
  capped?: true;
}

/** GET /dashboard/forecast. */
export class DashboardForecast {
  /** Start of the current minute (database clock), Unix seconds: the first minute's t. */
  @ApiProperty({ type: 'integer', example: 1795800000 })
  from!: number;

  /** 60 minutes from `from` on. */
  @ApiProperty({ type: [ForecastMinute] })
  minutes!: ForecastMinute[];
}

/** GET /dashboard/session. */
export class DashboardSession {
  /** none: the service runs without API keys (everything is open); key: a key was presented. */
  @ApiProperty({ enum: ['none', 'key'], example: 'key' })
  auth!: 'none' | 'key';

  /** admin: full access (an API_KEYS key, or no keys configured); readonly: GET and HEAD only. */
  @ApiProperty({ enum: ['admin', 'readonly'], example: 'readonly' })
  role!: 'admin' | 'readonly';

  /** The key's id (first 12 hex characters of its SHA-256), as in the audit log; null: none. */
  @ApiProperty({ type: 'string', nullable: true, example: '5f2b0c9a7d31' })
  keyId!: string | null;
}

/** `?cate=&limit=&cursor=` of GET /attempts. */
export class CategoryAttemptsQueryDto extends PageQueryDto {
  /** The category whose attempts to list (required). */
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsCate()
  cate!: string;
}

/** One attempt of a category: as GET /task/:cate/:key/attempts gives it, with the task key. */
export class CategoryAttemptView extends AttemptView {
  @ApiKeyProperty()
  key!: bigint;
}

export class CategoryAttemptPage {
  @ApiProperty({ type: [CategoryAttemptView] })
  items!: CategoryAttemptView[];

  /** Cursor of the next (older) page (the cursor query parameter); null on the last one. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}
