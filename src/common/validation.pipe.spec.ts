import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { BatchUpsertTasksDto, UpsertTaskDto } from '../modules/tasks/tasks.dto';
import { parseBody } from './json-body.reader';
import { CatePathDto } from './path.dto';
import { stringifyJson } from './lossless-json';
import { RawJson } from './raw-json';
import { AppValidationPipe } from './validation.pipe';

/** Params with every prototype-named key, at several depths, spaced and spelt as a client may. */
const PARAMS =
  '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"polluted":1}},' +
  '"prototype":[{"__proto__":null}], "n":18446744073709551616,"s":"\\u00e9"}';

const body = (text: string) => parseBody(Buffer.from(text));
const asBody = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({
  type: 'body',
  metatype,
});

describe('AppValidationPipe on bodies parsed by parseBody', () => {
  const pipe = new AppValidationPipe();

  it('passes params with __proto__, constructor and prototype keys through untouched', async () => {
    const dto = (await pipe.transform(
      body(`{"timestamp":1795800000,"key":42,"params":${PARAMS}}`),
      asBody(UpsertTaskDto),
    )) as UpsertTaskDto;
    expect(dto).toBeInstanceOf(UpsertTaskDto);
    expect(dto.params).toBeInstanceOf(RawJson);
    expect(stringifyJson(dto.params)).toBe(PARAMS);
  });

  it('passes the params of every task of a batch through untouched', async () => {
    const task = (key: number) => `{"timestamp":1795800000,"key":${key},"params":${PARAMS}}`;
    const dto = (await pipe.transform(
      body(`{"tasks":[${task(1)},${task(2)}]}`),
      asBody(BatchUpsertTasksDto),
    )) as BatchUpsertTasksDto;
    expect(dto.tasks.map((t) => stringifyJson(t.params))).toStrictEqual([PARAMS, PARAMS]);
  });

  it('drops prototype-named fields outside params, as any unknown field, without choking', async () => {
    const dto = await pipe.transform(
      body('{"timestamp":1795800000,"key":1,"constructor":{"a":1},"__proto__":{"b":2},"x":[3]}'),
      asBody(UpsertTaskDto),
    );
    expect(dto).toMatchObject({ timestamp: 1795800000, key: '1' });
    for (const name of ['constructor', '__proto__', 'x']) {
      expect(Object.prototype.hasOwnProperty.call(dto, name)).toBe(false);
    }
  });

  it('leaves every prototype as it was', async () => {
    await pipe.transform(body(`{"timestamp":1,"key":1,"params":${PARAMS}}`), asBody(UpsertTaskDto));
    plainToInstance(UpsertTaskDto, body(`{"params":${PARAMS}}`));
    expect(Object.prototype).not.toHaveProperty('isAdmin');
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.getPrototypeOf(UpsertTaskDto.prototype)).toBe(Object.prototype);
  });
});

