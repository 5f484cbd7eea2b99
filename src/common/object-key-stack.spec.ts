import { hashKey, KeySpan, ObjectKeyStack } from './object-key-stack';

/** `{"k0":0,"k1":1,…}`-like text: the spans of keys k0…k{count-1}, laid out one after another. */
function keysText(count: number): { text: string; spans: Array<[number, number]> } {
  let text = '';
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    spans.push([text.length, text.length + `k${i}`.length]);
    text += `k${i}`;
  }
  return { text, spans };
}

const span = (text: string, [start, end]: [number, number], hash?: number): KeySpan => ({
  start,
  end,
  hash: hash ?? hashKey(text, start, end),
  decoded: undefined,
});

describe('ObjectKeyStack', () => {
  it.each([10, 100, 10_000])('finds the one repeated key among %i', (count) => {
    const { text, spans } = keysText(count);
    const keys = new ObjectKeyStack(text);
    keys.open();
    const added = spans.filter((s, i) => keys.add(span(text, s), i, i) === -1);
    expect(added).toHaveLength(count);
    expect(keys.add(span(text, spans[count >> 1]), 0, 0)).toBe(count >> 1);
    expect(keys.valueStart(count >> 1)).toBe(count >> 1);
  });

  it('keeps the keys of each open object apart', () => {
    const { text, spans } = keysText(2);
    const keys = new ObjectKeyStack(text);
    keys.open();
    expect(keys.add(span(text, spans[0]), 0, 0)).toBe(-1);
    keys.open();
    expect(keys.add(span(text, spans[0]), 0, 0)).toBe(-1);
    keys.close();
    expect(keys.add(span(text, spans[1]), 0, 0)).toBe(-1);
    expect(keys.add(span(text, spans[0]), 0, 0)).toBe(0);
  });

  it('takes a key spelt with escapes for the same key unescaped', () => {
    const text = 'ab';
    const keys = new ObjectKeyStack(text);
    keys.open();
    keys.add(span(text, [0, 2]), 0, 0);
    const escaped: KeySpan = { start: 5, end: 17, hash: hashKey('ab', 0, 2), decoded: 'ab' };
    expect(keys.add(escaped, 0, 0)).toBe(0);
    expect(keys.keyText(0)).toBe('ab');
  });

  it('stays linear when every key has the same hash (a Map takes over)', () => {
    const count = 20_000;
    const { text, spans } = keysText(count);
    const keys = new ObjectKeyStack(text);
    keys.open();
    const started = performance.now();
    const added = spans.filter((s, i) => keys.add(span(text, s, 7), i, i) === -1);
    expect(keys.add(span(text, spans[count - 1], 7), 0, 0)).toBe(count - 1);
    expect(added).toHaveLength(count);
    // Probing 20,000 colliding keys one by one would take 200 million steps.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
