import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DeleteTaskDto, UpsertTaskDto } from '../modules/tasks/tasks.dto';
import { parseJson } from './lossless-json';
import {
  CATE_MESSAGE,
  HANDLER_MESSAGE,
  IsCate,
  isHttpUrl,
  IsHttpUrl,
  isTaskKey,
  IsTaskKey,
  IsUnixTimestamp,
  KEY_MESSAGE,
  MAX_TIMESTAMP,
  MAX_UINT64,
  MAX_URL_LENGTH,
  TIMESTAMP_MESSAGE,
  ToKeyString,
  ToTimestamp,
} from './task-fields';

class KeyDto {
  @ToKeyString()
  @IsTaskKey()
  key!: unknown;
}

class TimestampDto {
  @ToTimestamp()
  @IsUnixTimestamp()
  timestamp!: unknown;
}

class CateDto {
  @IsCate()
  cate!: unknown;
}

class UrlDto {
  @IsHttpUrl()
  handler!: unknown;
}

/** Transforms a plain object into `type` and validates it, as the global pipe does. */
async function check<T extends object>(type: ClassConstructor<T>, plain: object) {
  const instance = plainToInstance(type, plain);
  const errors = await validate(instance, { stopAtFirstError: true });
  return { instance, messages: errors.flatMap((e) => Object.values(e.constraints ?? {})) };
}

describe('ToKeyString and IsTaskKey', () => {
  it.each([
    ['a safe integer', 1, '1'],
    ['a bigint', 18446744073709551615n, '18446744073709551615'],
    ['a decimal string', '42', '42'],
    ['a decimal string with leading zeros', '007', '7'],
    ['the largest uint64 as a string', '18446744073709551615', '18446744073709551615'],
  ])('accepts %s as a canonical decimal string', async (_name, key, expected) => {
    const { instance, messages } = await check(KeyDto, { key });
    expect(messages).toStrictEqual([]);
    expect(instance.key).toBe(expected);
  });

  it.each([
    ['0', 0],
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['2^64 as a bigint', 18446744073709551616n],
    ['2^64 as a string', '18446744073709551616'],
    ['a 26-digit string', '1'.repeat(26)],
    ['a negative string', '-1'],
    ['a string with spaces', ' 1'],
    ['an empty string', ''],
    ['a word', 'abc'],
    ['a boolean', true],
    ['an unsafe number', 2 ** 53 + 2],
    ['an over-precise decimal', parseJson('1.00000000000000000001')],
  ])('rejects %s with the key rule', async (_name, key) => {
    const { messages } = await check(KeyDto, { key });
    expect(messages).toStrictEqual([KEY_MESSAGE]);
  });
});

describe('isTaskKey', () => {
  const byBigInt = (text: string) => BigInt(text) >= 1n && BigInt(text) <= MAX_UINT64;
  it.each([
    ...['0', '00000', '0'.repeat(19), '0'.repeat(20), '0'.repeat(18) + '1', '9'.repeat(19)],
    ...['1' + '0'.repeat(19), '18446744073709551615', '18446744073709551616', '9'.repeat(20)],
    ...['0'.repeat(5) + '18446744073709551615', '0'.repeat(5) + '18446744073709551616'],
  ])('decides %s as its value in BigInt says', (text) => {
    expect(isTaskKey(text)).toBe(byBigInt(text));
  });
});

describe('ToTimestamp and IsUnixTimestamp', () => {
  it.each([
    ['a number', 1700000000, 1700000000],
    ['a fraction', 1700000000.25, 1700000000.25],
    ['a bigint', 1700000000n, 1700000000],
    ['a decimal string', '1700000000', 1700000000],
    ['a fractional string', '1700000000.5', 1700000000.5],
    ['an over-precise decimal', parseJson('1700000000.12345678901234567890'), 1700000000.1234567],
    ['zero', 0, 0],
    ['the maximum', MAX_TIMESTAMP, MAX_TIMESTAMP],
  ])('accepts %s as Unix seconds', async (_name, timestamp, expected) => {
    const { instance, messages } = await check(TimestampDto, { timestamp });
    expect(messages).toStrictEqual([]);
    expect(instance.timestamp).toBeCloseTo(expected, 6);
  });

  it.each([
    ['negative', -1],
    ['after 9999-12-31T23:59:59Z', MAX_TIMESTAMP + 1],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a word', 'soon'],
    ['an exponent string', '1e9'],
    ['a negative string', '-5'],
    ['a boolean', true],
    ['an object', {}],
    ['null', null],
  ])('rejects %s with the timestamp rule', async (_name, timestamp) => {
    const { messages } = await check(TimestampDto, { timestamp });
    expect(messages).toStrictEqual([TIMESTAMP_MESSAGE]);
  });
});

