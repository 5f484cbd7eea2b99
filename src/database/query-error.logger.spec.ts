import { Logger } from '@nestjs/common';
import { Logger as TypeOrmLogger } from 'typeorm';
import { QueryErrorLogger } from './query-error.logger';

/** As TypeORM calls it: through its Logger interface, with the statement's parameters. */
const typeOrmLogger = (): TypeOrmLogger => new QueryErrorLogger();

describe('QueryErrorLogger', () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs a failed statement with its error but never its parameters', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    typeOrmLogger().logQueryError(
      new Error('connection terminated'),
      'INSERT INTO handlers (cate, url, secrets)\n   VALUES ($1, $2, $3)',
      ['payments', 'https://example.com/cb', ['whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=']],
    );
    expect(warn).toHaveBeenCalledTimes(1);
    const [line] = warn.mock.calls[0] as [string];
    expect(line).toBe(
      'query failed: connection terminated (statement: INSERT INTO handlers (cate, url, secrets) VALUES ($1, $2, $3))',
    );
    expect(line).not.toContain('whsec_');
    expect(line).not.toContain('example.com');
  });

  it('cuts long statements', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    typeOrmLogger().logQueryError('boom', `SELECT ${'x, '.repeat(500)}1`);
    const [line] = warn.mock.calls[0] as [string];
    expect(line.length).toBeLessThan(260);
  });
});
