import fc from 'fast-check';
import { BodyShape, BodyShapeError } from './json-parser';
import { JsonParseError, parseJson, stringifyJson } from './lossless-json';
import { RawJson } from './raw-json';

const SHAPE: BodyShape = {
  rawMember: 'params',
  listMember: 'tasks',
  maxListItems: 3,
  maxMembers: 8,
  maxTotalMembers: 20,
};

const body = (text: string) => parseJson(text, { shape: SHAPE }) as Record<string, unknown>;
const rawText = (value: unknown) => {
  expect(value).toBeInstanceOf(RawJson);
  return (value as RawJson).text;
};

describe('parseJson: prototype-named keys', () => {
  const text =
    '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},' +
    '"a":[{"__proto__":[3],"prototype":null}],"z":0}';

  it('keeps __proto__, constructor and prototype as own data keys, in order, at any depth', () => {
    const value = parseJson(text) as {
      constructor: object;
      a: Array<Record<string, unknown>>;
    };
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toStrictEqual(['__proto__', 'constructor', 'a', 'z']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')).toMatchObject({
      value: { polluted: 1 },
      enumerable: true,
      writable: true,
    });
    expect(Object.keys(value.constructor)).toStrictEqual(['prototype']);
    expect(Object.keys(value.a[0])).toStrictEqual(['__proto__', 'prototype']);
    expect(Object.getPrototypeOf(value.a[0])).toBe(Object.prototype);
  });

  it('changes no prototype', () => {
    parseJson(text);
    parseJson(`{"params":${text}}`, { shape: SHAPE });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('writes them back exactly', () => {
    expect(stringifyJson(parseJson(text))).toBe(text);
  });
});

describe('parseJson with a body shape', () => {
  it('keeps params as the exact text given: spaces, escapes, number forms, key order', () => {
    const params =
      '{ "b" : [1.50, 1E5, -0, 1e-400, 123456789012345678901234567890],\n\t"a\\u0041": "\\/" }';
    expect(rawText(body(`{"key":1, "params": ${params} }`).params)).toBe(params);
  });

  it('keeps scalar params as their text too', () => {
    expect(rawText(body('{"params":1.50}').params)).toBe('1.50');
    expect(rawText(body('{"params":"\\u00e9"}').params)).toBe('"\\u00e9"');
    expect(rawText(body('{"params":null}').params)).toBe('null');
  });

  it('builds the body object and scalars, and keeps other arrays and objects as text', () => {
    const value = body('{"timestamp":1.5,"key":18446744073709551615,"x":{"y":[1]},"h":"u"}');
    expect(value).toMatchObject({ timestamp: 1.5, key: 18446744073709551615n, h: 'u' });
    expect(rawText(value.x)).toBe('{"y":[1]}');
  });

  it('builds the objects of the task list, with their params as text', () => {
    const value = body('{"tasks":[{"key":1,"params":[ 1 ]},{"key":2,"o":{}}]}');
    const tasks = value.tasks as Array<Record<string, unknown>>;
    expect(tasks).toHaveLength(2);
    expect(tasks[0].key).toBe(1);
    expect(rawText(tasks[0].params)).toBe('[ 1 ]');
    expect(rawText(tasks[1].o)).toBe('{}');
  });

  it('keeps a task list longer than the limit as text, unbuilt', () => {
    const list = '[{"key":1},{"key":2},{"key":3},{"key":4}]';
    expect(rawText(body(`{"tasks":${list}}`).tasks)).toBe(list);
  });

  it('refuses a built object with more members than allowed', () => {
    const members = Array.from({ length: 9 }, (_, i) => `"f${i}":${i}`).join(',');
    expect(() => body(`{${members}}`)).toThrow(BodyShapeError);
    expect(() => body(`{${members}}`)).toThrow(
      'request body has an object with more than 8 fields',
    );
    expect(() => body(`{"params":{${members}}}`)).not.toThrow(); // params are not built
  });

  it('refuses built objects with more members than allowed in all', () => {
    const task = '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}';
    expect(() => body(`{"tasks":[${task},${task},${task}]}`)).toThrow(
      'request body has more than 20 fields in all',
    );
  });

  it.each([
    ['malformed JSON', '{"params":[1,]}', /JSON value expected/],
    ['a number too large for a double', '{"params":{"n":[1e400]}}', /number 1e400 is out of range/],
    ['a decimal too large for a double', `{"params":${'9'.repeat(400)}.5}`, /out of range/],
    ['duplicate keys with different values', '{"params":{"a":1,"a":2}}', /Duplicate key 'a'/],
    ['a duplicate key spelt with an escape', '{"params":{"a":1,"\\u0061":2}}', /Duplicate key 'a'/],
    ['a bad escape', '{"params":"\\x"}', /Invalid escape/],
    ['a control character', '{"params":"a\u0001"}', /Invalid character/],
    ['nesting past the limit', `{"params":${'['.repeat(64)}${']'.repeat(64)}}`, /deeper than 64/],
  ])('validates params kept as text as thoroughly as built values: %s', (_name, text, error) => {
    expect(() => body(text)).toThrow(JsonParseError);
    expect(() => body(text)).toThrow(error);
  });

  it('finds a repeated key among many (the hashed path)', () => {
    const members = Array.from({ length: 1000 }, (_, i) => `"k${i}":${i}`).join(',');
    expect(() => body(`{"params":{${members},"k500":0}}`)).toThrow(/Duplicate key 'k500'/);
    expect(rawText(body(`{"params":{${members},"k500":500}}`).params)).toContain('"k500":500}');
  });

  it('tolerates a key repeated with an equal value, spelt differently', () => {
    expect(() => body('{"params":{"a":{"x":1,"y":[2]},"a":{"y":[2.0],"x":1}}}')).not.toThrow();
  });

  it('accepts exponents that stay finite and refuses the first that does not', () => {
    expect(() =>
      body('{"params":[1.7976931348623157e308,0.1e309,-1e-99999999999,0e99999]}'),
    ).not.toThrow();
    expect(() => body('{"params":[1.8e308]}')).toThrow(/out of range/);
    expect(() => body('{"params":[10e308]}')).toThrow(/out of range/);
    expect(() => body('{"params":[1e00000000000000000400]}')).toThrow(/out of range/);
  });
});

describe('parseJson, built and kept as text, against JSON.parse', () => {
  /** JSON texts with spaces between tokens; numbers within a double's exact range. */
  const jsonText = fc
    .jsonValue({ maxDepth: 6 })
    .map((value) => JSON.stringify(value, null, 1) ?? 'null');

  it('builds what JSON.parse builds (numbers aside, which stay exact)', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(stringifyJson(parseJson(text))).toBe(JSON.stringify(JSON.parse(text)));
      }),
    );
  });

  it('keeps exactly the text of any valid value as params', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(rawText(body(`{"params":${text}}`).params)).toBe(text);
      }),
    );
  });

  it('refuses as params exactly what it refuses to build', () => {
    const mutated = fc
      .tuple(
        jsonText,
        fc.nat(),
        fc.constantFrom('', '"', ',', ']', '}', '[', '{', ':', '\\', 'x', '1e'),
      )
      .map(([text, at, insert]) => {
        const position = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, position) + insert + text.slice(position + 1);
      });
    fc.assert(
      fc.property(mutated, (text) => {
        const built = attempt(() => parseJson(text));
        const kept = attempt(() => body(`{"params":${text}}`));
        expect(kept).toBe(built);
      }),
    );
  });
});

describe('numbers kept as text', () => {
  const digits = (min: number, max: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  /** Number-like texts, mostly valid, some over a double's range (exponents up to 4 digits). */
  const numberText = fc
    .tuple(
      fc.constantFrom('', '-'),
      digits(1, 400),
      fc.option(digits(0, 30)),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(0, 4))),
    )
    .map(
      ([sign, integer, fraction, exponent]) =>
        `${sign}${integer}${fraction === null ? '' : `.${fraction}`}${exponent?.join('') ?? ''}`,
    );

  it('are refused as params exactly when they are refused built', () => {
    fc.assert(
      fc.property(numberText, (text) => {
        expect(attempt(() => body(`{"params":${text}}`))).toBe(attempt(() => parseJson(text)));
      }),
      { numRuns: 3000 },
    );
  });
});

function attempt(parse: () => unknown): string {
  try {
    parse();
    return 'ok';
  } catch (error) {
    return error instanceof JsonParseError ? 'refused' : `threw ${String(error)}`;
  }
}
