import { ArgumentsHost, Logger, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { EnvelopeExceptionFilter } from './envelope-exception.filter';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Runs the filter on `exception` against a fake Express response; returns what it wrote. */
function reply(exception: unknown): Reply {
  const written: Reply = { status: 0, headers: {}, body: '' };
  const res = {
    headersSent: false,
    status(code: number) {
      written.status = code;
      return res;
    },
    setHeader(name: string, value: string) {
      written.headers[name.toLowerCase()] = value;
      return res;
    },
    send(body: string) {
      written.body = body;
      return res;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({}) }),
  } as unknown as ArgumentsHost;
  new EnvelopeExceptionFilter().catch(exception, host);
  return written;
}

function queryFailed(code: string, message = `sqlstate ${code}`): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), { code }));
}

describe('EnvelopeExceptionFilter', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['a deadlock', queryFailed('40P01')],
    ['a serialization failure', queryFailed('40001')],
    ['a lock timeout', queryFailed('55P03')],
  ])('answers %s with 503, Retry-After and no driver text', (_, error) => {
    const { status, headers, body } = reply(error);
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('1');
    expect(JSON.parse(body)).toEqual({ code: 503, msg: 'database busy, retry later' });
  });

  it.each([
    ['an administrator shutdown', queryFailed('57P01')],
    ['a refused connection', new Error('connect ECONNREFUSED 127.0.0.1:5432')],
  ])('answers %s with 503 and Retry-After', (_, error) => {
    const { status, headers, body } = reply(error);
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('1');
    expect(JSON.parse(body)).toEqual({ code: 503, msg: 'database unavailable, retry later' });
  });

  it('answers any other database error with 500 and no Retry-After', () => {
    const { status, headers, body } = reply(queryFailed('23505', 'duplicate key value'));
    expect(status).toBe(500);
    expect(headers['retry-after']).toBeUndefined();
    expect(JSON.parse(body)).toEqual({ code: 500, msg: 'internal error' });
  });

  it('keeps the status and message of a client error, without Retry-After', () => {
    const { status, headers, body } = reply(new NotFoundException('task not found'));
    expect(status).toBe(404);
    expect(headers['retry-after']).toBeUndefined();
    expect(JSON.parse(body)).toEqual({ code: 404, msg: 'task not found' });
  });
});
