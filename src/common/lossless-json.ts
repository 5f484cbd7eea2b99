import {
  isInteger,
  isLosslessNumber,
  isSafeNumber,
  LosslessNumber,
  stringify,
} from 'lossless-json';
import { BodyShape, parseJsonText } from './json-parser';
import { RawJson } from './raw-json';

/** Deepest nesting of arrays/objects accepted in a request body (guards the parser's stack). */
export const MAX_JSON_DEPTH = 64;

export class JsonParseError extends Error {}

/** Significant digits a double always holds exactly (DBL_DIG). */
const DOUBLE_DIGITS = 15;
/** Below this a double loses precision (subnormal range). */
const SMALLEST_NORMAL = 2.2250738585072014e-308;

/**
 * Numbers become JS numbers when that is exact enough, and bigint for integers beyond 2^53, so
 * that keys up to 2^64-1 and big integers in params survive a round trip. Decimals with more
 * digits than a double holds (or that underflow to 0) stay LosslessNumber, written as given.
 * Numbers that do not fit a double at all (1e400) are refused rather than turned into Infinity.
 */
export function parseNumber(text: string): number | bigint | LosslessNumber {
  const value = Number(text);
  // At most 15 significant digits in the normal range: the double holds them exactly, which is
  // what isSafeNumber works out more slowly (it compares digit strings).
  if (Math.abs(value) >= SMALLEST_NORMAL && value !== Infinity && value !== -Infinity) {
    if (significantDigits(text) <= DOUBLE_DIGITS && !isUnsafeInteger(value)) return value;
  }
  if (isInteger(text) && !isSafeNumber(text)) return BigInt(text);
  if (!Number.isFinite(value)) throw new JsonParseError(`number ${text} is out of range`);
  return isSafeNumber(text) ? value : new ExactDecimal(text);
}

function isUnsafeInteger(value: number): boolean {
  return Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** Digits from the first non-zero one to the exponent, trailing zeros included. */
function significantDigits(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x65 || c === 0x45) break; // e, E
    if (c >= 0x30 && c <= 0x39 && (count > 0 || c !== 0x30)) count++;
  }
  return count;
}

/**
 * A LosslessNumber that can be built without an argument: class-transformer (the validation
 * pipe) clones class instances found in a body by calling their constructor with none.
 */
class ExactDecimal extends LosslessNumber {
  constructor(value = '0') {
    super(value);
  }
}

export interface ParseJsonOptions {
  maxDepth?: number;
  /** Build only this structure; nested values outside it become RawJson (see BodyShape). */
  shape?: BodyShape;
}

/**
 * Parses JSON text without losing integer precision; throws JsonParseError with a clear reason.
 * Time is linear in the text, and nesting past `maxDepth` is refused where it starts.
 */
export function parseJson(text: string, options: ParseJsonOptions = {}): unknown {
  return parseJsonText(text, {
    maxDepth: options.maxDepth ?? MAX_JSON_DEPTH,
    shape: options.shape,
    parseNumber,
    error: (message) => new JsonParseError(message),
  });
}

/**
 * Serializes values produced by parseJson (bigint, LosslessNumber, RawJson included) back to
 * JSON text; RawJson is written as its text. With `indent` (the OpenAPI document only), through
 * lossless-json, which knows nothing of RawJson.
 */
export function stringifyJson(value: unknown, indent?: number): string {
  if (indent !== undefined) return stringify(value, undefined, indent) ?? 'null';
  return write(value) ?? 'null';
}

/** JSON text of a value, undefined for what JSON has no form of (as JSON.stringify). */
function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      return value === null ? 'null' : writeObject(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
}

function writeObject(value: object): string | undefined {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Date || value instanceof Number || value instanceof String) {
    return JSON.stringify(value);
  }
  if (value instanceof Boolean) return JSON.stringify(value);
  if (isLosslessNumber(value)) return value.toString();
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++)
      text += `${i > 0 ? ',' : ''}${write(value[i]) ?? 'null'}`;
    return `${text}]`;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value));
  let text = '';
  for (const key of Object.keys(value)) {
    const member = write((value as Record<string, unknown>)[key]);
    if (member !== undefined) text += `${text ? ',' : ''}${JSON.stringify(key)}:${member}`;
  }
  return `{${text}}`;
}
