import { MAX_BATCH_TASKS } from '../modules/tasks/tasks.dto';
import { BODY_SHAPE, BodyTooLargeError, JsonBodyScanner, parseBody } from './json-body.reader';
import { JsonParseError } from './lossless-json';
import { RawJson } from './raw-json';

const limits = { maxBytes: 100, maxDepth: 3 };
const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('JsonBodyScanner', () => {
  it('accepts a body of exactly the size limit and refuses the chunk with the next byte', () => {
    const scanner = new JsonBodyScanner(limits);
    scanner.write(bytes(`"${'x'.repeat(98)}`));
    scanner.write(bytes('"'));
    expect(() => scanner.write(bytes(' '))).toThrow(BodyTooLargeError);
  });

  it('refuses at the first bracket past the nesting limit, before the rest arrives', () => {
    const scanner = new JsonBodyScanner(limits);
    scanner.write(bytes('{"a":[['));
    expect(() => scanner.write(bytes('['))).toThrow(
      new JsonParseError('JSON nesting is deeper than 3 levels'),
    );
  });

  it('counts no bracket inside strings, escaped quotes and chunk boundaries included', () => {
    const text = String.raw`["[[[\"[[[", "\\", [[]]]`;
    const scanner = new JsonBodyScanner(limits);
    // Cut right after each backslash: the escape state carries over to the next chunk.
    const cuts = [0, text.indexOf('\\') + 1, text.lastIndexOf('\\') + 1, text.length];
    for (let k = 1; k < cuts.length; k++) scanner.write(bytes(text.slice(cuts[k - 1], cuts[k])));
    expect(scanner.parse()).toStrictEqual(['[[["[[[', '\\', new RawJson('[[]]')]);
  });

  it('counts the brackets of the body as a whole, closed ones released', () => {
    const scanner = new JsonBodyScanner(limits);
    expect(() => scanner.write(bytes('[[[]],[[]],{"a":[]}]'))).not.toThrow();
  });

  it('parses an empty or blank body as no body', () => {
    expect(parseBody(bytes(''))).toBeUndefined();
    expect(parseBody(bytes(' \r\n\t'))).toBeUndefined();
  });
});

describe('parseBody', () => {
  it('keeps params (and params of listed tasks) as the text sent, prototype keys included', () => {
    const params =
      '{"__proto__":{"x":1},"constructor":{"prototype":[2]}, "n":18446744073709551616}';
    const value = parseBody(
      bytes(`{"key":1,"params":${params},"tasks":[{"key":2,"params":${params}}]}`),
    ) as { params: RawJson; tasks: Array<{ params: RawJson }> };
    expect(value.params).toStrictEqual(new RawJson(params));
    expect(value.tasks[0].params).toStrictEqual(new RawJson(params));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('leaves a megabyte of nested arrays in params unbuilt', () => {
    const params = `[${'[[[[[[[[[[]]]]]]]]]],'.repeat(50_000)}[]]`;
    const value = parseBody(bytes(`{"key":1,"params":${params}}`)) as { params: unknown };
    expect(value.params).toBeInstanceOf(RawJson);
  });

  it('builds at most as many tasks as POST /tasks/:cate takes', () => {
    expect(BODY_SHAPE.maxListItems).toBe(MAX_BATCH_TASKS);
  });
});
