import { hashKey, KeySpan, ObjectKeyStack } from './object-key-stack';
import { RawJson } from './raw-json';

/**
 * A JSON parser that keeps numbers exact and takes time linear in the text: each character is
 * read a bounded number of times, strings without escapes are sliced out whole, and nesting is
 * refused at the first level past the limit (so recursion stays shallow).
 *
 * It replaces lossless-json's parse, which builds strings a character at a time and tries each
 * kind of value in turn at every position: 0.1 to 0.5 s per MiB for common shapes.
 *
 * Objects are ordinary objects whose keys are all own data properties, in the order given:
 * `__proto__` is defined, not assigned, so it never changes a prototype (as in JSON.parse).
 */
export interface JsonParserOptions {
  maxDepth: number;
  /** Turns the text of a number into its value; throws to refuse it. */
  parseNumber: (text: string) => unknown;
  /** Builds the error thrown for malformed text (the message says what and where). */
  error: (message: string) => Error;
  /** When set, only this structure is built; other nested values become RawJson. */
  shape?: BodyShape;
}

/**
 * The structure of a request body that is built into values. Everything else nested in the body
 * is validated as thoroughly (syntax, depth, numbers, duplicate keys) but kept as RawJson: a
 * body's cost then depends on its size only, never on how many arrays or objects it holds, and
 * nothing the API does not read is built (whitelisting drops unknown fields).
 */
export interface BodyShape {
  /** Members kept as RawJson whatever their value, at the top level and in list items. */
  rawMember: string;
  /** The top-level member whose array of objects is built, if at most maxListItems long. */
  listMember: string;
  maxListItems: number;
  /**
   * Most members a built object may have, and all built objects together. The validation pipe
   * works per member, and class-transformer in time quadratic in an object's keys: 120,000
   * unknown fields took 17 s. No route reads more than 5, and whitelisting drops the rest.
   */
  maxMembers: number;
  maxTotalMembers: number;
}

/** A body whose built objects have more members than BodyShape allows. */
export class BodyShapeError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75;

const ARRAY = 1;
const OBJECT = 2;

/** Numbers of at most this many characters, without exponent, are exact as doubles. */
const SHORT_NUMBER = 15;
/** Code units turned into a string per String.fromCharCode call when decoding escapes. */
const CHAR_CODE_BATCH = 4096;
/** Powers of ten of finite doubles (1.79e308 is the largest). */
const MAX_DECIMAL_EXPONENT = 308;

/** Decoded value of each single-character escape; 0 for characters that are not escapes. */
const ESCAPES = new Uint8Array(128);
for (const [escape, decoded] of ['""', '\\\\', '//', 'b\b', 'f\f', 'n\n', 'r\r', 't\t']) {
  ESCAPES[escape.charCodeAt(0)] = decoded.charCodeAt(0);
}

export function parseJsonText(text: string, options: JsonParserOptions): unknown {
  return new JsonParser(text, options).parseDocument();
}

class JsonParser {
  private i = 0;
  private depth = 0;
  /** Members of the objects built so far, with a BodyShape. */
  private builtMembers = 0;
  /** Whether the number scanNumber last stepped over has a decimal point. */
  private fraction = false;
  /** While skipping: per depth, ARRAY or OBJECT, and for objects the member being read. */
  private readonly containers: number[] = [];
  private readonly memberKeys: KeySpan[] = [];
  private readonly memberPositions: number[] = [];
  private readonly memberStarts: number[] = [];
  /** Keys of the objects being skipped, for the duplicate check. */
  private readonly objectKeys: ObjectKeyStack;
  /** Item and member readers, made once rather than per array or object. */
  private readonly readValue = (): unknown => this.parseValue();
  private readonly readShallow = (): unknown => this.parseShallow();

  constructor(
    private readonly text: string,
    private readonly options: JsonParserOptions,
  ) {
    this.objectKeys = new ObjectKeyStack(text);
  }

  parseDocument(): unknown {
    this.skipWhitespace();
    const shape = this.options.shape;
    const c = this.text.charCodeAt(this.i);
    let value: unknown;
    if (shape && c === OPEN_BRACE) {
      value = this.parseObject((key) => this.bodyMember(key, shape), shape);
    } else if (shape && c === OPEN_BRACKET) value = this.parseArray(this.readShallow);
    else value = this.parseValue();
    this.skipWhitespace();
    if (this.i < this.text.length) this.fail('Expected end of input');
    return value;
  }

