import { BadRequestException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;
const LIMIT_MESSAGE = `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`;
const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
export const CURSOR_MESSAGE = 'cursor must be a nextCursor value from a previous page';

/** `?limit=&cursor=` of every keyset-paginated list. */
export class PageQueryDto {
  // Explicit descriptions: the swagger plugin reads JSDoc in *.dto.ts files only.
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE_LIMIT,
    default: DEFAULT_PAGE_LIMIT,
    description: `Page size, 1 to ${MAX_PAGE_LIMIT}.`,
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_PAGE_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;

  @ApiPropertyOptional({
    pattern: CURSOR_PATTERN.source,
    description: "Opaque: the previous page's nextCursor; absent for the first page.",
  })
  @IsOptional()
  @Matches(CURSOR_PATTERN, { message: CURSOR_MESSAGE })
  cursor?: string;
}

/**
 * Cursors are opaque to clients: `<kind>:<value>` in base64url, where value is the sort key of
 * the last item of the page. The kind keeps one list's cursor from being taken by another.
 */
export function encodeCursor(kind: string, value: string): string {
  return Buffer.from(`${kind}:${value}`).toString('base64url');
}

/** The value of a cursor of `kind` when it matches `valuePattern`; otherwise a 400. */
export function decodeCursor(cursor: string, kind: string, valuePattern: RegExp): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const value = text.startsWith(`${kind}:`) ? text.slice(kind.length + 1) : undefined;
  if (value === undefined || !valuePattern.test(value)) {
    throw new BadRequestException(CURSOR_MESSAGE);
  }
  return value;
}

/** Keyset cursors over bigint ids (tasks.id, task_attempts.id). */
const MAX_BIGINT = 9223372036854775807n;
export function decodeIdCursor(cursor: string, kind: string): string {
  const id = decodeCursor(cursor, kind, /^\d{1,19}$/);
  if (BigInt(id) > MAX_BIGINT) throw new BadRequestException(CURSOR_MESSAGE);
  return id;
}
