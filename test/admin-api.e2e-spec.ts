import { randomBytes } from 'node:crypto';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { DueNotifier } from '../src/modules/tasks/due-notifier';
import { useTestApp } from './support/fixtures';

const MAX_KEY = '18446744073709551615';
const KEY_RULE = /^key must be an integer from 1 to 18446744073709551615$/;
const CATE_RULE = /^cate must be 1 to 128 characters from A-Z a-z 0-9 \. _ : -$/;
const LIMIT_RULE = /^limit must be an integer from 1 to 1000$/;
const CURSOR_RULE = /^cursor must be a nextCursor value from a previous page$/;
const SECRET_RULE =
  /^secret must be "whsec_" followed by the base64 of 24 to 64 random bytes, or null to remove the secrets$/;
const BATCH_RULE = /^tasks must be an array of 1 to 1000 tasks$/;
const NOT_FOUND = '{"code":404,"msg":"not found"}';
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Unix seconds `offset` seconds from now (an hour ahead by default). */
function unixIn(offset = 3600): number {
  return Math.floor(Date.now() / 1000) + offset;
}

function newSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

describe('admin API', () => {
  const fixture = useTestApp({ dispatchEnabled: false, maxParamsBytes: 1024 });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const http = () => request(fixture.app.getHttpServer());
  const sendJson = (method: 'post' | 'delete', path: string, body: string) =>
    http()[method](path).set('Content-Type', 'application/json').send(body);
  const register = (cate: string, body: object | string) =>
    sendJson('post', `/handler/${cate}`, typeof body === 'string' ? body : JSON.stringify(body));
  const postBatch = (cate: string, body: string) => sendJson('post', `/tasks/${cate}`, body);

  /** A checksum of every row of every table the API writes. */
  async function tableState(): Promise<string> {
    const [row] = await fixture.db.query<{ digest: string }>(
      `SELECT md5(
         coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM tasks t), '') ||
         coalesce((SELECT string_agg(h::text, '|' ORDER BY h.cate) FROM handlers h), '') ||
         coalesce((SELECT string_agg(a::text, '|' ORDER BY a.id) FROM task_attempts a), '')
       ) AS digest`,
    );
    return row.digest;
  }

  /** Runs the request, checks the 4xx envelope, and that nothing was written. */
  async function expectRejected(
    send: () => PromiseLike<Response>,
    status: number,
    msg: RegExp,
  ): Promise<void> {
    const before = await tableState();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ code: status, msg: expect.stringMatching(msg) });
    expect(await tableState()).toBe(before);
  }

  async function handlerRow(cate: string) {
    const [row] = await fixture.db.query<{
      url: string;
      max_attempts: number | null;
      timeout_ms: number | null;
      concurrency: number | null;
      secrets: string[];
    }>(`SELECT url, max_attempts, timeout_ms, concurrency, secrets FROM handlers WHERE cate = $1`, [
      cate,
    ]);
    return row;
  }

  async function taskRow(cate: string, key: string) {
    const [row] = await fixture.db.query<{
      state: string;
      attempts: number;
      version: number;
      delivery_id: string;
      last_error: string | null;
      due_in_ms: number;
      params: string;
      handler: string | null;
    }>(
      `SELECT state, attempts, version, delivery_id::text AS delivery_id, last_error,
         (extract(epoch FROM run_at - now()) * 1000)::float8 AS due_in_ms,
         params::text AS params, handler
       FROM tasks WHERE cate = $1 AND key = $2::numeric AND NOT in_advance`,
      [cate, key],
    );
    return row;
  }

  describe('POST /handler/:cate settings', () => {
    it('stores maxAttempts, timeoutMs, concurrency and a secret, and GET shows them masked', async () => {
      const secret = newSecret();
      const res = await register('settings', {
        handler: 'http://cb.example/s',
        maxAttempts: 5,
        timeoutMs: 250,
        concurrency: 2,
        secret,
      });
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await handlerRow('settings')).toStrictEqual({
        url: 'http://cb.example/s',
        max_attempts: 5,
        timeout_ms: 250,
        concurrency: 2,
        secrets: [secret],
      });

      const get = await http().get('/handler/settings');
      expect(get.body).toStrictEqual({
        code: 200,
        msg: 'OK',
        result: {
          cate: 'settings',
          handler: 'http://cb.example/s',
          maxAttempts: 5,
          timeoutMs: 250,
          concurrency: 2,
          secrets: [{ prefix: `${secret.slice(0, 10)}…` }],
          paused: false,
          circuitBreaker: { failureThreshold: 20, cooldownMs: 30_000 },
          circuit: { state: 'closed', openedAt: null, consecutiveFailures: 0, nextProbeAt: null },
          rateLimit: null,
          eventsHandler: null,
          createdAt: expect.stringMatching(ISO_TIME),
          updatedAt: expect.stringMatching(ISO_TIME),
        },
      });
      expect(get.text).not.toContain(secret.slice(10, 20));
    });

    it('keeps settings that a later POST omits and replaces the handler URL', async () => {
      const secret = newSecret();
      await register('keep', { handler: 'http://one.example/', maxAttempts: 7, secret });
      await register('keep', { handler: 'http://two.example/', timeoutMs: 1000 });
      expect(await handlerRow('keep')).toStrictEqual({
        url: 'http://two.example/',
        max_attempts: 7,
        timeout_ms: 1000,
        concurrency: null,
        secrets: [secret],
      });
    });

    it('resets a setting given as null to the service default', async () => {
      await register('reset', {
        handler: 'http://cb.example/',
        maxAttempts: 7,
        timeoutMs: 1000,
        concurrency: 3,
        secret: newSecret(),
      });
      const res = await register('reset', {
        handler: 'http://cb.example/',
        maxAttempts: null,
        timeoutMs: null,
        concurrency: null,
        secret: null,
      });
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await handlerRow('reset')).toStrictEqual({
        url: 'http://cb.example/',
        max_attempts: null,
        timeout_ms: null,
        concurrency: null,
        secrets: [],
      });
      const get = await http().get('/handler/reset');
      expect(get.body.result).toMatchObject({
        maxAttempts: null,
        timeoutMs: null,
        concurrency: null,
        secrets: [],
      });
    });

    it('rotates secrets: a new one signs beside the previous, a third drops the oldest', async () => {
      const [first, second, third] = [newSecret(), newSecret(24), newSecret(64)];
      await register('rotate', { handler: 'http://cb.example/', secret: first });
      await register('rotate', { handler: 'http://cb.example/', secret: second });
      expect((await handlerRow('rotate')).secrets).toStrictEqual([second, first]);
      await register('rotate', { handler: 'http://cb.example/', secret: second });
      expect((await handlerRow('rotate')).secrets).toStrictEqual([second, first]);
      await register('rotate', { handler: 'http://cb.example/', secret: third });
      expect((await handlerRow('rotate')).secrets).toStrictEqual([third, second]);
      const get = await http().get('/handler/rotate');
      expect(get.body.result.secrets).toStrictEqual([
        { prefix: `${third.slice(0, 10)}…` },
        { prefix: `${second.slice(0, 10)}…` },
      ]);
    });

    it.each([
      ['maxAttempts 0', '{"maxAttempts":0}', /^maxAttempts must be an integer from 1 to 100/],
      ['maxAttempts 101', '{"maxAttempts":101}', /^maxAttempts must be an integer from 1 to 100/],
      ['maxAttempts 1.5', '{"maxAttempts":1.5}', /^maxAttempts must be an integer from 1 to 100/],
      ['maxAttempts "3"', '{"maxAttempts":"3"}', /^maxAttempts must be an integer from 1 to 100/],
      ['timeoutMs 99', '{"timeoutMs":99}', /^timeoutMs must be an integer from 100 to 600000/],
      [
        'timeoutMs 600001',
        '{"timeoutMs":600001}',
        /^timeoutMs must be an integer from 100 to 600000/,
      ],
      ['concurrency 0', '{"concurrency":0}', /^concurrency must be an integer from 1 to 10000/],
      [
        'concurrency 10001',
        '{"concurrency":10001}',
        /^concurrency must be an integer from 1 to 10000, or null for no cap$/,
      ],
      [
        'a huge concurrency',
        '{"concurrency":99999999999999999999}',
        /^concurrency must be an integer/,
      ],
      [
        'a secret without the prefix',
        `{"secret":"${randomBytes(32).toString('base64')}"}`,
        SECRET_RULE,
      ],
      ['a secret of 23 bytes', `{"secret":"${newSecret(23)}"}`, SECRET_RULE],
      ['a secret of 65 bytes', `{"secret":"${newSecret(65)}"}`, SECRET_RULE],
      [
        'a secret that is not base64',
        '{"secret":"whsec_not base64 at all!!!!!!!!!!!!!!"}',
        SECRET_RULE,
      ],
      ['a secret that is a number', '{"secret":42}', SECRET_RULE],
    ])('rejects %s with 400 and writes nothing', async (_name, settings, msg) => {
      await register('badsettings', { handler: 'http://cb.example/old' });
      const body = `{"handler":"http://cb.example/new",${settings.slice(1)}`;
      await expectRejected(() => register('badsettings', body), 400, msg);
    });

    it('names every broken rule in one message', async () => {
      await expectRejected(
        () => register('manybad', '{"handler":"ftp://x","maxAttempts":0,"timeoutMs":1}'),
        400,
        /^handler must be .*; maxAttempts must be .*; timeoutMs must be /,
      );
    });
  });

  describe('GET /handlers', () => {
    beforeAll(async () => {
      for (const n of [3, 1, 5, 2, 4]) {
        await register(`list.h${n}`, { handler: `http://cb.example/${n}`, concurrency: n });
      }
    });

    it('lists categories in name order with their settings', async () => {
      const res = await http().get('/handlers?limit=1000');
      expect(res.status).toBe(200);
      const items = res.body.result.items as Array<{ cate: string }>;
      const cates = items.map((item) => item.cate);
      expect(cates).toStrictEqual([...cates].sort());
      expect(items.find((item) => item.cate === 'list.h3')).toStrictEqual({
        cate: 'list.h3',
        handler: 'http://cb.example/3',
        maxAttempts: null,
        timeoutMs: null,
        concurrency: 3,
        secrets: [],
        paused: false,
        circuitBreaker: { failureThreshold: 20, cooldownMs: 30_000 },
        circuit: { state: 'closed', openedAt: null, consecutiveFailures: 0, nextProbeAt: null },
        rateLimit: null,
        eventsHandler: null,
        createdAt: expect.stringMatching(ISO_TIME),
        updatedAt: expect.stringMatching(ISO_TIME),
      });
      expect(res.body.result.nextCursor).toBeNull();
    });

    it('pages through every category with the cursor', async () => {
      const all = (await http().get('/handlers?limit=1000')).body.result.items as Array<{
        cate: string;
      }>;
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '' : `&cursor=${cursor}`;
        const res = await http().get(`/handlers?limit=2${query}`);
        expect(res.status).toBe(200);
        seen.push(...(res.body.result.items as Array<{ cate: string }>).map((item) => item.cate));
        cursor = res.body.result.nextCursor as string | null;
        pages++;
      } while (cursor !== null && pages < 100);
      expect(seen).toStrictEqual(all.map((item) => item.cate));
    });

    it.each([
      ['limit 0', 'limit=0', LIMIT_RULE],
      ['limit 1001', 'limit=1001', LIMIT_RULE],
      ['a cursor with bad characters', 'cursor=%21%21', CURSOR_RULE],
      [
        'a cursor of GET /tasks',
        `cursor=${Buffer.from('id:5').toString('base64url')}`,
        CURSOR_RULE,
      ],
      [
        'a cursor naming an invalid cate',
        `cursor=${Buffer.from('cate:a b').toString('base64url')}`,
        CURSOR_RULE,
      ],
    ])('rejects %s with 400', async (_name, query, msg) => {
      const res = await http().get(`/handlers?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
    });
  });

  describe('DELETE /handler/:cate', () => {
    it('removes the category, keeps its tasks, and answers deleted: true then false', async () => {
      await register('gone', { handler: 'http://cb.example/gone' });
      await sendJson('post', '/task/gone', `{"timestamp":${unixIn()},"key":1}`);
      const res = await http().delete('/handler/gone');
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: true } });
      expect(await handlerRow('gone')).toBeUndefined();
      expect((await http().get('/handler/gone')).text).toBe(NOT_FOUND);
      expect(await taskRow('gone', '1')).toMatchObject({ state: 'pending' });
      const task = await http().get('/task/gone/1');
      expect(task.body.result).toMatchObject({ state: 'pending', handler: null });

      const again = await http().delete('/handler/gone');
      expect(again.status).toBe(200);
      expect(again.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: false } });
    });

    it('answers deleted: false for a category never registered', async () => {
      const res = await http().delete('/handler/never');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: false } });
    });

    it('rejects an invalid cate with 400 and deletes nothing', async () => {
      await expectRejected(() => http().delete('/handler/a%20b'), 400, CATE_RULE);
    });
  });

  describe('POST /tasks/:cate (batch)', () => {
    it('creates every task in one request and answers the count', async () => {
      await register('batch', { handler: 'http://category.example/' });
      const timestamp = unixIn();
      const res = await postBatch(
        'batch',
        `{"tasks":[` +
          `{"timestamp":${timestamp},"key":1,"params":{"n":1}},` +
          `{"timestamp":${timestamp + 0.5},"key":${MAX_KEY},"params":{"big":123456789012345678901234567890}},` +
          `{"timestamp":${timestamp},"key":"3","handler":"https://own.example/cb"},` +
          `{"timestamp":${timestamp},"key":4,"handler":""}]}`,
      );
      expect(res.status).toBe(200);
      expect(res.text).toBe('{"code":200,"msg":"OK","result":{"count":4}}');

      const max = await http().get(`/task/batch/${MAX_KEY}`);
      expect(max.text).toContain(
        `"key":${MAX_KEY},"timeToRun":${timestamp + 0.5},"params":{"big":123456789012345678901234567890},`,
      );
      expect((await http().get('/task/batch/1')).body.result).toMatchObject({
        timeToRun: timestamp,
        params: { n: 1 },
        handler: 'http://category.example/',
        state: 'pending',
      });
      expect(await taskRow('batch', '3')).toMatchObject({ handler: 'https://own.example/cb' });
      expect(await taskRow('batch', '4')).toMatchObject({ handler: null, params: 'null' });
    });

    it('stores params exactly through the batch, quotes, backslashes and braces included', async () => {
      const params = [
        '{"q":"say \\"hi\\"","b":"C:\\\\dir","brace":"{,}","u":"ü€😀","nul":null}',
        '["tab\\there\\nnewline",1e-400,{"":[]}]',
        '"{\\"not\\":\\"an object\\"}"',
      ];
      const items = params.map((p, i) => `{"timestamp":${unixIn()},"key":${i + 1},"params":${p}}`);
      const res = await postBatch('escapes', `{"tasks":[${items.join(',')}]}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 3 } });
      for (const [i, p] of params.entries()) {
        expect((await taskRow('escapes', String(i + 1))).params).toBe(p);
        expect((await http().get(`/task/escapes/${i + 1}`)).text).toContain(`"params":${p},`);
      }
    });

    it('updates existing tasks as POST /task does: new time, new occurrence, attempts reset', async () => {
      await sendJson('post', '/task/batchupd', `{"timestamp":${unixIn()},"key":1,"params":"old"}`);
      await fixture.db.query(
        `UPDATE tasks SET state = 'failed', attempts = 3, last_error = 'HTTP 500'
         WHERE cate = 'batchupd'`,
      );
      const before = await taskRow('batchupd', '1');
      const later = unixIn(7200);
      const res = await postBatch(
        'batchupd',
        `{"tasks":[{"timestamp":${later},"key":1,"params":"new"},{"timestamp":${later},"key":2}]}`,
      );
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 2 } });
      const after = await taskRow('batchupd', '1');
      expect(after).toMatchObject({
        state: 'pending',
        attempts: 0,
        last_error: null,
        params: '"new"',
        version: before.version + 1,
      });
      expect(after.delivery_id).not.toBe(before.delivery_id);
      expect(after.due_in_ms).toBeGreaterThan(7_000_000);
    });

    it('writes the whole batch in one database round trip and wakes dispatchers once', async () => {
      const dataSource = fixture.app.get(DataSource);
      const query = jest.spyOn(dataSource, 'query');
      const notify = jest.spyOn(fixture.app.get(DueNotifier), 'taskScheduled');
      const items = Array.from(
        { length: 500 },
        (_, i) => `{"timestamp":${unixIn(60 + (i % 7))},"key":${i + 1}}`,
      );
      const res = await postBatch('roundtrip', `{"tasks":[${items.join(',')}]}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 500 } });
      expect(query).toHaveBeenCalledTimes(1);
      expect(notify).toHaveBeenCalledTimes(1);
      const [dueInMs] = notify.mock.calls[0];
      expect(dueInMs).toBeGreaterThan(55_000);
      expect(dueInMs).toBeLessThanOrEqual(61_000);
      const [{ n }] = await fixture.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasks WHERE cate = 'roundtrip'`,
      );
      expect(n).toBe(500);
    });

    it('accepts the largest batch, 1000 tasks', async () => {
      const items = Array.from(
        { length: 1000 },
        (_, i) => `{"timestamp":${unixIn()},"key":${i + 1}}`,
      );
      const res = await postBatch('thousand', `{"tasks":[${items.join(',')}]}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 1000 } });
    });

    describe('all or nothing', () => {
      const ok = (key: number | string) => `{"timestamp":${unixIn()},"key":${key}}`;

      beforeAll(async () => {
        await postBatch('atomic', `{"tasks":[${ok(1)}]}`);
      });

      it.each([
        [
          'a bad key',
          `[${ok(1)},${ok(2)},${ok(3)},${ok(0)}]`,
          /^tasks\[3\]\.key must be an integer from 1 to 18446744073709551615$/,
        ],
        ['a missing timestamp', `[{"key":9},${ok(2)}]`, /^tasks\[0\]\.timestamp is required$/],
        [
          'a bad timestamp',
          `[${ok(2)},{"timestamp":"soon","key":3}]`,
          /^tasks\[1\]\.timestamp must be Unix seconds/,
        ],
        [
          'a bad handler',
          `[${ok(2)},{"timestamp":${unixIn()},"key":3,"handler":"ftp://x"}]`,
          /^tasks\[1\]\.handler must be an absolute http:\/\/ or https:\/\/ URL$/,
        ],
        [
          'an item that is not an object',
          `[${ok(2)},${ok(3)},7]`,
          /^tasks\[2\] must be an object$/,
        ],
        ['an item that is null', `[null,${ok(3)}]`, /^tasks\[0\] must be an object$/],
        [
          'two bad items',
          `[{"key":0,"timestamp":1},${ok(2)},{"key":-1,"timestamp":1}]`,
          /^tasks\[0\]\.key must be .*; tasks\[2\]\.key must be /,
        ],
        ['an empty list', '[]', BATCH_RULE],
        [
          'a list of 1001',
          `[${Array.from({ length: 1001 }, (_, i) => ok(i + 1)).join(',')}]`,
          BATCH_RULE,
        ],
        ['an object', `{"0":${ok(2)}}`, BATCH_RULE],
        [
          'a repeated key',
          `[${ok(7)},${ok(8)},${ok('"007"')}]`,
          /^tasks\[2\]\.key 7 repeats tasks\[0\]\.key; keys in a batch must be distinct$/,
        ],
        [
          'a handler whose address is refused',
          `[${ok(2)},{"timestamp":${unixIn()},"key":3,"handler":"http://169.254.169.254/"}]`,
          /^tasks\[1\]\.handler address 169\.254\.169\.254 is refused/,
        ],
      ])('rejects %s with 400 naming the item, and writes nothing', async (_name, list, msg) => {
        await expectRejected(() => postBatch('atomic', `{"tasks":${list}}`), 400, msg);
      });

      it('rejects a batch without tasks with 400', async () => {
        await expectRejected(() => postBatch('atomic', '{}'), 400, BATCH_RULE);
        await expectRejected(() => postBatch('atomic', ''), 400, BATCH_RULE);
      });

      it('rejects the whole batch, updates included, when one item is over 60 s in the past', async () => {
        const past = unixIn(-120);
        await expectRejected(
          () =>
            postBatch(
              'atomic',
              `{"tasks":[{"timestamp":${unixIn(9000)},"key":1},${ok(2)},${ok(3)},${ok(4)},` +
                `{"timestamp":${past},"key":5}]}`,
            ),
          400,
          new RegExp(`^tasks\\[4\\]\\.timestamp ${past} is more than 60 seconds in the past$`),
        );
      });

      it('accepts an item less than 60 s in the past as due now', async () => {
        const res = await postBatch(
          'recentbatch',
          `{"tasks":[{"timestamp":${unixIn(-30)},"key":1}]}`,
        );
        expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { count: 1 } });
        expect((await taskRow('recentbatch', '1')).due_in_ms).toBeLessThan(0);
      });

      it('rejects params over MAX_PARAMS_BYTES with 413 naming the item', async () => {
        const params = `"${'x'.repeat(1100)}"`;
        await expectRejected(
          () =>
            postBatch(
              'atomic',
              `{"tasks":[${ok(2)},{"timestamp":${unixIn()},"key":3,"params":${params}}]}`,
            ),
          413,
          /^tasks\[1\]\.params is 1102 bytes, more than the limit of 1024 bytes$/,
        );
      });

      it('rejects an invalid cate and malformed JSON with 400', async () => {
        await expectRejected(() => postBatch('a%20b', `{"tasks":[${ok(1)}]}`), 400, CATE_RULE);
        await expectRejected(
          () => postBatch('atomic', '{"tasks":['),
          400,
          /^request body is not valid JSON: /,
        );
      });
    });
  });

  describe('POST /task/:cate/:key/retry', () => {
    async function failedTask(cate: string, key: number): Promise<void> {
      await sendJson('post', `/task/${cate}`, `{"timestamp":${unixIn()},"key":${key}}`);
      await fixture.db.query(
        `UPDATE tasks SET state = 'failed', attempts = 3, last_error = 'HTTP 503: busy'
         WHERE cate = $1 AND key = $2`,
        [cate, key],
      );
    }

    it('re-queues a failed task now, attempts from zero, with the same delivery id', async () => {
      await failedTask('retry', 1);
      const before = await taskRow('retry', '1');
      const res = await http().post('/task/retry/1/retry');
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      const after = await taskRow('retry', '1');
      expect(after).toMatchObject({
        state: 'pending',
        attempts: 0,
        delivery_id: before.delivery_id,
        version: before.version + 1,
        last_error: 'HTTP 503: busy',
      });
      expect(after.due_in_ms).toBeLessThanOrEqual(0);
      expect((await http().get('/tasks?cate=retry&state=failed')).body.result.items).toStrictEqual(
        [],
      );
    });

    it.each(['pending', 'running'])(
      'answers 409 for a %s task and changes nothing',
      async (state) => {
        await sendJson('post', `/task/retry-${state}`, `{"timestamp":${unixIn()},"key":1}`);
        if (state === 'running') {
          await fixture.db.query(
            `UPDATE tasks SET state = 'running', attempts = 1, lease_owner = 'w',
             lease_expires_at = now() + interval '1 minute' WHERE cate = $1`,
            [`retry-${state}`],
          );
        }
        await expectRejected(
          () => http().post(`/task/retry-${state}/1/retry`),
          409,
          new RegExp(`^only a failed task can be retried; this one is ${state}$`),
        );
      },
    );

    it('answers 404 for a missing task', async () => {
      const res = await http().post('/task/retry/999/retry');
      expect(res.status).toBe(404);
      expect(res.text).toBe(NOT_FOUND);
    });

    it.each([
      ['key 0', '/task/retry/0/retry', KEY_RULE],
      ['a key of 2^64', '/task/retry/18446744073709551616/retry', KEY_RULE],
      ['an invalid cate', '/task/a%20b/1/retry', CATE_RULE],
    ])('rejects %s with 400', async (_name, path, msg) => {
      await expectRejected(() => http().post(path), 400, msg);
    });
  });

  describe('GET /task/:cate/:key/attempts', () => {
    const longError = `HTTP 500: ${'e'.repeat(700)}`;

    beforeAll(async () => {
      // Two occurrences of (hist, 1): three failed attempts, then a retry that succeeded. The
      // task itself is gone (delivered); only its history remains.
      await fixture.db.query(
        `INSERT INTO task_attempts (task_id, cate, key, delivery_id, attempt, started_at,
           duration_ms, status_code, outcome, error)
         VALUES
           (10, 'hist', 1, '00000000-0000-4000-8000-000000000001', 1, now() - interval '5 min', 12, 500, 'http_5xx', $1),
           (10, 'hist', 1, '00000000-0000-4000-8000-000000000001', 2, now() - interval '4 min', 5001, NULL, 'timeout', 'timeout: no response within 5000 ms'),
           (10, 'hist', 1, '00000000-0000-4000-8000-000000000001', 3, now() - interval '3 min', 3, NULL, 'connection_error', 'connection error: ECONNREFUSED'),
           (10, 'hist', 1, '00000000-0000-4000-8000-000000000001', 1, now() - interval '1 min', 8, 204, 'success', NULL),
           (11, 'hist', 2, '00000000-0000-4000-8000-000000000002', 1, now(), 8, 200, 'success', NULL)`,
        [longError],
      );
    });

    it('lists the attempts newest first, after the task was delivered and deleted', async () => {
      const res = await http().get('/task/hist/1/attempts');
      expect(res.status).toBe(200);
      const items = res.body.result.items as Array<Record<string, unknown>>;
      expect(items.map((item) => [item.attempt, item.outcome])).toStrictEqual([
        [1, 'success'],
        [3, 'connection_error'],
        [2, 'timeout'],
        [1, 'http_5xx'],
      ]);
      expect(items[0]).toStrictEqual({
        startedAt: expect.stringMatching(ISO_TIME),
        attempt: 1,
        deliveryId: '00000000-0000-4000-8000-000000000001',
        statusCode: 204,
        outcome: 'success',
        durationMs: 8,
        error: null,
      });
      expect(items[2]).toMatchObject({ statusCode: null, durationMs: 5001 });
      expect(items[3].error).toBe(longError.slice(0, 500));
      expect(res.body.result.nextCursor).toBeNull();
    });

    it('pages with limit and cursor', async () => {
      const first = await http().get('/task/hist/1/attempts?limit=3');
      expect(first.body.result.items).toHaveLength(3);
      const cursor = first.body.result.nextCursor as string;
      const second = await http().get(`/task/hist/1/attempts?limit=3&cursor=${cursor}`);
      expect(second.body.result).toStrictEqual({
        items: [expect.objectContaining({ attempt: 1, outcome: 'http_5xx' })],
        nextCursor: null,
      });
    });

    it('answers an empty list for a key without history', async () => {
      const res = await http().get(`/task/hist/${MAX_KEY}/attempts`);
      expect(res.body).toStrictEqual({
        code: 200,
        msg: 'OK',
        result: { items: [], nextCursor: null },
      });
    });

    it.each([
      ['key 0', '/task/hist/0/attempts', KEY_RULE],
      ['an invalid cate', '/task/a%20b/1/attempts', CATE_RULE],
      ['limit 0', '/task/hist/1/attempts?limit=0', LIMIT_RULE],
      [
        'a cursor of GET /tasks',
        `/task/hist/1/attempts?cursor=${Buffer.from('id:5').toString('base64url')}`,
        CURSOR_RULE,
      ],
    ])('rejects %s with 400', async (_name, path, msg) => {
      const res = await http().get(path);
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
    });
  });
});
