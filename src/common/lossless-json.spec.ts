import { isLosslessNumber } from 'lossless-json';
import { JsonParseError, MAX_JSON_DEPTH, parseJson, stringifyJson } from './lossless-json';

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
