import { Transform } from 'class-transformer';
import { isLosslessNumber } from 'lossless-json';
import { Matches, ValidateBy, ValidationOptions } from 'class-validator';

export const MAX_UINT64 = 18446744073709551615n;
/** 9999-12-31T23:59:59Z: far enough for any schedule, and inside PostgreSQL's timestamptz. */
export const MAX_TIMESTAMP = 253402300799;
export const MAX_URL_LENGTH = 2048;

export const CATE_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const CATE_MESSAGE = 'cate must be 1 to 128 characters from A-Z a-z 0-9 . _ : -';
export const KEY_MESSAGE = `key must be an integer from 1 to ${MAX_UINT64}`;
export const TIMESTAMP_MESSAGE = `timestamp must be Unix seconds from 0 to ${MAX_TIMESTAMP}`;
export const HANDLER_MESSAGE = 'handler must be an absolute http:// or https:// URL';

/** JSON integers (number or bigint) and decimal strings become a canonical decimal string. */
export function toKeyString(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && /^\d{1,25}$/.test(value)) return BigInt(value).toString();
  return value;
}

export const ToKeyString = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => toKeyString(value));

/** A key as toKeyString leaves it: a decimal string of an integer from 1 to MAX_UINT64. */
export function isTaskKey(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return false;
  // Under 20 digits is under 10^19 < MAX_UINT64, so only zero is out of range; no BigInt needed
  // (two per key were a tenth of a 1,000-task batch's validation).
  if (value.length < 20) return /[1-9]/.test(value);
  const key = BigInt(value);
  return key >= 1n && key <= MAX_UINT64;
}

export const IsTaskKey = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    { name: 'isTaskKey', validator: { validate: isTaskKey, defaultMessage: () => KEY_MESSAGE } },
    options,
  );

/** Body numbers arrive as number, bigint or LosslessNumber (see parseJson); queries as text. */
export function toTimestamp(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (isLosslessNumber(value)) return Number(value.value);
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

export const ToTimestamp = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => toTimestamp(value));

export function isUnixTimestamp(value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMESTAMP
  );
}

export const IsUnixTimestamp = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isUnixTimestamp',
      validator: { validate: isUnixTimestamp, defaultMessage: () => TIMESTAMP_MESSAGE },
    },
    options,
  );

export const IsCate = (): PropertyDecorator => Matches(CATE_PATTERN, { message: CATE_MESSAGE });

/** Control characters and whitespace are never part of a URL (and NUL cannot be stored as text). */
const NOT_IN_URL = /[\s\p{Cc}]/u;

export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH || NOT_IN_URL.test(value)) {
    return false;
  }
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const IsHttpUrl = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isHttpUrl',
      validator: { validate: isHttpUrl, defaultMessage: () => HANDLER_MESSAGE },
    },
    options,
  );