  private bodyMember(key: string, shape: BodyShape): unknown {
    if (key === shape.rawMember) return this.parseRaw();
    if (key === shape.listMember && this.text.charCodeAt(this.i) === OPEN_BRACKET) {
      return this.parseList(shape);
    }
    return this.parseShallow();
  }

  /** The list member's array, with its objects built; as RawJson when it is too long. */
  private parseList(shape: BodyShape): unknown {
    const start = this.i;
    const item = (key: string) => (key === shape.rawMember ? this.parseRaw() : this.parseShallow());
    this.enter();
    const list: unknown[] = [];
    if (this.text.charCodeAt(this.i) !== CLOSE_BRACKET) {
      do {
        if (list.length === shape.maxListItems) {
          this.i = start;
          this.depth--;
          return this.parseRaw();
        }
        const c = this.text.charCodeAt(this.i);
        list.push(c === OPEN_BRACE ? this.parseObject(item, shape) : this.parseShallow());
      } while (this.afterItem(CLOSE_BRACKET, "Comma ',' or end of array ']' expected"));
    }
    this.leave();
    return list;
  }

  /** Scalars as values, arrays and objects as RawJson. */
  private parseShallow(): unknown {
    const c = this.text.charCodeAt(this.i);
    return c === OPEN_BRACE || c === OPEN_BRACKET ? this.parseRaw() : this.parseValue();
  }

  private parseRaw(): RawJson {
    const start = this.i;
    this.skipValue();
    return new RawJson(this.text.slice(start, this.i));
  }

  private parseValue(): unknown {
    const c = this.text.charCodeAt(this.i);
    if (c === QUOTE) return this.parseString();
    if (c === OPEN_BRACE) return this.parseObject(this.readValue);
    if (c === OPEN_BRACKET) return this.parseArray(this.readValue);
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.parseNumber();
    return this.parseKeyword();
  }

  private parseKeyword(): boolean | null {
    if (this.text.startsWith('true', this.i)) return this.advance(4, true);
    if (this.text.startsWith('false', this.i)) return this.advance(5, false);
    if (this.text.startsWith('null', this.i)) return this.advance(4, null);
    return this.fail('JSON value expected');
  }

  private advance<T>(length: number, value: T): T {
    this.i += length;
    return value;
  }

  /** Steps over an opening bracket, refusing it when it is one level too deep. */
  private enter(): void {
    if (++this.depth > this.options.maxDepth) {
      throw this.options.error(`JSON nesting is deeper than ${this.options.maxDepth} levels`);
    }
    this.i++;
    this.skipWhitespace();
  }

  private leave(): void {
    this.depth--;
    this.i++;
  }

  private parseArray(readItem: () => unknown): unknown[] {
    this.enter();
    const array: unknown[] = [];
    if (this.text.charCodeAt(this.i) !== CLOSE_BRACKET) {
      do array.push(readItem());
      while (this.afterItem(CLOSE_BRACKET, "Comma ',' or end of array ']' expected"));
    }
    this.leave();
    return array;
  }

  /** An object whose member values `readMember` reads; with `shape`, within its limits. */
  private parseObject(
    readMember: (key: string) => unknown,
    shape?: BodyShape,
  ): Record<string, unknown> {
    this.enter();
    const object: Record<string, unknown> = {};
    let members = 0;
    if (this.text.charCodeAt(this.i) !== CLOSE_BRACE) {
      do {
        if (shape) this.countMember(++members, shape);
        const position = this.i;
        const key = this.parseKey();
        const value = readMember(key);
        const repeated = Object.prototype.hasOwnProperty.call(object, key);
        if (repeated && !isDeepEqual(object[key], value, this.options)) {
          this.failDuplicate(key, position);
        }
        // A repeat with an equal value stands in for the first, in the first one's place.
        if (key === '__proto__') {
          Object.defineProperty(object, key, {
            value,
            writable: true,
            enumerable: true,
            configurable: true,
          });
        } else {
          object[key] = value;
        }
      } while (this.afterItem(CLOSE_BRACE, "Comma ',' or end of object '}' expected"));
    }
    this.leave();
    return object;
  }

