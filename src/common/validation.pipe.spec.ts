import { ArgumentMetadata } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { BatchUpsertTasksDto, UpsertTaskDto } from '../modules/tasks/tasks.dto';
import { parseBody } from './json-body.reader';
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
