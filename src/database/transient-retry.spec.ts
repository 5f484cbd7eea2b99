import { QueryFailedError } from 'typeorm';
import {
  isTransientDatabaseError,
  retryTransient,
  transientBackoffMs,
  TRANSIENT_RETRY_POLICY,
} from './transient-retry';

/** A failed statement as TypeORM throws it: the driver's error, its SQLSTATE copied onto it. */
function failed(code: string): QueryFailedError {
  const driverError = Object.assign(new Error(`sqlstate ${code}`), { code });
  return new QueryFailedError('UPDATE tasks SET …', [], driverError);
}

/** A statement failing with `codes` in turn, then returning 'done'; counts its runs. */
function statementFailingWith(...codes: string[]): { run: () => Promise<string>; runs: number } {
  const state = {
    runs: 0,
    run: (): Promise<string> => {
      const code = codes[state.runs++];
      return code === undefined ? Promise.resolve('done') : Promise.reject(failed(code));
    },
  };
  return state;
}

describe('isTransientDatabaseError', () => {
  it.each(['40001', '40P01', '40002', '55P03'])('treats SQLSTATE %s as transient', (code) => {
    expect(isTransientDatabaseError(failed(code))).toBe(true);
  });

  it.each(['40003', '23505', '22P02', '57P01', '08006', '55000', '42P01'])(
    'does not treat SQLSTATE %s as transient',
    (code) => {
      expect(isTransientDatabaseError(failed(code))).toBe(false);
    },
  );

  it.each([undefined, null, 'deadlock', new Error('deadlock detected'), { code: 40001 }])(
    'does not treat %p as transient',
    (error) => {
      expect(isTransientDatabaseError(error)).toBe(false);
    },
  );
});

describe('transientBackoffMs', () => {
  const policy = TRANSIENT_RETRY_POLICY;

  it('doubles from the base delay up to the cap, each between half the cap and the cap', () => {
    const bounds = [0, 1, 2, 3, 4].map((retry) => [
      transientBackoffMs(retry, policy, 0),
      transientBackoffMs(retry, policy, 0.999_999),
    ]);
    expect(bounds.map(([low]) => low)).toEqual([10, 20, 40, 50, 50]);
    bounds.forEach(([low, high]) => expect(high).toBeCloseTo(low * 2, 3));
  });
});

describe('retryTransient', () => {
  const waits: number[] = [];
  const wait = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };

  beforeEach(() => {
    waits.length = 0;
  });

  it('returns the result of a statement that succeeds at once, without waiting', async () => {
    const statement = statementFailingWith();
    await expect(retryTransient(statement.run, TRANSIENT_RETRY_POLICY, wait)).resolves.toBe('done');
    expect(statement.runs).toBe(1);
    expect(waits).toEqual([]);
  });

  it('runs the statement again after a deadlock, a serialization failure and a lock timeout', async () => {
    const statement = statementFailingWith('40P01', '40001', '55P03');
    await expect(
      retryTransient(statement.run, TRANSIENT_RETRY_POLICY, wait, () => 0),
    ).resolves.toBe('done');
    expect(statement.runs).toBe(4);
    expect(waits).toEqual([10, 20, 40]);
  });

  it('throws the last transient error once the retries are used up', async () => {
    const statement = statementFailingWith('40P01', '40P01', '40P01', '55P03', '40P01');
    const error = await retryTransient(statement.run, TRANSIENT_RETRY_POLICY, wait).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as { code: string }).code).toBe('55P03');
    expect(statement.runs).toBe(TRANSIENT_RETRY_POLICY.retries + 1);
    expect(waits).toHaveLength(TRANSIENT_RETRY_POLICY.retries);
  });

  it('throws any other error at once', async () => {
    const statement = statementFailingWith('23505');
    await expect(retryTransient(statement.run, TRANSIENT_RETRY_POLICY, wait)).rejects.toThrow(
      'sqlstate 23505',
    );
    expect(statement.runs).toBe(1);
    expect(waits).toEqual([]);
  });

  it('waits for real between runs by default', async () => {
    const statement = statementFailingWith('40001');
    const started = Date.now();
    await expect(retryTransient(statement.run)).resolves.toBe('done');
    expect(Date.now() - started).toBeGreaterThanOrEqual(9);
  });
});
