import { Transform } from 'class-transformer';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { isLosslessNumber } from 'lossless-json';
import { parseJson } from '../../common/lossless-json';
import { PageQueryDto } from '../../common/page-query';
import { RawJson } from '../../common/raw-json';
import { CATE_PATTERN, IsHttpUrl, isHttpUrl, MAX_URL_LENGTH } from '../../common/task-fields';
import { isWebhookSecret, SECRET_MESSAGE } from './webhook-secret';

/** "<name> must be an integer from <min> to <max>, or null for <what null means>" on every rule. */
function intRange(name: string, min: number, max: number, nullMeans: string): PropertyDecorator {
  const message = `${name} must be an integer from ${min} to ${max}, or null for ${nullMeans}`;
  return (target, property) => {
    IsInt({ message })(target, property);
    Min(min, { message })(target, property);
    Max(max, { message })(target, property);
  };
}

/**
 * Registration of a category. The handler URL is always replaced. Each setting is optional:
 * omitted keeps what the category has (the service default for a new one), null resets it to
 * the service default.
 */
/** `circuitBreaker` as sent: either field alone (null or omitted: the service default). */
export class CircuitBreakerInput {
  /** Consecutive failed attempts (timeout, connection error, 5xx, 429) that open the circuit. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 100_000,
    nullable: true,
    example: 20,
  })
  failureThreshold?: number | null;

  /** The first open period in ms; it doubles after each failed probe, up to 10 minutes. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 100,
    maximum: 600_000,
    nullable: true,
    example: 30_000,
  })
  cooldownMs?: number | null;
}

/** `rateLimit` as sent: `burst` may be left out (default max(1, floor(perSecond))). */
export class RateLimitInput {
  /** Average deliveries started per second, 0.01 to 100000. */
  @ApiProperty({ minimum: 0.01, maximum: 100_000, example: 50 })
  perSecond!: number;

  /** Most started at once after a quiet period, 1 to 100000. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100_000, example: 50 })
  burst?: number;
}

export class RegisterHandlerDto {
  /** Callback URL that receives the category's tasks when they are due. */
  @ApiProperty({
    format: 'uri',
    maxLength: MAX_URL_LENGTH,
    example: 'http://10.0.0.5:8080/hooks/orders',
  })
  @IsDefined({ message: 'handler is required' })
  @IsHttpUrl()
  handler!: string;

