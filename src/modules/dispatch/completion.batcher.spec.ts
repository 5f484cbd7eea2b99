import { ConsoleLogger, Logger } from '@nestjs/common';
import { AttemptRecord } from '../tasks/tasks.types';
import { Completion, CompletionBatcher } from './completion.batcher';
import { OutcomeBatch } from './queue.types';

function failure(id: string, error: string): Completion {
  const attempt: AttemptRecord = {
    taskId: id,
    cate: 'c',
    key: id,
    deliveryId: `d-${id}`,
    attempt: 1,
    startedAtMs: 0,
    durationMs: 1,
    statusCode: 500,
    outcome: 'http_5xx',
    error,
  };
  return {
    claim: { id, claim_token: 1 },
    outcome: { kind: 'retry', delayMs: 100, error },
    attempt,
  };
}

function delivered(id: string): Completion {
  return { claim: { id, claim_token: 1 }, outcome: { kind: 'ok' } };
}

/** A repository that records every batch written, refusing those `refuse` picks. */
function fakeRepository(refuse: (batch: OutcomeBatch) => Error | undefined) {
  const written: OutcomeBatch[] = [];
  const tried: OutcomeBatch[] = [];
  const repository = {
    recordOutcomes: jest.fn((batch: OutcomeBatch) => {
      tried.push(batch);
      const error = refuse(batch);
      if (error) return Promise.reject(error);
      written.push(batch);
      return Promise.resolve({
        delivered: 0,
        failures: 0,
        released: 0,
        snoozes: 0,
        circuitChanges: [],
      });
    }),
  };
  return { repository, written, tried };
}

function sqlError(code: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), { code });
}

const ids = (batches: OutcomeBatch[]): string[] =>
  batches.flatMap((b) => [...b.delivered, ...b.failures].map((c) => c.id)).sort();

describe('CompletionBatcher', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });

  it('stores an error text holding NUL bytes with the NULs replaced', async () => {
    const { repository, written } = fakeRepository(() => undefined);
    const batcher = new CompletionBatcher(repository, () => undefined);
    batcher.add(failure('1', 'HTTP 500: bad\u0000byte'));
    await batcher.drain(1000);
    expect(written[0].failures[0].error).toBe('HTTP 500: bad\uFFFDbyte');
    expect(written[0].attempts[0].error).toBe('HTTP 500: bad\uFFFDbyte');
  });

  it('writes the rest of a batch the database refuses for one outcome, that one without its error text', async () => {
    const poison = 'refused text';
    const { repository, written } = fakeRepository((batch) =>
      batch.failures.some((f) => f.error === poison) ? sqlError('22021') : undefined,
    );
    const batcher = new CompletionBatcher(repository, () => undefined);
    batcher.add(delivered('1'));
    await Promise.resolve();
    for (const id of ['2', '3', '4', '5']) batcher.add(delivered(id));
    batcher.add(failure('6', poison));
    batcher.add(delivered('7'));
    await batcher.drain(1000);

    expect(ids(written)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const bare = written.find((b) => b.failures.some((f) => f.id === '6'));
    expect(bare?.failures[0].error).not.toBe(poison);
    expect(bare?.attempts).toEqual([]);
    expect(batcher.size).toBe(0);
  });

  it('drops an outcome the database refuses even without its text, and goes on', async () => {
    const { repository, written } = fakeRepository((batch) =>
      batch.delivered.some((d) => d.id === '2') ? sqlError('23514') : undefined,
    );
    const batcher = new CompletionBatcher(repository, () => undefined);
    batcher.add(delivered('1'));
    batcher.add(delivered('2'));
    batcher.add(delivered('3'));
    await batcher.drain(1000);
    expect(ids(written)).toEqual(['1', '3']);
    expect(batcher.size).toBe(0);
  });

  it('retries a batch as a whole after a connection error', async () => {
    let failures = 1;
    const { repository, written, tried } = fakeRepository(() =>
      failures-- > 0 ? new Error('Connection terminated unexpectedly') : undefined,
    );
    const batcher = new CompletionBatcher(repository, () => undefined);
    batcher.add(delivered('1'));
    batcher.add(delivered('2'));
    await batcher.drain(5000);
    expect(tried.map((b) => ids([b]))).toEqual([['1'], ['1'], ['2']]);
    expect(ids(written)).toEqual(['1', '2']);
  });
});