describe('IsCate', () => {
  it.each(['c', 'Az09._:-', 'x'.repeat(128)])('accepts %p', async (cate) => {
    const { messages } = await check(CateDto, { cate });
    expect(messages).toStrictEqual([]);
  });

  it.each(['', 'a b', 'a/b', 'ä', 'a$', 'x'.repeat(129), 'a\n'])('rejects %p', async (cate) => {
    const { messages } = await check(CateDto, { cate });
    expect(messages).toStrictEqual([CATE_MESSAGE]);
  });
});

describe('isHttpUrl and IsHttpUrl', () => {
  it.each([
    'http://cb.example/x',
    'https://cb.example:8443/x?y=1#z',
    'http://10.0.0.5/cb',
    'http://[::1]:8080/cb',
    `http://cb.example/${'x'.repeat(MAX_URL_LENGTH - 'http://cb.example/'.length)}`,
  ])('accepts %p', async (handler) => {
    expect(isHttpUrl(handler)).toBe(true);
    const { messages } = await check(UrlDto, { handler });
    expect(messages).toStrictEqual([]);
  });

  it.each([
    ['ftp', 'ftp://cb.example/x'],
    ['relative', '/callback'],
    ['javascript', 'javascript:alert(1)'],
    ['mailto', 'mailto:a@b.example'],
    ['without host', 'http://'],
    ['without scheme', 'cb.example/x'],
    ['empty', ''],
    ['with a NUL', 'http://cb.example/a\u0000b'],
    ['with a space', 'http://cb.example/a b'],
    ['with a tab', 'http://cb.example/\t'],
    ['with a leading space', ' http://cb.example/'],
    ['over the length limit', `http://cb.example/${'x'.repeat(MAX_URL_LENGTH)}`],
    ['a number', 80],
    ['null', null],
  ])('rejects a URL %s', async (_name, handler) => {
    expect(isHttpUrl(handler)).toBe(false);
    const { messages } = await check(UrlDto, { handler });
    expect(messages).toStrictEqual([HANDLER_MESSAGE]);
  });
});

describe('UpsertTaskDto', () => {
  const body = (text: string) => parseJson(text) as object;

  it('accepts a body parsed losslessly and keeps params as parsed', async () => {
    const plain = body(
      '{"timestamp":1700000000.5,"key":18446744073709551615,"params":{"n":[1e-400,12345678901234567890]}}',
    );
    const { instance, messages } = await check(UpsertTaskDto, plain);
    expect(messages).toStrictEqual([]);
    expect(instance).toMatchObject({ timestamp: 1700000000.5, key: '18446744073709551615' });
    expect(instance.params).toBe((plain as { params: unknown }).params);
  });

  it('accepts a timestamp with more decimals than a double holds', async () => {
    const { instance, messages } = await check(
      UpsertTaskDto,
      body('{"timestamp":1700000000.12345678901234567890,"key":1}'),
    );
    expect(messages).toStrictEqual([]);
    expect(instance.timestamp).toBeCloseTo(1700000000.123457, 6);
  });

  it.each([
    ['absent', {}],
    ['empty', { handler: '' }],
    ['null', { handler: null }],
  ])('accepts a handler that is %s (the category handler applies)', async (_name, extra) => {
    const { messages } = await check(UpsertTaskDto, { timestamp: 1, key: 1, ...extra });
    expect(messages).toStrictEqual([]);
  });

  it('names every missing field', async () => {
    const { messages } = await check(UpsertTaskDto, {});
    expect(messages).toStrictEqual(['timestamp is required', 'key is required']);
  });

  it('rejects a non-http handler', async () => {
    const { messages } = await check(UpsertTaskDto, { timestamp: 1, key: 1, handler: 'ftp://x' });
    expect(messages).toStrictEqual([HANDLER_MESSAGE]);
  });
});

describe('DeleteTaskDto', () => {
  it('accepts a key alone', async () => {
    const { messages } = await check(DeleteTaskDto, { key: 18446744073709551615n });
    expect(messages).toStrictEqual([]);
  });

  it('rejects an exec that is not a boolean', async () => {
    const { messages } = await check(DeleteTaskDto, { key: 1, exec: 'true' });
    expect(messages).toStrictEqual(['exec must be true or false']);
  });
});
