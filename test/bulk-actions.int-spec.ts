import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import request, { Response } from 'supertest';
import { BULK_CHUNK_SIZE } from '../src/modules/tasks/tasks-bulk.service';
import { TasksRepository } from '../src/modules/tasks/tasks.repository';
import { TestAppFixture, useTestApp } from './support/fixtures';
import { uniqueName } from './support/names';
import { CallbackReceiver } from './support/receiver';
import { header, postTask, unixSeconds, waitFor } from './support/tasks-api';

/**
 * POST /tasks/:cate/retry and POST /tasks/:cate/delete: filters and their edges, dry runs,
 * validation, chunking, and (with the dispatcher running) what the receiver sees. Each test has
 * its own category; rows are set up in SQL where the API cannot make them (failed at a given time,
 * running).
 */

/** A whole Unix second, far from now so that nothing is due by accident. */
const T = 1_900_000_000;

interface Row {
  key: string;
  state: string;
  attempts: number;
  delivery_id: string;
  version: number;
}

function bulkHelpers(fixture: TestAppFixture) {
  const http = () => request(fixture.app.getHttpServer());
  const post = (path: string, body: string | object = {}): Promise<Response> =>
    http()
      .post(path)
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body))
      .then((res) => res);

  /** The count a bulk action answered, after checking the envelope. */
  async function count(path: string, body: object = {}): Promise<number> {
    const res = await post(path, body);
    expect({ status: res.status, msg: (res.body as { msg: string }).msg }).toStrictEqual({
      status: 200,
      msg: 'OK',
    });
    return (res.body as { result: { count: number } }).result.count;
  }

  /**
   * Inserts tasks of `cate` with keys `keys`: state, due time and (failed) failure time as given,
   * in one statement.
   */
  async function insert(
    cate: string,
    keys: number[],
    row: { state?: string; dueAt?: number; failedAt?: number } = {},
  ): Promise<void> {
    const state = row.state ?? 'pending';
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, last_error,
         lease_owner, lease_expires_at, leased_at, claim_token, updated_at)
       SELECT $1::text, k, to_timestamp($3::float8), to_timestamp($3::float8), '{}', $2::text,
         CASE WHEN $2::text = 'pending' THEN 0 ELSE 3 END,
         CASE WHEN $2::text = 'failed' THEN 'HTTP 500' END,
         CASE WHEN $2::text = 'running' THEN 'elsewhere' END,
         CASE WHEN $2::text = 'running' THEN now() + interval '1 hour' END,
         CASE WHEN $2::text = 'running' THEN now() END,
         CASE WHEN $2::text = 'pending' THEN 0 ELSE 3 END,
         coalesce(to_timestamp($4::float8), now())
       FROM unnest($5::int[]) AS k`,
      [cate, state, row.dueAt ?? T + 86_400, row.failedAt ?? null, keys],
    );
  }

  async function rows(cate: string): Promise<Row[]> {
    return fixture.db.query<Row>(
      `SELECT key::text AS key, state, attempts, delivery_id::text AS delivery_id, version
       FROM tasks WHERE cate = $1 ORDER BY key`,
      [cate],
    );
  }

  async function keysIn(cate: string, state: string): Promise<number[]> {
    const found = await fixture.db.query<{ key: number }>(
      `SELECT key::int AS key FROM tasks WHERE cate = $1 AND state = $2 ORDER BY key`,
      [cate, state],
    );
    return found.map((r) => r.key);
  }

  /** A checksum of every task row: equal before and after means nothing was written. */
  async function tableDigest(): Promise<string> {
    const [row] = await fixture.db.query<{ digest: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS digest FROM tasks t`,
    );
    return row.digest;
  }

  return { http, post, count, insert, rows, keysIn, tableDigest };
}

