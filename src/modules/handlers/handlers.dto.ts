import { IsDefined, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { PageQueryDto } from '../../common/page-query';
import { IsHttpUrl } from '../../common/task-fields';
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
  @IsDefined({ message: 'handler is required' })
  @IsHttpUrl()
  handler!: string;

  /** Attempts per task occurrence before it is failed, 1 to 100; null: MAX_ATTEMPTS. */
  @IsOptional()
  @intRange('maxAttempts', 1, 100, 'the default')
  maxAttempts?: number | null;

  /** Time limit of one delivery attempt in ms, 100 to 600000; null: CALLBACK_TIMEOUT_MS. */
  @IsOptional()
  @intRange('timeoutMs', 100, 600_000, 'the default')
  timeoutMs?: number | null;

  /**
   * Most deliveries of the category in flight at once on each replica, 1 to 10000 (the cluster
   * allows this times the number of replicas); null: no per-category cap.
   */
  @IsOptional()
  @intRange('concurrency', 1, 10_000, 'no cap')
  concurrency?: number | null;

  /**
   * Standard Webhooks signing secret, "whsec_" + base64 of 24 to 64 bytes. A new secret signs
   * alongside the previous one (rotation); null removes both. Never returned in full.
   * @example "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
   */
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
  /** @example "whsec_MfKQ…" */
  prefix!: string;
}

/** A category as returned by GET /handler/:cate and GET /handlers. */
export class HandlerView {
  cate!: string;
  handler!: string;
  /** null: the service default (MAX_ATTEMPTS). */
  maxAttempts!: number | null;
  /** null: the service default (CALLBACK_TIMEOUT_MS). */
  timeoutMs!: number | null;
  /** Per replica; null: no per-category cap. */
  concurrency!: number | null;
  /** Active signing secrets, newest first (two during a rotation), masked. */
  secrets!: SecretView[];
  createdAt!: string;
  updatedAt!: string;
}

export class HandlerPage {
  items!: HandlerView[];
  /** Cursor of the next page; null on the last one. */
  nextCursor!: string | null;
}

export class DeleteHandlerResult {
  /** false when the category was not registered (the call is idempotent). */
  deleted!: boolean;
}
