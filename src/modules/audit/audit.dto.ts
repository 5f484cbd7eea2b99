import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/page-query';
import { CATE_PATTERN, IsCate } from '../../common/task-fields';

/** `?cate=&limit=&cursor=` of GET /audit. */
export class AuditQueryDto extends PageQueryDto {
  /** Only entries about this category. */
  @ApiPropertyOptional({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsOptional()
  @IsCate()
  cate?: string;
}

/** One operator action, recorded after it succeeded. */
export class AuditEntryView {
  /** Increasing with time of recording; entries are listed newest first. */
  @ApiProperty({ example: '42' })
  id!: string;

  /** When it was recorded, by the database clock. */
  @ApiProperty({ format: 'date-time', example: '2026-11-26T17:13:09.979Z' })
  at!: string;

  /**
   * Which API key did it: the first 12 hex characters of the key's SHA-256
   * (`printf %s "$KEY" | sha256sum | cut -c1-12`), never the key; null when the service runs
   * without API keys.
   */
  @ApiProperty({ type: 'string', nullable: true, example: '5f2b0c9a7d31' })
  keyId!: string | null;

  /**
   * What was done: handler.register, handler.delete, handler.pause, handler.resume, task.retry,
   * tasks.bulk_retry, tasks.bulk_delete.
   */
  @ApiProperty({ example: 'handler.register' })
  action!: string;

  @ApiProperty({ example: 'POST' })
  method!: string;

  /** The route's template, e.g. /handler/:cate. */
  @ApiProperty({ example: '/handler/:cate' })
  route!: string;

  @ApiProperty({ type: 'string', nullable: true, example: 'orders' })
  cate!: string | null;

  /** What in the category it was about, e.g. the task key of a retry; null otherwise. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  target!: string | null;

  /**
   * What was asked: the request body's fields, secrets removed (a signing secret shows as its
   * prefix, credentials in URLs as ***); {} for a request without a body.
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { handler: 'http://10.0.0.5:8080/hooks/orders', secret: 'whsec_MfKQ…' },
  })
  changes!: unknown;

  /** Rows the action affected, for bulk actions (their answer's count); null otherwise. */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  count!: number | null;

  /** The request's id (X-Request-Id), to find its log lines. */
  @ApiProperty({ type: 'string', nullable: true, example: '0b6c7f2e-8f5a-4c1e-9d3b-2a4f6e8c1d90' })
  requestId!: string | null;
}

export class AuditPage {
  @ApiProperty({ type: [AuditEntryView] })
  items!: AuditEntryView[];

  /** Cursor of the next (older) page (the cursor query parameter); null on the last one. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  nextCursor!: string | null;
}