  private countMember(members: number, shape: BodyShape): void {
    if (members > shape.maxMembers) {
      throw new BodyShapeError(
        `request body has an object with more than ${shape.maxMembers} fields`,
      );
    }
    if (++this.builtMembers > shape.maxTotalMembers) {
      throw new BodyShapeError(`request body has more than ${shape.maxTotalMembers} fields in all`);
    }
  }

  /** A key, its colon and the whitespace up to its value. */
  private parseKey(): string {
    if (this.text.charCodeAt(this.i) !== QUOTE) this.fail('Quoted object key expected');
    const key = this.parseString();
    this.skipColon();
    return key;
  }

  private skipColon(): void {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.i) !== COLON) this.fail("Colon ':' expected after key");
    this.i++;
    this.skipWhitespace();
  }

  /** After an item: false at the closing bracket, true past a comma; else a syntax error. */
  private afterItem(close: number, message: string): boolean {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.i);
    if (c === close) return false;
    if (c !== COMMA) this.fail(message);
    this.i++;
    this.skipWhitespace();
    return true;
  }

  /**
   * Validates the value at `i` without building it, in one loop with a stack of the open arrays
   * and objects (a call per bracket would cost more than the rest of the work). Duplicate keys
   * are checked as when building.
   */
  private skipValue(): void {
    const base = this.depth;
    for (;;) {
      this.skipToValueEnd();
      // A value has ended: close the containers it ends, up to one with more to come.
      for (;;) {
        if (this.depth === base) return;
        const object = this.containers[this.depth] === OBJECT;
        if (object) this.addMember();
        this.skipWhitespace();
        const c = this.text.charCodeAt(this.i);
        if (c === COMMA) {
          this.i++;
          this.skipWhitespace();
          if (object) this.readMemberKey();
          break;
        }
        if (c !== (object ? CLOSE_BRACE : CLOSE_BRACKET)) {
          this.fail(
            object
              ? "Comma ',' or end of object '}' expected"
              : "Comma ',' or end of array ']' expected",
          );
        }
        this.closeContainer();
      }
    }
  }

  /** Steps into arrays and objects until a value ends: a scalar, or an empty array or object. */
  private skipToValueEnd(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.i);
      if (c === OPEN_BRACKET) {
        this.openContainer(ARRAY);
        if (this.text.charCodeAt(this.i) !== CLOSE_BRACKET) continue;
      } else if (c === OPEN_BRACE) {
        this.openContainer(OBJECT);
        if (this.text.charCodeAt(this.i) !== CLOSE_BRACE) {
          this.readMemberKey();
          continue;
        }
      } else {
        this.skipScalar(c);
        return;
      }
      this.closeContainer();
      return;
    }
  }

  private skipScalar(c: number): void {
    if (c === QUOTE) this.i = this.stringEnd(this.i + 1, true) + 1;
    else if (c === MINUS || (c >= ZERO && c <= NINE)) this.skipNumber();
    else this.parseKeyword();
  }

  private openContainer(kind: number): void {
    this.enter();
    this.containers[this.depth] = kind;
    if (kind === OBJECT) this.objectKeys.open();
  }

  private closeContainer(): void {
    if (this.containers[this.depth] === OBJECT) this.objectKeys.close();
    this.leave();
  }

  /** A key while skipping: its span and hash, decoded only if it has escapes; and its colon. */
  private readMemberKey(): void {
    const text = this.text;
    this.memberPositions[this.depth] = this.i;
    if (text.charCodeAt(this.i) !== QUOTE) this.fail('Quoted object key expected');
    const start = this.i + 1;
    const end = this.stringEnd(start, false);
    if (end >= 0) {
      this.i = end + 1;
      this.memberKeys[this.depth] = {
        start,
        end,
        hash: hashKey(text, start, end),
        decoded: undefined,
      };
    } else {
      const decoded = this.parseEscapedString(start);
      const hash = hashKey(decoded, 0, decoded.length);
      this.memberKeys[this.depth] = { start, end: this.i - 1, hash, decoded };
    }
    this.skipColon();
    this.memberStarts[this.depth] = this.i;
  }

  /** Records the member of the innermost object whose value just ended; checks duplicates. */
  private addMember(): void {
    const depth = this.depth;
    const start = this.memberStarts[depth];
    const previous = this.objectKeys.add(this.memberKeys[depth], start, this.i);
    if (previous < 0) return;
    const keys = this.objectKeys;
    const before = this.text.slice(keys.valueStart(previous), keys.valueEnd(previous));
    const now = this.text.slice(start, this.i);
    if (!isDeepEqual(new RawJson(before), new RawJson(now), this.options)) {
      this.failDuplicate(keys.keyText(previous), this.memberPositions[depth]);
    }
    // Equal: the later value stands (as when building), and is what the next repeat is compared
    // with, so that repeats cost their own length, never the first value's again.
    keys.setValue(previous, start, this.i);
  }

  private failDuplicate(key: string, position: number): never {
    throw this.options.error(`Duplicate key '${key}' encountered at position ${position + 1}`);
  }

  /** A string starting at the quote under `i`; sliced out whole unless it has escapes. */
  private parseString(): string {
    const start = this.i + 1;
    const end = this.stringEnd(start, false);
    if (end < 0) return this.parseEscapedString(start);
    this.i = end + 1;
    return this.text.slice(start, end);
  }

  /**
   * Index of the closing quote of the string starting at `start`, checking its characters and,
   * with `escapes`, its escapes; without, -1 at the first escape (the caller decodes).
   */
  private stringEnd(start: number, escapes: boolean): number {
    const text = this.text;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) return i;
      if (c === BACKSLASH) {
        if (!escapes) return -1;
        i = this.escapeEnd(i) - 1;
      } else if (c < 0x20) {
        this.failAt(i, 'Invalid character in string');
      }
    }
    return this.failAt(text.length, `End of string '"' expected`);
  }

  /** Index just past the escape starting at the backslash at `at`. */
  private escapeEnd(at: number): number {
    const escape = this.text.charCodeAt(at + 1);
    if (escape === LOWER_U) {
      this.unicodeEscape(at);
      return at + 6;
    }
    if (!(escape < 128 && ESCAPES[escape] !== 0)) this.failAt(at, 'Invalid escape character');
    return at + 2;
  }

  /** Decodes a string with escapes into UTF-16 code units, then into a string in batches. */
  private parseEscapedString(start: number): string {
    const text = this.text;
    const end = this.stringEnd(start, true);
    const units = new Uint16Array(end - start);
    let length = 0;
    for (let i = start; i < end;) {
      const c = text.charCodeAt(i);
      if (c !== BACKSLASH) {
        units[length++] = c;
        i++;
      } else {
        const escape = text.charCodeAt(i + 1);
        units[length++] = escape === LOWER_U ? this.unicodeEscape(i) : ESCAPES[escape];
        i += escape === LOWER_U ? 6 : 2;
      }
    }
    this.i = end + 1;
    let result = '';
    for (let from = 0; from < length; from += CHAR_CODE_BATCH) {
      const batch = units.subarray(from, Math.min(from + CHAR_CODE_BATCH, length));
      result += String.fromCharCode(...batch);
    }
    return result;
  }

  private unicodeEscape(at: number): number {
    let code = 0;
    for (let k = at + 2; k < at + 6; k++) {
      const digit = hexValue(this.text.charCodeAt(k));
      if (digit < 0) this.failAt(at, 'Invalid unicode escape');
      code = code * 16 + digit;
    }
    return code;
  }

  private parseNumber(): unknown {
    const start = this.i;
    const exponent = this.scanNumber();
    const token = this.text.slice(start, this.i);
    // Short enough to be exact as a double: skips the costlier checks of parseNumber.
    if (exponent === undefined && token.length <= SHORT_NUMBER) return Number(token);
    return this.options.parseNumber(token);
  }

  /**
   * Validates a number without building it. Only a number too large for a double is refused
   * (integers become bigints); the power of ten of its first digit tells which may be.
   */
  private skipNumber(): void {
    const start = this.i;
    const exponent = this.scanNumber();
    if (exponent === undefined && !this.fraction) return;
    const power = leadingPower(this.text, start, this.i) + (exponent ?? 0);
    if (power < MAX_DECIMAL_EXPONENT) return;
    const token = this.text.slice(start, this.i);
    if (power > MAX_DECIMAL_EXPONENT || !Number.isFinite(Number(token))) {
      this.options.parseNumber(token); // throws its error for the out-of-range number
    }
  }

  /**
   * Steps over a number (JSON grammar); returns its exponent, undefined when it has none, and
   * sets `fraction` when it has a decimal point.
   */
  private scanNumber(): number | undefined {
    const text = this.text;
    let i = this.i;
    if (text.charCodeAt(i) === MINUS) i++;
    const first = text.charCodeAt(i);
    if (first === ZERO) i++;
    else if (first > ZERO && first <= NINE) i = this.digits(i);
    else this.failAt(i, 'Digit expected in number');
    this.fraction = text.charCodeAt(i) === DOT;
    if (this.fraction) i = this.requiredDigits(i + 1);
    const c = text.charCodeAt(i);
    if (c !== LOWER_E && c !== UPPER_E) {
      this.i = i;
      return undefined;
    }
    const sign = text.charCodeAt(i + 1);
    let from = sign === PLUS || sign === MINUS ? i + 2 : i + 1;
    this.i = this.requiredDigits(from);
    while (from < this.i - 1 && text.charCodeAt(from) === ZERO) from++;
    // Beyond 1e9 an exponent is as good as infinite: the value overflows or underflows.
    let magnitude = 0;
    if (this.i - from > 9) magnitude = 1e9;
    else for (let k = from; k < this.i; k++) magnitude = magnitude * 10 + text.charCodeAt(k) - ZERO;
    return sign === MINUS ? -magnitude : magnitude;
  }

  private digits(from: number): number {
    let i = from;
    for (let c = this.text.charCodeAt(i); c >= ZERO && c <= NINE; c = this.text.charCodeAt(i)) i++;
    return i;
  }

  private requiredDigits(from: number): number {
    const end = this.digits(from);
    if (end === from) this.failAt(from, 'Digit expected in number');
    return end;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let i = this.i;
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;) {
      c = text.charCodeAt(++i);
    }
    this.i = i;
  }

  private fail(message: string): never {
    return this.failAt(this.i, message);
  }

  private failAt(position: number, message: string): never {
    const where =
      position < this.text.length
        ? `but got ${describe(this.text.charCodeAt(position))} at position ${position}`
        : 'but reached end of input';
    throw this.options.error(`${message} ${where}`);
  }
}

