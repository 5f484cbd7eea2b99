import { parseApiJson, prettyJson, RawJson, toDisplayJson } from './lossless-json';

describe('parseApiJson', () => {
  it('keeps the largest uint64 key exactly, as its decimal text', () => {
    const body = '{"code":200,"msg":"OK","result":{"cate":"c","key":18446744073709551615}}';
    const parsed = parseApiJson(body) as { result: { key: unknown } };
    expect(parsed.result.key).toBe('18446744073709551615');
    // What it avoids: JSON.parse rounds it.
    expect(String((JSON.parse(body) as typeof parsed).result.key)).not.toBe('18446744073709551615');
  });

  it('turns keys in list items into strings, small ones too', () => {
    const parsed = parseApiJson('{"items":[{"key":42},{"key":9007199254740993}]}') as {
      items: { key: string }[];
    };
    expect(parsed.items.map((i) => i.key)).toEqual(['42', '9007199254740993']);
  });

  it('keeps params as the exact text sent, big integers and number forms included', () => {
    const params = '{"orderId":9007199254740993,"price":1.50,"big":1E5,"n":[18446744073709551616]}';
    const parsed = parseApiJson(`{"result":{"params":${params},"timeToRun":1795800000.25}}`) as {
      result: { params: RawJson; timeToRun: number };
    };
    expect(parsed.result.params).toBeInstanceOf(RawJson);
    expect(parsed.result.params.text).toBe(params);
    expect(parsed.result.timeToRun).toBe(1795800000.25);
  });

  it('keeps scalar, null and string params raw', () => {
    for (const params of ['null', '12345678901234567890', '"a \\" } ]"', 'true', '[]', '{}']) {
      const parsed = parseApiJson(`{"params":${params},"x":1}`) as { params: RawJson; x: number };
      expect(parsed.params.text).toBe(params);
      expect(parsed.x).toBe(1);
    }
  });

  it('keeps params with __proto__ members and key order as sent', () => {
    const params = '{"b":1,"__proto__":{"polluted":true},"2":2}';
    const parsed = parseApiJson(`{"params":${params}}`) as { params: RawJson };
    expect(parsed.params.text).toBe(params);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not let a __proto__ member elsewhere set the prototype', () => {
    const parsed = parseApiJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__']);
  });

  it('parses ordinary values like JSON.parse', () => {
    const text = '{"a":[1,-2.5,3e2,true,false,null,"x\\u00e9\\n"],"b":{"c":{}},"d":[]}';
    expect(parseApiJson(text)).toEqual(JSON.parse(text));
  });

  it('keeps audit changes raw', () => {
    const parsed = parseApiJson('{"changes":{"rateLimit":{"perSecond":0.5}},"count":null}') as {
      changes: RawJson;
      count: null;
    };
    expect(parsed.changes.text).toBe('{"rateLimit":{"perSecond":0.5}}');
    expect(parsed.count).toBeNull();
  });

  it('refuses malformed JSON', () => {
    for (const bad of ['{', '{"a":}', '[1,]', '{"a":1}x', 'nul', '"abc']) {
      expect(() => parseApiJson(bad)).toThrow(SyntaxError);
    }
  });
});

describe('prettyJson', () => {
  it('indents without touching numbers or strings', () => {
    expect(prettyJson('{"id":9007199254740993,"s":"a, b: {c}","l":[1.50,{}],"e":[]}')).toBe(
      [
        '{',
        '  "id": 9007199254740993,',
        '  "s": "a, b: {c}",',
        '  "l": [',
        '    1.50,',
        '    {}',
        '  ],',
        '  "e": []',
        '}',
      ].join('\n'),
    );
  });

  it('handles escaped quotes and existing whitespace', () => {
    expect(prettyJson('{ "a" : "x\\"}" ,\n "b":[ ] }')).toBe('{\n  "a": "x\\"}",\n  "b": []\n}');
  });

  it('leaves scalars alone', () => {
    expect(prettyJson('18446744073709551615')).toBe('18446744073709551615');
    expect(prettyJson('null')).toBe('null');
  });
});

describe('toDisplayJson', () => {
  it('shows RawJson re-indented and other values as JSON', () => {
    expect(toDisplayJson(new RawJson('[9007199254740993]'))).toBe('[\n  9007199254740993\n]');
    expect(toDisplayJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});
