import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { PageQueryDto } from '../../common/page-query';
import { CATE_PATTERN, IsHttpUrl, MAX_URL_LENGTH } from '../../common/task-fields';
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
}

export class ListHandlersQueryDto extends PageQueryDto {}

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
