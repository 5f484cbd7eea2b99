import { isInteger, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/** Deepest nesting of arrays/objects accepted in a request body (guards the parser's stack). */
export const MAX_JSON_DEPTH = 64;

export class JsonParseError extends Error {}

/**
 * Numbers become JS numbers when that is exact enough, and bigint for integers beyond 2^53, so
 * that keys up to 2^64-1 and big integers in params survive a round trip. Decimals with more
 * digits than a double holds (or that underflow to 0) stay LosslessNumber, written as given.
 * Numbers that do not fit a double at all (1e400) are refused rather than turned into Infinity.
 */
function parseNumber(text: string): number | bigint | LosslessNumber {
  if (isInteger(text) && !isSafeNumber(text)) return BigInt(text);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new JsonParseError(`number ${text} is out of range`);
  return isSafeNumber(text) ? value : new ExactDecimal(text);
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

/** Parses JSON text without losing integer precision; throws JsonParseError with a clear reason. */
export function parseJson(text: string): unknown {
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new JsonParseError(`JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return parse(text, null, parseNumber);
  } catch (error) {
    if (error instanceof JsonParseError) throw error;
    throw new JsonParseError((error as Error).message);
  }
}

/** Serializes values produced by parseJson (bigint included) back to JSON text. */
export function stringifyJson(value: unknown, indent?: number): string {
  return stringify(value, undefined, indent) ?? 'null';
}

/** Maximum bracket depth outside strings; a linear scan that cannot overflow the stack. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