describe('bulk actions by filter', () => {
  const fixture = useTestApp({ dispatchEnabled: false });
  const { http, post, count, insert, rows, keysIn, tableDigest } = bulkHelpers(fixture);

  describe('POST /tasks/:cate/retry', () => {
    it('re-queues failed tasks that failed in [failedAfter, failedBefore), and counts them in a dry run', async () => {
      const cate = uniqueName('retry-window');
      // Failed at T-1, T, T+1, T+9, T+10, T+11 (keys 1..6).
      const failedAt = [T - 1, T, T + 1, T + 9, T + 10, T + 11];
      for (const [i, at] of failedAt.entries()) {
        await insert(cate, [i + 1], { state: 'failed', failedAt: at });
      }
      await insert(cate, [7], { state: 'pending' });
      await insert(cate, [8], { state: 'running' });
      const path = `/tasks/${cate}/retry`;

      await expect(count(path, { dryRun: true })).resolves.toBe(6);
      await expect(count(path, { dryRun: true, failedAfter: T })).resolves.toBe(5);
      await expect(count(path, { dryRun: true, failedAfter: T + 11 })).resolves.toBe(1);
      await expect(count(path, { dryRun: true, failedBefore: T + 10 })).resolves.toBe(4);
      await expect(count(path, { dryRun: true, failedBefore: T - 1 })).resolves.toBe(0);
      await expect(
        count(path, { dryRun: true, failedAfter: T, failedBefore: T + 10 }),
      ).resolves.toBe(3);
      await expect(
        count(path, { dryRun: true, failedAfter: T, failedBefore: T + 1 }),
      ).resolves.toBe(1);

      await expect(count(path, { failedAfter: T, failedBefore: T + 10 })).resolves.toBe(3);
      await expect(keysIn(cate, 'pending')).resolves.toStrictEqual([2, 3, 4, 7]);
      await expect(keysIn(cate, 'failed')).resolves.toStrictEqual([1, 5, 6]);
      await expect(keysIn(cate, 'running')).resolves.toStrictEqual([8]);
    });

    it('re-queues as the single retry does: due now, attempts from zero, same delivery id, new version', async () => {
      const cate = uniqueName('retry-same-id');
      await insert(cate, [1, 2], { state: 'failed', failedAt: T });
      const before = await rows(cate);

      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(2);

      const after = await rows(cate);
      expect(after).toStrictEqual(
        before.map((row) => ({ ...row, state: 'pending', attempts: 0, version: row.version + 1 })),
      );
      const [due] = await fixture.db.query<{ due_now: boolean }>(
        `SELECT bool_and(run_at <= now() AND snoozes = 0 AND lease_owner IS NULL) AS due_now
         FROM tasks WHERE cate = $1`,
        [cate],
      );
      expect(due.due_now).toBe(true);
      // The single retry now finds the task pending, as after its own retry.
      const single = await http().post(`/task/${cate}/1/retry`);
      expect(single.status).toBe(409);
    });

    it('is idempotent: a second retry finds nothing', async () => {
      const cate = uniqueName('retry-twice');
      await insert(cate, [1, 2, 3], { state: 'failed', failedAt: T });
      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(3);
      const digest = await tableDigest();
      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(0);
      await expect(tableDigest()).resolves.toBe(digest);
    });

    it('changes nothing in a dry run', async () => {
      const cate = uniqueName('retry-dry');
      await insert(cate, [1, 2], { state: 'failed', failedAt: T });
      const digest = await tableDigest();
      await expect(count(`/tasks/${cate}/retry`, { dryRun: true })).resolves.toBe(2);
      await expect(tableDigest()).resolves.toBe(digest);
    });

    it('leaves other categories alone', async () => {
      const cate = uniqueName('retry-mine');
      const other = uniqueName('retry-other');
      await insert(cate, [1], { state: 'failed', failedAt: T });
      await insert(other, [1, 2], { state: 'failed', failedAt: T });
      const others = await rows(other);
      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(1);
      await expect(rows(other)).resolves.toStrictEqual(others);
    });

    it('answers 0 for a category with no tasks and none registered, not 404', async () => {
      const cate = uniqueName('retry-unknown');
      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(0);
      await expect(count(`/tasks/${cate}/retry`, { dryRun: true })).resolves.toBe(0);
    });

    it('works in chunks of BULK_CHUNK_SIZE rows, each committed in its own transaction', async () => {
      const cate = uniqueName('retry-chunks');
      const total = 2 * BULK_CHUNK_SIZE + 500;
      await insert(
        cate,
        Array.from({ length: total }, (_, i) => i + 1),
        { state: 'failed', failedAt: T },
      );
      await expect(count(`/tasks/${cate}/retry`, { dryRun: true })).resolves.toBe(total);
      await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(total);
      // xmin: the transaction that wrote the row version. One per chunk.
      const perTransaction = await fixture.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE cate = $1 AND state = 'pending'
         GROUP BY xmin::text ORDER BY n DESC`,
        [cate],
      );
      expect(perTransaction.map((r) => r.n)).toStrictEqual([BULK_CHUNK_SIZE, BULK_CHUNK_SIZE, 500]);
    });

    it('writes one log line per bulk retry, with the category, filter, count and duration', async () => {
      const cate = uniqueName('retry-log');
      await insert(
        cate,
        Array.from({ length: BULK_CHUNK_SIZE + 1 }, (_, i) => i + 1),
        {
          state: 'failed',
          failedAt: T,
        },
      );
      const log = jest.spyOn(Logger.prototype, 'log');
      try {
        await expect(count(`/tasks/${cate}/retry`, { failedAfter: T })).resolves.toBe(
          BULK_CHUNK_SIZE + 1,
        );
        const lines = log.mock.calls.filter(
          ([fields]) => (fields as { cate?: string } | undefined)?.cate === cate,
        );
        expect(lines).toStrictEqual([
          [
            {
              bulkAction: 'retry',
              cate,
              filter: { failedAfter: T, failedBefore: null },
              dryRun: false,
              count: BULK_CHUNK_SIZE + 1,
              durationMs: expect.any(Number) as number,
            },
            expect.stringMatching(/^bulk retry of .+: 2001 tasks re-queued in \d+ ms$/) as string,
          ],
        ]);
      } finally {
        log.mockRestore();
      }
    });
  });

  describe('POST /tasks/:cate/delete', () => {
    /** Keys 1-3 pending, 4-6 running, 7-9 failed; within each state due at T-1, T, T+10. */
    async function mixed(cate: string): Promise<void> {
      const states = ['pending', 'running', 'failed'];
      const dues = [T - 1, T, T + 10];
      for (const [s, state] of states.entries()) {
        for (const [d, dueAt] of dues.entries()) {
          await insert(cate, [s * 3 + d + 1], { state, dueAt, failedAt: T });
        }
      }
    }

    it('counts by state and due window in a dry run, After inclusive and Before exclusive', async () => {
      const cate = uniqueName('delete-window');
      await mixed(cate);
      const path = `/tasks/${cate}/delete`;
      const digest = await tableDigest();
      const cases: Array<[object, number]> = [
        [{}, 9],
        [{ state: 'pending' }, 3],
        [{ state: 'running' }, 3],
        [{ state: 'failed' }, 3],
        [{ dueAfter: T }, 6],
        [{ dueAfter: T + 10 }, 3],
        [{ dueAfter: T + 11 }, 0],
        [{ dueBefore: T }, 3],
        [{ dueBefore: T + 10 }, 6],
        [{ dueAfter: T, dueBefore: T + 10 }, 3],
        [{ state: 'failed', dueAfter: T - 1, dueBefore: T }, 1],
        [{ state: 'running', dueAfter: T }, 2],
      ];
      for (const [filter, expected] of cases) {
        await expect(
          count(path, { ...filter, dryRun: true }).then((n) => [filter, n]),
        ).resolves.toStrictEqual([filter, expected]);
      }
      await expect(tableDigest()).resolves.toBe(digest);
    });

    it('deletes the matching tasks only, and a second delete finds nothing', async () => {
      const cate = uniqueName('delete-some');
      await mixed(cate);
      const path = `/tasks/${cate}/delete`;
      await expect(count(path, { state: 'pending', dueAfter: T })).resolves.toBe(2);
      await expect(keysIn(cate, 'pending')).resolves.toStrictEqual([1]);
      await expect(count(path, { dueBefore: T + 10 })).resolves.toBe(5);
      await expect(rows(cate).then((r) => r.map((row) => Number(row.key)))).resolves.toStrictEqual([
        6, 9,
      ]);
      await expect(count(path, { dueBefore: T + 10 })).resolves.toBe(0);
      await expect(count(path, { state: 'running' })).resolves.toBe(1);
      await expect(count(path)).resolves.toBe(1);
      await expect(rows(cate)).resolves.toStrictEqual([]);
      await expect(count(path)).resolves.toBe(0);
    });

    it('leaves other categories alone', async () => {
      const cate = uniqueName('delete-mine');
      const other = uniqueName('delete-other');
      await mixed(cate);
      await mixed(other);
      const others = await rows(other);
      await expect(count(`/tasks/${cate}/delete`)).resolves.toBe(9);
      await expect(rows(other)).resolves.toStrictEqual(others);
    });

    it('answers 0 for a category with no tasks and none registered, not 404', async () => {
      await expect(count(`/tasks/${uniqueName('delete-unknown')}/delete`)).resolves.toBe(0);
    });

    it('works in chunks of BULK_CHUNK_SIZE rows', async () => {
      const cate = uniqueName('delete-chunks');
      const total = 2 * BULK_CHUNK_SIZE + 500;
      await insert(
        cate,
        Array.from({ length: total }, (_, i) => i + 1),
      );
      const repository = fixture.app.get(TasksRepository);
      const chunks = jest.spyOn(repository, 'deleteChunk');
      try {
        await expect(count(`/tasks/${cate}/delete`, { dryRun: true })).resolves.toBe(total);
        await expect(count(`/tasks/${cate}/delete`)).resolves.toBe(total);
        const results = await Promise.all(chunks.mock.results.map((r) => r.value as unknown));
        expect(results.map((r) => (r as { count: number }).count)).toStrictEqual([
          BULK_CHUNK_SIZE,
          BULK_CHUNK_SIZE,
          500,
          BULK_CHUNK_SIZE,
          BULK_CHUNK_SIZE,
          500,
        ]);
      } finally {
        chunks.mockRestore();
      }
      await expect(rows(cate)).resolves.toStrictEqual([]);
    });

    it('waits for a row locked by another transaction instead of skipping it', async () => {
      const cate = uniqueName('delete-locked');
      await insert(cate, [1, 2, 3]);
      const holder = await fixture.db.query<{ id: string }>(
        `SELECT id::text AS id FROM tasks WHERE cate = $1 AND key = 2`,
        [cate],
      );
      // A second session holds the row lock (as a claim would) for a moment, then commits.
      const { Client } = await import('pg');
      const client = new Client({ connectionString: fixture.db.url });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE`, [holder[0].id]);
        const deleting = count(`/tasks/${cate}/delete`);
        await sleep(300);
        await client.query('COMMIT');
        await expect(deleting).resolves.toBe(3);
      } finally {
        await client.end();
      }
      await expect(rows(cate)).resolves.toStrictEqual([]);
    });
  });

  describe('validation', () => {
    const cases: Array<[string, string, string | object, RegExp]> = [
      [
        'retry',
        'failedAfter equal to failedBefore',
        { failedAfter: T, failedBefore: T },
        /^failedBefore must be later than failedAfter/,
      ],
      [
        'retry',
        'failedAfter after failedBefore',
        { failedAfter: T + 1, failedBefore: T },
        /^failedBefore must be later than failedAfter/,
      ],
      [
        'delete',
        'dueAfter equal to dueBefore',
        { dueAfter: T, dueBefore: T },
        /^dueBefore must be later than dueAfter/,
      ],
      [
        'delete',
        'dueAfter after dueBefore',
        { dueAfter: T + 1, dueBefore: T },
        /^dueBefore must be later than dueAfter/,
      ],
      [
        'retry',
        'a fractional time',
        { failedAfter: T + 0.5 },
        /^failedAfter must be an integer of Unix seconds from 0 to 253402300799$/,
      ],
      [
        'retry',
        'a negative time',
        { failedBefore: -1 },
        /^failedBefore must be an integer of Unix seconds/,
      ],
      [
        'delete',
        'a time as text',
        { dueAfter: 'yesterday' },
        /^dueAfter must be an integer of Unix seconds/,
      ],
      [
        'delete',
        'a time past year 9999',
        { dueBefore: 253402300800 },
        /^dueBefore must be an integer of Unix seconds/,
      ],
      [
        'delete',
        'an unknown state',
        { state: 'done' },
        /^state must be one of pending, running, failed$/,
      ],
      ['delete', 'a state that is not a string', { state: ['failed'] }, /^state must be one of/],
      ['retry', 'dryRun as text', { dryRun: 'yes' }, /^dryRun must be true or false$/],
      [
        'delete',
        'a misspelt filter',
        { stat: 'failed' },
        /^unknown field "stat"; this route takes state, dueAfter, dueBefore, dryRun$/,
      ],
      [
        'retry',
        'a field of the other route',
        { state: 'failed' },
        /^unknown field "state"; this route takes failedAfter, failedBefore, dryRun$/,
      ],
      ['delete', 'a body that is not an object', '[1]', /^request body must be a JSON object$/],
      ['retry', 'malformed JSON', '{"dryRun": tru}', /^request body is not valid JSON/],
    ];

    it.each(cases)(
      'POST /tasks/:cate/%s refuses %s with 400, writing nothing',
      async (action, _, body, msg) => {
        const cate = uniqueName('invalid');
        await insert(cate, [1], { state: 'failed', failedAt: T, dueAt: T });
        const digest = await tableDigest();
        const res = await post(`/tasks/${cate}/${action}`, body);
        expect(res.status).toBe(400);
        expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) as string });
        await expect(tableDigest()).resolves.toBe(digest);
      },
    );

    it('refuses an invalid category name with 400', async () => {
      const res = await post('/tasks/bad%20name/delete', {});
      expect(res.status).toBe(400);
      expect((res.body as { msg: string }).msg).toMatch(/^cate must be 1 to 128 characters/);
    });

    it('takes an empty body as no filter', async () => {
      const cate = uniqueName('empty-body');
      await insert(cate, [1, 2], { state: 'failed', failedAt: T });
      const res = await http().post(`/tasks/${cate}/retry`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 2 } });
    });

    it('takes times as decimal text and big integers, as other time fields', async () => {
      const cate = uniqueName('time-forms');
      await insert(cate, [1], { state: 'failed', failedAt: T });
      await expect(
        count(`/tasks/${cate}/retry`, { dryRun: true, failedAfter: String(T) }),
      ).resolves.toBe(1);
      const res = await post(`/tasks/${cate}/retry`, `{"dryRun":true,"failedBefore":${T}}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 0 } });
    });
  });

  describe('POST /tasks/retry (a category named "retry")', () => {
    it('is still the batch upsert of that category, and /tasks/retry/retry its bulk retry', async () => {
      const timestamp = Math.floor(Date.now() / 1000) + 3600;
      const res = await post('/tasks/retry', {
        tasks: [
          { timestamp, key: 1 },
          { timestamp, key: 2 },
        ],
      });
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 2 } });
      await expect(keysIn('retry', 'pending')).resolves.toStrictEqual([1, 2]);
      await fixture.db.query(
        `UPDATE tasks SET state = 'failed', updated_at = now() WHERE cate = 'retry' AND key = 2`,
      );
      await expect(count('/tasks/retry/retry')).resolves.toBe(1);
      await expect(keysIn('retry', 'pending')).resolves.toStrictEqual([1, 2]);
      const deleted = await post('/tasks/delete', { tasks: [{ timestamp, key: 3 }] });
      expect(deleted.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 1 } });
      await expect(count('/tasks/delete/delete', { dryRun: true })).resolves.toBe(1);
    });
  });
});

describe('bulk actions with deliveries', () => {
  const fixture = useTestApp({ pollIntervalMs: 200, retryBaseDelayMs: 100, retryMaxDelayMs: 200 });
  const { http, count, rows } = bulkHelpers(fixture);
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await fixture.receiver();
  });

  async function register(cate: string, settings: Record<string, unknown> = {}): Promise<void> {
    const res = await http()
      .post(`/handler/${cate}`)
      .send({ handler: receiver.url(`/${cate}`), ...settings });
    expect(res.status).toBe(200);
  }

  it('delivers retried tasks with the delivery id of their failed attempts', async () => {
    const cate = uniqueName('deliver-retried');
    await register(cate, { maxAttempts: 1 });
    let failing = true;
    receiver.reply = (call) =>
      call.path === `/${cate}` && failing ? { status: 500 } : { status: 200, body: 'OK' };
    for (const key of [1, 2, 3])
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key });
    await waitFor('three failed tasks', async () => {
      const found = await rows(cate);
      return found.length === 3 && found.every((r) => r.state === 'failed');
    });
    const failedIds = new Map(
      receiver
        .callsTo(`/${cate}`)
        .map((c) => [String((c.json as { key: unknown }).key), header(c, 'x-delivery-id')]),
    );
    expect(failedIds.size).toBe(3);

    failing = false;
    await expect(count(`/tasks/${cate}/retry`)).resolves.toBe(3);
    await waitFor('the retried tasks delivered', async () => (await rows(cate)).length === 0);
    const retried = receiver.callsTo(`/${cate}`).slice(3);
    expect(
      new Map(
        retried.map((c) => [String((c.json as { key: unknown }).key), header(c, 'x-delivery-id')]),
      ),
    ).toStrictEqual(failedIds);
  });

  it('deletes a running task: its delivery finishes, and nothing is retried or delivered after', async () => {
    const cate = uniqueName('delete-running');
    await register(cate); // 3 attempts: a failed answer would be retried
    receiver.reply = (call) =>
      call.path === `/${cate}` ? { status: 500, delayMs: 800 } : { status: 200, body: 'OK' };
    await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
    await receiver.waitForCalls(receiver.calls.length + 1);
    await expect(rows(cate).then((r) => r.map((row) => row.state))).resolves.toStrictEqual([
      'running',
    ]);

    await expect(count(`/tasks/${cate}/delete`, { state: 'running' })).resolves.toBe(1);
    await expect(rows(cate)).resolves.toStrictEqual([]);
    // The delivery is answered (500) after 800 ms; a retry would come 100-200 ms later.
    await sleep(1500);
    expect(receiver.callsTo(`/${cate}`)).toHaveLength(1);
    await expect(rows(cate)).resolves.toStrictEqual([]);
    const attempts = await http().get(`/task/${cate}/1/attempts`);
    expect(
      (attempts.body as { result: { items: Array<{ outcome: string }> } }).result.items.map(
        (a) => a.outcome,
      ),
    ).toStrictEqual(['http_5xx']);
  });
});
