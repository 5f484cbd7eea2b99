/**
 * JSON.parse turns every number into a double, so a task key of 18446744073709551615 or a param
 * of 9007199254740993 would come back rounded. The service's answers are parsed here instead:
 *
 * - a member named in `keyFields` (`key`) holding a number becomes the number's exact decimal
 *   text (a string), never a JavaScript number;
 * - a member named in `rawFields` (`params`, `changes`) is not parsed at all: it becomes a
 *   RawJson holding the exact text the service sent (big integers, `1.50`, key order and
 *   `__proto__` keys intact), for prettyJson to display;
 * - every other number is a JavaScript number (counts, times: all well inside 2^53).
 */
export class RawJson {
  constructor(readonly text: string) {}
}

export interface LosslessParseOptions {
  keyFields?: ReadonlySet<string>;
  rawFields?: ReadonlySet<string>;
}

const DEFAULT_KEY_FIELDS: ReadonlySet<string> = new Set(['key']);
const DEFAULT_RAW_FIELDS: ReadonlySet<string> = new Set(['params', 'changes']);
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = ' \t\n\r';

export function parseApiJson(text: string, options: LosslessParseOptions = {}): unknown {
  const parser = new Parser(
    text,
    options.keyFields ?? DEFAULT_KEY_FIELDS,
    options.rawFields ?? DEFAULT_RAW_FIELDS,
  );
  const value = parser.value(undefined);
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected text after the JSON value');
  return value;
}

class Parser {
  pos = 0;

  constructor(
    private readonly text: string,
    private readonly keyFields: ReadonlySet<string>,
    private readonly rawFields: ReadonlySet<string>,
  ) {}

  fail(why: string): never {
    throw new SyntaxError(`invalid JSON at position ${this.pos}: ${why}`);
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length && WHITESPACE.includes(this.text[this.pos])) this.pos++;
  }

  /** The value at pos; `member` is the name of the object member it belongs to, if any. */
  value(member: string | undefined): unknown {
    this.skipWhitespace();
    if (member !== undefined && this.rawFields.has(member)) return new RawJson(this.rawValue());
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    for (const [word, literal] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    const digits = this.number();
    return member !== undefined && this.keyFields.has(member) ? digits : Number(digits);
  }

  private object(): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const name = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      // defineProperty: a member named __proto__ stays a member, it does not set the prototype.
      Object.defineProperty(result, name, {
        value: this.value(name),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (this.endOfList('}')) return result;
    }
  }

  private array(): unknown[] {
    const result: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(undefined));
      if (this.endOfList(']')) return result;
    }
  }

  /** After a list item: true at the closing bracket, false after a comma. */
  private endOfList(close: string): boolean {
    this.skipWhitespace();
    const c = this.text[this.pos++];
    if (c === close) return true;
    if (c !== ',') this.fail(`expected "," or "${close}"`);
    return false;
  }

  private string(): string {
    const start = this.pos;
    this.pos = stringEnd(this.text, start);
    if (this.pos < 0) {
      this.pos = start;
      this.fail('unterminated string');
    }
    // The native parser unescapes a single string correctly and fast.
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  private number(): string {
    NUMBER_RE.lastIndex = this.pos;
    const match = NUMBER_RE.exec(this.text);
    if (!match) this.fail('unexpected character');
    this.pos += match[0].length;
    return match[0];
  }

  /** Skips one value without building it; returns its exact text. */
  private rawValue(): string {
    const start = this.pos;
    let depth = 0;
    do {
      const c = this.text[this.pos];
      if (c === undefined) this.fail('unexpected end');
      if (c === '"') {
        const end = stringEnd(this.text, this.pos);
        if (end < 0) this.fail('unterminated string');
        this.pos = end;
      } else if (c === '{' || c === '[') {
        depth++;
        this.pos++;
      } else if (c === '}' || c === ']') {
        depth--;
        this.pos++;
      } else if (depth === 0) {
        // A scalar at the top: a literal or a number.
        while (this.pos < this.text.length && !',}] \t\n\r'.includes(this.text[this.pos])) {
          this.pos++;
        }
      } else {
        this.pos++;
      }
    } while (depth > 0);
    if (this.pos === start) this.fail('expected a value');
    return this.text.slice(start, this.pos);
  }
}

const LITERALS: ReadonlyArray<[string, unknown]> = [
  ['true', true],
  ['false', false],
  ['null', null],
];

/** Index just past the closing quote of the string that opens at `start`; -1 if unterminated. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}

/**
 * Re-indents JSON text without parsing it into values, so numbers (9007199254740993, 1.50,
 * 1E5), member order and duplicate or special member names show exactly as sent.
 */
export function prettyJson(text: string, indent = '  '): string {
  let out = '';
  let level = 0;
  const newline = (): string => '\n' + indent.repeat(level);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (WHITESPACE.includes(c)) continue;
    if (c === '"') {
      const end = stringEnd(text, i);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let j = i + 1;
      while (j < text.length && WHITESPACE.includes(text[j])) j++;
      if (text[j] === close) {
        out += c + close;
        i = j;
      } else {
        level++;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      level = Math.max(0, level - 1);
      out += newline() + c;
    } else if (c === ',') {
      out += ',' + newline();
    } else if (c === ':') {
      out += ': ';
    } else {
      out += c;
    }
  }
  return out;
}

/** Display text of any value from parseApiJson: RawJson as sent (re-indented), the rest as JSON. */
export function toDisplayJson(value: unknown): string {
  if (value instanceof RawJson) return prettyJson(value.text);
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2);
}