/**
 * Power of ten of the first significant digit of the number text[start, end), its exponent
 * aside: 2 for 123.4, -3 for 0.00123, -Infinity for zero.
 */
function leadingPower(text: string, start: number, end: number): number {
  const integerStart = text.charCodeAt(start) === MINUS ? start + 1 : start;
  let i = integerStart;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  if (text.charCodeAt(integerStart) !== ZERO) return i - integerStart - 1;
  if (text.charCodeAt(i) !== DOT) return -Infinity;
  const fractionStart = ++i;
  while (i < end && text.charCodeAt(i) === ZERO) i++;
  return i < end && isDigit(text.charCodeAt(i)) ? fractionStart - i - 1 : -Infinity;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Structural equality of parsed values; RawJson values are compared by what they hold. */
function isDeepEqual(a: unknown, b: unknown, options: JsonParserOptions): boolean {
  if (a === b) return true;
  if (a instanceof RawJson && b instanceof RawJson) {
    if (a.text === b.text) return true;
    const full = { ...options, shape: undefined };
    return isDeepEqual(parseJsonText(a.text, full), parseJsonText(b.text, full), options);
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b) || a instanceof RawJson || b instanceof RawJson) {
    return false;
  }
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  return keysA.every(
    (key) =>
      Object.prototype.hasOwnProperty.call(b, key) &&
      isDeepEqual(recordA[key], recordB[key], options),
  );
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function describe(c: number): string {
  return c > 0x20 && c < 0x7f
    ? `'${String.fromCharCode(c)}'`
    : `U+${c.toString(16).padStart(4, '0')}`;
}