  /** Attempts per task occurrence before it is failed, 1 to 100; null: MAX_ATTEMPTS. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, nullable: true, example: 5 })
  @IsOptional()
  @intRange('maxAttempts', 1, 100, 'the default')
  maxAttempts?: number | null;

  /** Time limit of one delivery attempt in ms, 100 to 600000; null: CALLBACK_TIMEOUT_MS. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 100,
    maximum: 600_000,
    nullable: true,
    example: 2000,
  })
  @IsOptional()
  @intRange('timeoutMs', 100, 600_000, 'the default')
  timeoutMs?: number | null;

  /**
   * Most deliveries of the category in flight at once on each replica, 1 to 10000 (the cluster
   * allows this times the number of replicas); null: no per-category cap.
   */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10_000,
    nullable: true,
    example: 20,
  })
  @IsOptional()
  @intRange('concurrency', 1, 10_000, 'no cap')
  concurrency?: number | null;

  /**
   * Standard Webhooks signing secret, "whsec_" + base64 of 24 to 64 bytes. A new secret signs
   * alongside the previous one (rotation); null removes both. Never returned in full.
   */
  @ApiPropertyOptional({
    type: 'string',
    pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
    nullable: true,
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  @IsOptional()
  @ValidateBy({
    name: 'isWebhookSecret',
    validator: { validate: isWebhookSecret, defaultMessage: () => SECRET_MESSAGE },
  })
  secret?: string | null;

  /**
   * Circuit breaker: `false` turns it off, `null` resets it to the defaults (on, 20 consecutive
   * failed attempts, 30 s first open period), an object sets either field. Omitted: unchanged.
   */
  @ApiPropertyOptional({
    nullable: true,
    oneOf: [
      { $ref: '#/components/schemas/CircuitBreakerInput' },
      { type: 'boolean', enum: [false] },
    ],
    example: { failureThreshold: 10, cooldownMs: 5000 },
  })
  @IsOptional()
  // Nested objects of a body arrive as their JSON text (RawJson); this one is small: build it.
  @Transform(({ value }: { value: unknown }) =>
    value instanceof RawJson ? parseJson(value.text) : value,
  )
  @ValidateBy({
    name: 'isCircuitBreakerSetting',
    validator: { validate: isCircuitBreakerSetting, defaultMessage: () => CIRCUIT_MESSAGE },
  })
  circuitBreaker?: false | { failureThreshold?: number | null; cooldownMs?: number | null } | null;

  /**
   * Rate limit of the category, summed over every replica: deliveries start at most `burst` at
   * once and `perSecond` on average (a token bucket). `burst` defaults to max(1, floor(perSecond)).
   * null removes the limit; omitted: unchanged.
   */
  @ApiPropertyOptional({ type: () => RateLimitInput, nullable: true })
  @IsOptional()
  // Nested objects of a body arrive as their JSON text (RawJson); this one is small: build it.
  @Transform(({ value }: { value: unknown }) =>
    exactNumbers(value instanceof RawJson ? parseJson(value.text) : value),
  )
  @ValidateBy({
    name: 'isRateLimitSetting',
    validator: { validate: isRateLimitSetting, defaultMessage: () => RATE_LIMIT_MESSAGE },
  })
  rateLimit?: { perSecond: number; burst?: number } | null;

  /**
   * URL that receives the category's events (task.failed, category.circuit_opened,
   * category.circuit_closed) as Standard Webhooks, signed with the category's secrets; null
   * removes it. Omitted: unchanged.
   */
  @ApiPropertyOptional({
    type: 'string',
    format: 'uri',
    maxLength: MAX_URL_LENGTH,
    nullable: true,
    example: 'http://10.0.0.5:8080/hooks/events',
  })
  @IsOptional()
  @ValidateBy({
    name: 'isEventsHandler',
    validator: { validate: isHttpUrl, defaultMessage: () => EVENTS_HANDLER_MESSAGE },
  })
  eventsHandler?: string | null;
}

export class ListHandlersQueryDto extends PageQueryDto {}

const CIRCUIT_MESSAGE =
  'circuitBreaker must be false (off), null (the defaults) or {"failureThreshold"?: integer 1..100000, "cooldownMs"?: integer 100..600000}';

function isIntIn(value: unknown, min: number, max: number): boolean {
  return (
    value === undefined ||
    value === null ||
    (Number.isInteger(value) && (value as number) >= min && (value as number) <= max)
  );
}

export const RATE_LIMIT_MESSAGE =
  'rateLimit must be null (no limit) or {"perSecond": number 0.01..100000, "burst"?: integer 1..100000}';
export const EVENTS_HANDLER_MESSAGE =
  'eventsHandler must be an absolute http:// or https:// URL, or null for none';
export const RATE_LIMITS = { minPerSecond: 0.01, maxPerSecond: 100_000, maxBurst: 100_000 };

/** A decimal with more digits than a double holds (kept exact by the body parser) as a number. */
function exactNumbers(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const fields = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(fields).map(([key, field]) => [
      key,
      isLosslessNumber(field) ? Number(field.value) : field,
    ]),
  );
}

/** null, or {perSecond, burst?} within their ranges and nothing else. */
export function isRateLimitSetting(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  const { perSecond } = fields;
  return (
    Object.keys(fields).every((key) => key === 'perSecond' || key === 'burst') &&
    typeof perSecond === 'number' &&
    perSecond >= RATE_LIMITS.minPerSecond &&
    perSecond <= RATE_LIMITS.maxPerSecond &&
    fields.burst !== null &&
    isIntIn(fields.burst, 1, RATE_LIMITS.maxBurst)
  );
}