describe('the pipe shortcuts (validPlain)', () => {
  const pipe = new AppValidationPipe();
  /** The full way: class-transformer and class-validator, as for a DTO without a shortcut. */
  const fullWay = (value: unknown, metadata: ArgumentMetadata): Promise<unknown> =>
    ValidationPipe.prototype.transform.call(pipe, value, metadata) as Promise<unknown>;

  /** Own keys of an object and of the objects in it, in order: whitelisting and order both show. */
  const shape = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(shape)
      : value !== null && typeof value === 'object' && !(value instanceof RawJson)
        ? Object.entries(value).map(([name, field]) => [name, shape(field)])
        : value;

  /** Every combination of these field texts (undefined: the field is absent). */
  const FIELDS: Record<string, (string | undefined)[]> = {
    timestamp: [
      ...[undefined, '0', '-0', '-1', '1795800000', '1795800000.25', '253402300799'],
      ...['253402300800', '1e3', '1795800000.123456789', '"1795800000"', 'null', 'true', '{}'],
    ],
    key: [
      ...[undefined, '1', '0', '-1', '1.5', '"1"', '"007"', '"abc"', '""', 'null', '[1]'],
      ...['9007199254740993', '18446744073709551615', '18446744073709551616', '"1e3"'],
    ],
    params: [undefined, 'null', '{"a":[1,{"b":2}]}', '"text"', '12345678901234567890'],
    handler: [
      ...[undefined, 'null', '""', '"http://10.0.0.5:8080/x"', '"https://h/p?q=1"'],
      ...['"ftp://h/"', '"http://"', '"http://a b/"', '5', '{"u":1}'],
    ],
    extra: [undefined, '"at":"2027-03-28T02:30:00"', '"timezone":"UTC"', '"x":1', '"__proto__":{}'],
  };
  function* bodies(): Generator<string> {
    const names = Object.keys(FIELDS);
    const pick = function* (i: number, members: string[]): Generator<string> {
      if (i === names.length) {
        yield `{${members.join(',')}}`;
        return;
      }
      for (const text of FIELDS[names[i]]) {
        if (text === undefined) yield* pick(i + 1, members);
        else if (names[i] === 'extra') yield* pick(i + 1, [text, ...members]);
        else yield* pick(i + 1, [...members, `"${names[i]}":${text}`]);
      }
    };
    yield* pick(0, []);
  }

  /** The shortcut's answer, when it gives one, is exactly the full way's, which accepts it. */
  async function expectSameAsFullWay(
    text: string,
    metatype: { validPlain(value: unknown): object | undefined },
    metadata: ArgumentMetadata,
  ): Promise<boolean> {
    const short = metatype.validPlain(body(text));
    if (short === undefined) return false;
    const full = await fullWay(body(text), metadata).catch((error: Error) => error);
    expect([text, full]).toStrictEqual([text, short]);
    expect([text, shape(full)]).toStrictEqual([text, shape(short)]);
    return true;
  }

  it('answers a task exactly as class-transformer and class-validator do, or not at all', async () => {
    let shortcuts = 0;
    let all = 0;
    for (const text of bodies()) {
      all++;
      if (await expectSameAsFullWay(text, UpsertTaskDto, asBody(UpsertTaskDto))) shortcuts++;
    }
    expect(all).toBeGreaterThan(50_000);
    expect(shortcuts).toBeGreaterThan(500); // the shortcut is taken, for many shapes
  });

  it('answers a batch as the full way does, or not at all', async () => {
    const task = (key: number, extra = '') =>
      `{"key":${key},"timestamp":1795800000.5,"params":{"k":${key}}${extra}}`;
    const tasks = (n: number) => Array.from({ length: n }, (_, i) => task(i + 1)).join(',');
    const batches = [
      `{"tasks":[${task(1)}]}`,
      `{"tasks":[${tasks(1000)}]}`,
      `{"tasks":[${task(1)},${task(2, ',"handler":null')}]}`,
      `{"tasks":[${task(1)},${task(1)}]}`, // repeated keys are the service's to refuse
    ];
    for (const text of batches) {
      expect(await expectSameAsFullWay(text, BatchUpsertTasksDto, asBody(BatchUpsertTasksDto)));
    }
    const refused = [
      '{"tasks":[]}',
      `{"tasks":[${tasks(1001)}]}`,
      `{"tasks":[${task(1)},${task(2, ',"x":1')}]}`,
      `{"tasks":[${task(1)},5]}`,
      `{"tasks":[${task(1)}],"x":1}`,
      `{"tasks":{"0":${task(1)}}}`,
    ];
    for (const text of refused) expect(BatchUpsertTasksDto.validPlain(body(text))).toBeUndefined();
  });

  it('answers a category path as the full way does, or not at all', async () => {
    const param: ArgumentMetadata = { type: 'param', metatype: CatePathDto };
    const valid = [{ cate: 'orders' }, { cate: 'a.b_c:d-E9' }, { cate: 'x'.repeat(128) }];
    for (const params of valid) {
      const short = CatePathDto.validPlain({ ...params });
      expect(short).toStrictEqual(await fullWay({ ...params }, param));
    }
    const refused = [
      { cate: 'x'.repeat(129) },
      { cate: 'a/b' },
      { cate: '' },
      { cate: 'a', b: 'c' },
    ];
    for (const params of refused) expect(CatePathDto.validPlain(params)).toBeUndefined();
  });
});
