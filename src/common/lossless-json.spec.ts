import fc from 'fast-check';
import { isInteger, isLosslessNumber, isSafeNumber } from 'lossless-json';
import {
  JsonParseError,
  MAX_JSON_DEPTH,
  parseJson,
  parseNumber,
  stringifyJson,
} from './lossless-json';
import { RawJson } from './raw-json';

describe('parseJson', () => {
  it('parses safe integers and ordinary decimals as numbers', () => {
    expect(parseJson('[0,-7,9007199254740991,-9007199254740991,1.5,-0.25,1e3,2.50]')).toStrictEqual(
      [0, -7, 9007199254740991, -9007199254740991, 1.5, -0.25, 1000, 2.5],
    );
  });

  it('parses integers beyond 2^53 as exact bigints', () => {
    expect(
      parseJson(
        '[9007199254740993,-9007199254740993,18446744073709551615,123456789012345678901234567890]',
      ),
    ).toStrictEqual([
      9007199254740993n,
      -9007199254740993n,
      18446744073709551615n,
      123456789012345678901234567890n,
    ]);
  });

  it('keeps decimals with more digits than a double holds as written', () => {
    const [pi, tiny] = parseJson('[3.14159265358979323846,1e-400]') as unknown[];
    expect(isLosslessNumber(pi)).toBe(true);
    expect(String(pi)).toBe('3.14159265358979323846');
    expect(isLosslessNumber(tiny)).toBe(true);
    expect(String(tiny)).toBe('1e-400');
  });

  it.each(['1e400', '-1e400', '{"a":[1e999]}'])('refuses %s, which overflows a double', (text) => {
    expect(() => parseJson(text)).toThrow(JsonParseError);
    expect(() => parseJson(text)).toThrow(/out of range/);
  });

  it(`accepts nesting of exactly ${MAX_JSON_DEPTH} levels`, () => {
    const text = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJson(text)).not.toThrow();
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels, objects and arrays alike`, () => {
    const text = `${'{"a":['.repeat(33)}${']}'.repeat(33)}`;
    expect(() => parseJson(text)).toThrow(
      new JsonParseError(`JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`),
    );
  });

  it('refuses very deep nesting without overflowing the stack', () => {
    const text = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(() => parseJson(text)).toThrow(/deeper than/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inner = `"\\"${'['.repeat(100)}"`;
    expect(parseJson(`{"s":${inner}}`)).toStrictEqual({ s: `"${'['.repeat(100)}` });
  });

  it('refuses duplicate keys with different values', () => {
    expect(() => parseJson('{"a":1,"b":{"c":1,"c":2}}')).toThrow(JsonParseError);
    expect(() => parseJson('{"a":1,"a":[1]}')).toThrow(/Duplicate key 'a'/);
  });

  it('tolerates a key repeated with an identical value, which is unambiguous', () => {
    expect(parseJson('{"a":[1],"a":[1]}')).toStrictEqual({ a: [1] });
  });

  it.each(['', '{', '{"a":}', "{'a':1}", '[1,]', '{"a":1} x', 'NaN', 'undefined'])(
    'refuses malformed JSON %p with a JsonParseError',
    (text) => {
      expect(() => parseJson(text)).toThrow(JsonParseError);
    },
  );

  it('parses scalars at the top level', () => {
    expect(parseJson('"s"')).toBe('s');
    expect(parseJson('null')).toBeNull();
    expect(parseJson(' true ')).toBe(true);
    expect(parseJson('18446744073709551615')).toBe(18446744073709551615n);
  });
});

describe('stringifyJson', () => {
  it.each([
    '{"key":18446744073709551615,"params":{"n":-9007199254740993}}',
    '[1,2.5,-0.125,"s",true,false,null,{},[]]',
    '{"zeta":1,"alpha":{"y":[3.14159265358979323846,1e-400],"b":null}}',
    '"text with \\"quotes\\", \\\\ and \\u0000"',
    '123456789012345678901234567890',
  ])('round-trips %s exactly', (text) => {
    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  it('writes bigints as bare integers', () => {
    expect(stringifyJson({ key: 18446744073709551615n })).toBe('{"key":18446744073709551615}');
  });

  it('writes undefined as null', () => {
    expect(stringifyJson(undefined)).toBe('null');
  });
});

describe('parseNumber', () => {
  /** parseNumber as it was, on lossless-json's checks alone: the fast path must agree with it. */
  function reference(text: string): unknown {
    if (isInteger(text) && !isSafeNumber(text)) return BigInt(text);
    const value = Number(text);
    if (!Number.isFinite(value)) return 'out of range';
    return isSafeNumber(text) ? value : `exact ${text}`;
  }

  function actual(text: string): unknown {
    try {
      const value = parseNumber(text);
      return isLosslessNumber(value) ? `exact ${value.value}` : value;
    } catch (error) {
      expect(error).toBeInstanceOf(JsonParseError);
      return 'out of range';
    }
  }

  const digits = (min: number, max: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  const numberText = fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 25))),
      fc.option(digits(1, 25)),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 4))),
    )
    .map(([sign, integer, fraction, exponent]) => {
      const int = typeof integer === 'string' ? integer : integer.join('');
      return `${sign}${int}${fraction === null ? '' : `.${fraction}`}${exponent?.join('') ?? ''}`;
    });

  it('gives what lossless-json alone gives, for any number text', () => {
    fc.assert(
      fc.property(numberText, (text) => {
        expect(actual(text)).toStrictEqual(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['1e20', '9007199254740993.0', '1.00000000000000000001', '5e-324', '-0', '0.1e1'])(
    'agrees on %s',
    (text) => {
      expect(actual(text)).toStrictEqual(reference(text));
    },
  );
});

describe('stringifyJson and RawJson', () => {
  it('writes RawJson as its text, wherever it is', () => {
    const params = new RawJson('{ "__proto__" : [1.50, 1E5] }');
    expect(stringifyJson({ key: 1n, params, list: [params] })).toBe(
      '{"key":1,"params":{ "__proto__" : [1.50, 1E5] },"list":[{ "__proto__" : [1.50, 1E5] }]}',
    );
  });

  it('writes what JSON.stringify writes for plain values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(stringifyJson(value)).toBe(JSON.stringify(value));
      }),
    );
  });

  it('leaves out undefined and functions in objects and writes null for them in arrays', () => {
    expect(
      stringifyJson({ a: undefined, b: () => 1, c: [undefined, () => 1], d: new Date(0) }),
    ).toBe('{"c":[null,null],"d":"1970-01-01T00:00:00.000Z"}');
  });
});