/** false, or an object of the two optional fields within their ranges and nothing else. */
export function isCircuitBreakerSetting(value: unknown): boolean {
  if (value === false || value === null || value === undefined) return true;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  const known = ['failureThreshold', 'cooldownMs'];
  return (
    Object.keys(fields).every((key) => known.includes(key)) &&
    isIntIn(fields.failureThreshold, 1, 100_000) &&
    isIntIn(fields.cooldownMs, 100, 600_000)
  );
}

/** The circuit breaker settings of a category. */
export class CircuitBreakerSettings {
  /** Consecutive failed attempts (timeout, connection error, 5xx, 429) that open the circuit. */
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100_000, example: 20 })
  failureThreshold!: number;

  /** The first open period in ms; it doubles after each failed probe, up to 10 minutes. */
  @ApiProperty({ type: 'integer', minimum: 100, maximum: 600_000, example: 30_000 })
  cooldownMs!: number;
}

/** A category's rate limit (a token bucket shared by every replica). */
export class RateLimitSettings {
  /** Average deliveries started per second, 0.01 to 100000. */
  @ApiProperty({ minimum: 0.01, maximum: 100_000, example: 50 })
  perSecond!: number;

  /** Most started at once after a quiet period, 1 to 100000; default max(1, floor(perSecond)). */
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100_000, example: 50 })
  burst!: number;
}

/** The circuit's state, shared by every replica. */
export class CircuitView {
  @ApiProperty({ enum: ['closed', 'open', 'half_open'], example: 'closed' })
  state!: 'closed' | 'open' | 'half_open';

  /** When it opened (kept through half-open probes); null when closed. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  openedAt!: string | null;

  @ApiProperty({ type: 'integer', example: 0 })
  consecutiveFailures!: number;

  /** When the next probe may go (open), or may go again if the current one is lost (half-open). */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  nextProbeAt!: string | null;
}

/** A signing secret as shown: its first characters only. */
export class SecretView {
  @ApiProperty({ example: 'whsec_MfKQ…' })
  prefix!: string;
}

/** A category as returned by GET /handler/:cate and GET /handlers. */
export class HandlerView {
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  cate!: string;

  /**
   * The callback URL, credentials masked: a password and the values of the query parameters
   * access_token, api_key, apikey, key and token read *** (deliveries use the URL as registered).
   */
  @ApiProperty({ format: 'uri', example: 'http://10.0.0.5:8080/hooks/orders' })
  handler!: string;

  /** null: the service default (MAX_ATTEMPTS). */
  @ApiProperty({ type: 'integer', nullable: true, example: 5 })
  maxAttempts!: number | null;

  /** null: the service default (CALLBACK_TIMEOUT_MS). */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  timeoutMs!: number | null;

  /** Per replica; null: no per-category cap. */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  concurrency!: number | null;

  /** Active signing secrets, newest first (two during a rotation), masked. */
  @ApiProperty({ type: [SecretView] })
  secrets!: SecretView[];

  /** Paused: its due tasks stay pending, no replica claims them. */
  @ApiProperty({ example: false })
  paused!: boolean;

  /** The breaker's settings in effect, or false when it is off. */
  @ApiProperty({
    oneOf: [
      { $ref: '#/components/schemas/CircuitBreakerSettings' },
      { type: 'boolean', enum: [false] },
    ],
  })
  circuitBreaker!: CircuitBreakerSettings | false;

  @ApiProperty({ type: CircuitView })
  circuit!: CircuitView;

  /** null: no rate limit. */
  @ApiProperty({ type: RateLimitSettings, nullable: true, example: null })
  rateLimit!: RateLimitSettings | null;

  /** Where the category's events go, credentials masked as in `handler`; null: none. */
  @ApiProperty({ type: 'string', format: 'uri', nullable: true, example: null })
  eventsHandler!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T17:13:09.979Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T17:13:09.979Z' })
  updatedAt!: string;
}

export class HandlerPage {
  @ApiProperty({ type: [HandlerView] })
  items!: HandlerView[];

  /** Cursor of the next page (the cursor query parameter); null on the last one. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}

export class DeleteHandlerResult {
  /** false when the category was not registered (the call is idempotent). */
  @ApiProperty({ example: true })
  deleted!: boolean;
}
