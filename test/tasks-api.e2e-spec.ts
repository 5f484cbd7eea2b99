import { INestApplication } from '@nestjs/common';
import { ClientRequest } from 'node:http';
import request, { Response } from 'supertest';
import { useTestApp } from './support/fixtures';

const MAX_KEY = '18446744073709551615';
const KEY_RULE = /^key must be an integer from 1 to 18446744073709551615$/;
const TIMESTAMP_RULE = /^timestamp must be Unix seconds from 0 to 253402300799$/;
const HANDLER_RULE = /^handler must be an absolute http:\/\/ or https:\/\/ URL$/;
const CATE_RULE = /^cate must be 1 to 128 characters from A-Z a-z 0-9 \. _ : -$/;
const NOT_FOUND = '{"code":404,"msg":"not found"}';

/** Unix seconds `offset` seconds from now (an hour ahead by default). */
function unixIn(offset = 3600): number {
  return Math.floor(Date.now() / 1000) + offset;
}

describe('tasks API', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  const http = () => request(fixture.app.getHttpServer());

  /** Sends raw JSON text, so that big integers reach the server exactly as written. */
  function sendJson(method: 'post' | 'delete', path: string, body: string) {
    const req = method === 'post' ? http().post(path) : http().delete(path);
    return req.set('Content-Type', 'application/json').send(body);
  }

  const postTask = (cate: string, body: string) => sendJson('post', `/task/${cate}`, body);
  const deleteTask = (cate: string, body: string) => sendJson('delete', `/task/${cate}`, body);

  async function createTask(cate: string, key: string, extra = ''): Promise<number> {
    const timestamp = unixIn();
    const res = await postTask(cate, `{"timestamp":${timestamp},"key":${key}${extra}}`);
    expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
    return timestamp;
  }

  /** Row count and a checksum of every row of both tables. */
  async function tableState(): Promise<{ tasks: number; handlers: number; digest: string }> {
    const [row] = await fixture.db.query<{ tasks: number; handlers: number; digest: string }>(
      `SELECT (SELECT count(*) FROM tasks)::int AS tasks,
              (SELECT count(*) FROM handlers)::int AS handlers,
              md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM tasks t), '') ||
                  coalesce((SELECT string_agg(h::text, '|' ORDER BY h.cate) FROM handlers h), ''))
                AS digest`,
    );
    return row;
  }

  /** Runs the request, checks the 4xx envelope, and that no row was added or changed. */
  async function expectRejected(
    send: () => PromiseLike<Response>,
    status: number,
    msg: RegExp,
  ): Promise<Response> {
    const before = await tableState();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ code: status, msg: expect.stringMatching(msg) });
    expect(await tableState()).toStrictEqual(before);
    return res;
  }

  async function rowsOf(cate: string) {
    return fixture.db.query<{
      key: string;
      in_advance: boolean;
      state: string;
      handler: string | null;
    }>(
      `SELECT key::text AS key, in_advance, state, handler FROM tasks WHERE cate = $1 ORDER BY id`,
      [cate],
    );
  }

  describe('POST /task/:cate', () => {
    it('creates a task that GET returns with its time, params and handler', async () => {
      const timestamp = unixIn();
      const post = await postTask(
        'create',
        `{"timestamp":${timestamp},"key":1,"params":{"a":1},"handler":"http://cb.example/x"}`,
      );
      expect(post.status).toBe(200);
      expect(post.headers['content-type']).toMatch(/^application\/json/);
      expect(post.text).toBe('{"code":200,"msg":"OK"}');

      const get = await http().get('/task/create/1');
      expect(get.status).toBe(200);
      expect(get.headers['content-type']).toMatch(/^application\/json/);
      expect(get.body).toMatchObject({
        code: 200,
        msg: 'OK',
        result: {
          cate: 'create',
          key: 1,
          timeToRun: timestamp,
          params: { a: 1 },
          handler: 'http://cb.example/x',
          state: 'pending',
          attempts: 0,
          lastError: null,
        },
      });
    });

    it('replaces time, params and handler of an existing key and keeps one row', async () => {
      await createTask('upsert', '5', ',"params":{"v":1},"handler":"http://old.example/cb"');
      const later = unixIn(7200);
      const res = await postTask(
        'upsert',
        `{"timestamp":${later},"key":5,"params":{"v":2},"handler":"https://new.example/cb"}`,
      );
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });

      const get = await http().get('/task/upsert/5');
      expect(get.body.result).toMatchObject({
        timeToRun: later,
        params: { v: 2 },
        handler: 'https://new.example/cb',
      });
      const rows = await fixture.db.query<{ due: number; params: string; handler: string }>(
        `SELECT extract(epoch FROM due_at)::float8 AS due, params::text AS params, handler
         FROM tasks WHERE cate = 'upsert' AND key = 5`,
      );
      expect(rows).toStrictEqual([
        { due: later, params: '{"v":2}', handler: 'https://new.example/cb' },
      ]);
    });

    it('accepts a decimal-string key and stores it as that integer', async () => {
      await createTask('strkey', '"42"');
      expect(await rowsOf('strkey')).toMatchObject([{ key: '42' }]);
      const get = await http().get('/task/strkey/42');
      expect(get.text).toContain('"key":42,');
    });

    it('accepts a timestamp less than 60 seconds in the past as due now', async () => {
      const res = await postTask('recent', `{"timestamp":${unixIn(-30)},"key":1}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await rowsOf('recent')).toHaveLength(1);
    });

    it('keeps the fraction of a fractional timestamp', async () => {
      const timestamp = unixIn() + 0.25;
      await postTask('fraction', `{"timestamp":${timestamp},"key":1}`);
      const get = await http().get('/task/fraction/1');
      expect(get.text).toContain(`"timeToRun":${timestamp},`);
    });

    it('accepts the latest timestamp PostgreSQL can hold, 9999-12-31T23:59:59Z', async () => {
      await postTask('far', '{"timestamp":253402300799,"key":1}');
      const get = await http().get('/task/far/1');
      expect(get.text).toContain('"timeToRun":253402300799,');
    });

    it('treats an empty handler as "use the category handler"', async () => {
      await http().post('/handler/emptyh').send({ handler: 'http://category.example/cb' });
      await createTask('emptyh', '1', ',"handler":""');
      expect(await rowsOf('emptyh')).toMatchObject([{ handler: null }]);
      const get = await http().get('/task/emptyh/1');
      expect(get.body.result.handler).toBe('http://category.example/cb');
    });

    it('ignores unknown body fields', async () => {
      await createTask('extra', '1', ',"color":"red"');
      expect(await rowsOf('extra')).toHaveLength(1);
    });

    it('parses the body whatever its content type, as the original did', async () => {
      const body = `{"timestamp":${unixIn()},"key":1}`;
      const asText = await http().post('/task/ctype').set('Content-Type', 'text/plain').send(body);
      expect(asText.body).toStrictEqual({ code: 200, msg: 'OK' });
      const bare = await http()
        .post('/task/ctype')
        .send(Buffer.from(body.replace('1}', '2}')));
      const sent = (bare as unknown as { req: ClientRequest }).req;
      expect(sent.getHeader('content-type')).toBeUndefined();
      expect(bare.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await rowsOf('ctype')).toMatchObject([{ key: '1' }, { key: '2' }]);
    });
  });

  describe('POST /task/:cate validation', () => {
    const valid = (fields: string) => `{"timestamp":${unixIn()},${fields}}`;

    it.each([
      ['0', '0'],
      ['negative', '-1'],
      ['a fraction', '1.5'],
      ['2^64', '18446744073709551616'],
      ['a non-numeric string', '"abc"'],
      ['a negative string', '"-5"'],
      ['a fractional string', '"1.5"'],
      ['a boolean', 'true'],
      ['null', 'null'],
    ])('rejects key %s with 400 and writes nothing', async (_name, key) => {
      const msg = key === 'null' ? /^key is required$/ : KEY_RULE;
      await expectRejected(() => postTask('badkey', valid(`"key":${key}`)), 400, msg);
    });

    it('rejects a missing key with 400 and writes nothing', async () => {
      await expectRejected(
        () => postTask('badkey', `{"timestamp":${unixIn()}}`),
        400,
        /^key is required$/,
      );
    });

    it('rejects a missing timestamp with 400 and writes nothing', async () => {
      await expectRejected(() => postTask('badts', '{"key":1}'), 400, /^timestamp is required$/);
    });

    it.each([
      ['a word', '"soon"'],
      ['a boolean', 'true'],
      ['an object', '{}'],
      ['an array', '[1]'],
      ['negative', '-5'],
      ['after 9999-12-31', '253402300800'],
    ])('rejects timestamp %s with 400 and writes nothing', async (_name, timestamp) => {
      await expectRejected(
        () => postTask('badts', `{"timestamp":${timestamp},"key":1}`),
        400,
        TIMESTAMP_RULE,
      );
    });

    it('rejects a timestamp more than 60 seconds in the past with 400 and writes nothing', async () => {
      const past = unixIn(-120);
      await expectRejected(
        () => postTask('badts', `{"timestamp":${past},"key":1}`),
        400,
        new RegExp(`^timestamp ${past} is more than 60 seconds in the past$`),
      );
    });

    it('rejects a past timestamp even when the key already exists, leaving the task as it was', async () => {
      await createTask('pastupd', '1');
      await expectRejected(
        () => postTask('pastupd', `{"timestamp":${unixIn(-120)},"key":1}`),
        400,
        /more than 60 seconds in the past/,
      );
    });

    it.each([
      ['ftp', '"ftp://cb.example/x"'],
      ['relative', '"/callback"'],
      ['javascript', '"javascript:alert(1)"'],
      ['without host', '"http://"'],
      ['with a NUL', '"http://cb.example/a\\u0000b"'],
      ['with a space', '"http://cb.example/a b"'],
      ['a number', '80'],
    ])('rejects a handler URL %s with 400 and writes nothing', async (_name, handler) => {
      await expectRejected(
        () => postTask('badh', valid(`"key":1,"handler":${handler}`)),
        400,
        HANDLER_RULE,
      );
    });

    it.each([
      ['with a space', 'a%20b'],
      ['with a dollar sign', 'a$b'],
      ['with a non-ASCII letter', '%C3%A4'],
      ['of 129 characters', 'c'.repeat(129)],
    ])('rejects a cate %s with 400 and writes nothing', async (_name, cate) => {
      await expectRejected(() => postTask(cate, valid('"key":1')), 400, CATE_RULE);
    });

    it('accepts a cate of 128 characters from the whole allowed alphabet', async () => {
      const cate = `Az09._:-${'x'.repeat(120)}`;
      await createTask(cate, '1');
      expect(await rowsOf(cate)).toHaveLength(1);
    });

    it.each([
      ['truncated JSON', '{"key":', /^request body is not valid JSON: /],
      ['unquoted keys', '{key:1}', /^request body is not valid JSON: /],
      ['trailing garbage', '{"key":1} x', /^request body is not valid JSON: /],
      ['an array', '[{"key":1}]', /^request body must be a JSON object$/],
      ['a string', '"key"', /^request body must be a JSON object$/],
      ['a number', '42', /^request body must be a JSON object$/],
      ['null', 'null', /^request body must be a JSON object$/],
      ['empty', '', /^timestamp is required; key is required$/],
      ['only whitespace', ' \n ', /^timestamp is required; key is required$/],
      ['duplicate keys', '{"key":1,"key":2}', /^request body is not valid JSON: .*Duplicate key/],
    ])('rejects a body that is %s with 400 and writes nothing', async (_name, body, msg) => {
      await expectRejected(() => postTask('badbody', body), 400, msg);
    });

    it('rejects JSON nested deeper than 64 levels with 400 and writes nothing', async () => {
      const params = `${'['.repeat(64)}${']'.repeat(64)}`;
      await expectRejected(
        () => postTask('deep', valid(`"key":1,"params":${params}`)),
        400,
        /^request body is not valid JSON: JSON nesting is deeper than 64 levels$/,
      );
    });

    it('accepts params nested up to the 64-level limit', async () => {
      const params = `${'['.repeat(63)}${']'.repeat(63)}`;
      await createTask('deep', '2', `,"params":${params}`);
      const get = await http().get('/task/deep/2');
      expect(get.text).toContain(`"params":${params}`);
    });

    it('rejects a number too large for a double (1e400) in params with 400 and writes nothing', async () => {
      await expectRejected(
        () => postTask('huge', valid('"key":1,"params":{"n":1e400}')),
        400,
        /^request body is not valid JSON: number 1e400 is out of range$/,
      );
    });
  });

  describe('size limits', () => {
    let small: INestApplication;

    beforeAll(async () => {
      small = await fixture.startApp({
        dispatchEnabled: false,
        maxParamsBytes: 1024,
        bodyLimitBytes: 2048,
      });
    });

    const postSmall = (body: string) =>
      request(small.getHttpServer())
        .post('/task/sized')
        .set('Content-Type', 'application/json')
        .send(body);
    const withParams = (params: string) => `{"timestamp":${unixIn()},"key":1,"params":${params}}`;

    it('rejects params over MAX_PARAMS_BYTES with 413 and writes nothing', async () => {
      await expectRejected(
        () => postSmall(withParams(`"${'x'.repeat(1100)}"`)),
        413,
        /^params is 1102 bytes, more than the limit of 1024 bytes$/,
      );
    });

    it('accepts params of exactly MAX_PARAMS_BYTES', async () => {
      const res = await postSmall(withParams(`"${'x'.repeat(1022)}"`));
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
    });

    it('rejects a body over the body limit with a 413 envelope and writes nothing', async () => {
      await expectRejected(
        () => postSmall(withParams(`"${'x'.repeat(3000)}"`)),
        413,
        /^request body is larger than the limit of 2048 bytes$/,
      );
    });
  });

  describe('DELETE /task/:cate', () => {
    it('deletes an existing task and answers deleted: true', async () => {
      await createTask('del', '1');
      const res = await deleteTask('del', '{"key":1}');
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: true } });
      expect(await rowsOf('del')).toHaveLength(0);
      const get = await http().get('/task/del/1');
      expect(get.status).toBe(404);
    });

    it('answers 200 with deleted: false when deleting again (idempotent)', async () => {
      await createTask('del2', '1');
      await deleteTask('del2', '{"key":1}');
      const again = await deleteTask('del2', '{"key":1}');
      expect(again.status).toBe(200);
      expect(again.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: false } });
    });

    it('answers deleted: false for a key that never existed', async () => {
      const res = await deleteTask('del3', `{"key":${MAX_KEY}}`);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: false } });
    });

    it('leaves the task when the given timestamp does not match its due time', async () => {
      const timestamp = await createTask('delts', '1');
      const res = await deleteTask('delts', `{"key":1,"timestamp":${timestamp + 5}}`);
      expect(res.body.result).toStrictEqual({ deleted: false });
      expect(await rowsOf('delts')).toHaveLength(1);
    });

    it('deletes when the given timestamp matches the due time to the second', async () => {
      const timestamp = unixIn() + 0.75;
      await postTask('delts2', `{"timestamp":${timestamp},"key":1}`);
      const res = await deleteTask('delts2', `{"key":1,"timestamp":${Math.floor(timestamp)}}`);
      expect(res.body.result).toStrictEqual({ deleted: true });
      expect(await rowsOf('delts2')).toHaveLength(0);
    });

    it('with exec: true hands the task over at once, so GET answers 404 right after', async () => {
      await createTask('exec', '9', ',"params":{"old":true}');
      const res = await deleteTask('exec', '{"key":9,"exec":true}');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: true } });
      const get = await http().get('/task/exec/9');
      expect(get.status).toBe(404);
      expect(get.text).toBe(NOT_FOUND);
      const due = await fixture.db.query<{ due_now: boolean }>(
        `SELECT run_at <= now() AS due_now FROM tasks WHERE cate = 'exec' AND in_advance`,
      );
      expect(due).toStrictEqual([{ due_now: true }]);
    });

    it('after exec: true a new POST under the same key creates a separate pending task', async () => {
      await createTask('exec2', '9', ',"params":{"old":true}');
      await deleteTask('exec2', '{"key":9,"exec":true}');
      await createTask('exec2', '9', ',"params":{"new":true}');
      expect(await rowsOf('exec2')).toStrictEqual([
        { key: '9', in_advance: true, state: 'pending', handler: null },
        { key: '9', in_advance: false, state: 'pending', handler: null },
      ]);
      const get = await http().get('/task/exec2/9');
      expect(get.body.result).toMatchObject({ params: { new: true }, inAdvance: false });
    });

    it('with exec: true answers deleted: false for a missing task', async () => {
      const res = await deleteTask('exec3', '{"key":1,"exec":true}');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK', result: { deleted: false } });
      expect(await rowsOf('exec3')).toHaveLength(0);
    });

    it.each([
      ['an empty body', '', /^key is required$/],
      ['key 0', '{"key":0}', KEY_RULE],
      ['key 2^64', '{"key":18446744073709551616}', KEY_RULE],
      ['a non-boolean exec', '{"key":1,"exec":"yes"}', /^exec must be true or false$/],
      ['a non-numeric timestamp', '{"key":1,"timestamp":"abc"}', TIMESTAMP_RULE],
      ['an array body', '[{"key":1}]', /^request body must be a JSON object$/],
      ['malformed JSON', '{"key":1', /^request body is not valid JSON: /],
    ])('rejects %s with 400 and deletes nothing', async (_name, body, msg) => {
      await createTask('delbad', '1');
      await expectRejected(() => deleteTask('delbad', body), 400, msg);
    });

    it('rejects an invalid cate with 400', async () => {
      await expectRejected(() => deleteTask('a%20b', '{"key":1}'), 400, CATE_RULE);
    });
  });

  describe('GET /task/:cate/:key', () => {
    it('answers 404 {"code":404,"msg":"not found"} for a missing task', async () => {
      const res = await http().get('/task/nothing/1');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).toBe(NOT_FOUND);
    });

    it('finds the task when ?timestamp= matches its due time to the second', async () => {
      const timestamp = unixIn() + 0.5;
      await postTask('getts', `{"timestamp":${timestamp},"key":1}`);
      const res = await http().get(`/task/getts/1?timestamp=${Math.floor(timestamp)}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain(`"timeToRun":${timestamp},`);
    });

    it('answers 404 not found when ?timestamp= does not match', async () => {
      const timestamp = await createTask('getts2', '1');
      const res = await http().get(`/task/getts2/1?timestamp=${timestamp + 60}`);
      expect(res.status).toBe(404);
      expect(res.text).toBe(NOT_FOUND);
    });

    it("reports the task's own handler over the category's", async () => {
      await http().post('/handler/own').send({ handler: 'http://category.example/cb' });
      await createTask('own', '1', ',"handler":"http://task.example/cb"');
      const res = await http().get('/task/own/1');
      expect(res.body.result.handler).toBe('http://task.example/cb');
    });

    it("reports the category's current handler when the task has none", async () => {
      await http().post('/handler/follow').send({ handler: 'http://first.example/cb' });
      await createTask('follow', '1');
      const first = await http().get('/task/follow/1');
      expect(first.body.result.handler).toBe('http://first.example/cb');
      await http().post('/handler/follow').send({ handler: 'http://second.example/cb' });
      const second = await http().get('/task/follow/1');
      expect(second.body.result.handler).toBe('http://second.example/cb');
    });

    it('reports handler null when neither the task nor its category has one', async () => {
      await createTask('nohandler', '1');
      const res = await http().get('/task/nohandler/1');
      expect(res.body.result.handler).toBeNull();
    });

    it.each([
      ['key 0', '/task/c/0', KEY_RULE],
      ['a negative key', '/task/c/-1', KEY_RULE],
      ['a non-numeric key', '/task/c/abc', KEY_RULE],
      ['key 2^64', '/task/c/18446744073709551616', KEY_RULE],
      ['an invalid cate', `/task/${'c'.repeat(129)}/1`, CATE_RULE],
      ['a non-numeric timestamp', '/task/c/1?timestamp=abc', TIMESTAMP_RULE],
      ['a repeated timestamp', '/task/c/1?timestamp=1&timestamp=2', TIMESTAMP_RULE],
      ['a timestamp after 9999', '/task/c/1?timestamp=253402300800', TIMESTAMP_RULE],
    ])('rejects %s with 400', async (_name, path, msg) => {
      const res = await http().get(path);
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
    });
  });

  describe('GET /tasks', () => {
    interface Page {
      items: Array<{ cate: string; key: number; state: string }>;
      nextCursor: string | null;
    }

    beforeAll(async () => {
      await http().post('/handler/list').send({ handler: 'http://list.example/cb' });
      for (let key = 1; key <= 25; key++) {
        await createTask('list', String(key), `,"params":{"n":${key}}`);
      }
      await createTask('list2', '1');
      await fixture.db.query(
        `UPDATE tasks SET state = 'failed', attempts = 3, last_error = 'HTTP 500'
         WHERE cate = 'list' AND key = 3`,
      );
    });

    it('lists tasks with cate, key, timeToRun, params, handler, state, attempts and lastError', async () => {
      const res = await http().get('/tasks?cate=list&limit=1');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const [row] = await fixture.db.query<{ due: number }>(
        `SELECT extract(epoch FROM due_at)::float8 AS due FROM tasks WHERE cate = 'list' AND key = 1`,
      );
      expect(res.body).toMatchObject({ code: 200, msg: 'OK' });
      expect(res.body.result.items).toStrictEqual([
        expect.objectContaining({
          cate: 'list',
          key: 1,
          timeToRun: row.due,
          params: { n: 1 },
          handler: 'http://list.example/cb',
          state: 'pending',
          attempts: 0,
          lastError: null,
        }),
      ]);
      expect(typeof res.body.result.nextCursor).toBe('string');
    });

    it('filters by cate', async () => {
      const res = await http().get('/tasks?cate=list2');
      const page = res.body.result as Page;
      expect(page.items.map((item) => [item.cate, item.key])).toStrictEqual([['list2', 1]]);
      expect(page.nextCursor).toBeNull();
    });

    it('filters by state and shows the last error of a failed task', async () => {
      const res = await http().get('/tasks?state=failed');
      // Other tests of this file may leave failed tasks too: all of them and nothing else.
      const [{ failed }] = await fixture.db.query<{ failed: number }>(
        `SELECT count(*)::int AS failed FROM tasks WHERE state = 'failed'`,
      );
      const items = (res.body.result as Page).items;
      expect(items).toHaveLength(failed);
      expect(items.every((item) => item.state === 'failed')).toBe(true);
      expect(items).toContainEqual(
        expect.objectContaining({ cate: 'list', key: 3, state: 'failed', lastError: 'HTTP 500' }),
      );
    });

    it('combines the cate and state filters', async () => {
      const res = await http().get('/tasks?cate=list2&state=failed');
      expect(res.body.result).toStrictEqual({ items: [], nextCursor: null });
    });

    it('returns at most limit items', async () => {
      const res = await http().get('/tasks?cate=list&limit=10');
      expect(res.body.result.items).toHaveLength(10);
    });

    it('pages through every task with the cursor, without duplicates', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '' : `&cursor=${cursor}`;
        const res = await http().get(`/tasks?cate=list&limit=7${query}`);
        expect(res.status).toBe(200);
        const page = res.body.result as Page;
        expect(page.items.length).toBeLessThanOrEqual(7);
        seen.push(...page.items.map((item) => item.key));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toStrictEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it.each([
      ['limit 0', 'limit=0', /^limit must be an integer from 1 to 1000$/],
      ['limit 1001', 'limit=1001', /^limit must be an integer from 1 to 1000$/],
      ['a fractional limit', 'limit=1.5', /^limit must be an integer from 1 to 1000$/],
      ['a non-numeric limit', 'limit=ten', /^limit must be an integer from 1 to 1000$/],
      ['an unknown state', 'state=done', /^state must be one of pending, running, failed$/],
      ['an invalid cate', 'cate=a%20b', CATE_RULE],
      ['a cursor with bad characters', 'cursor=!!!', /^cursor must be a nextCursor value/],
      [
        'a cursor that is not from a page',
        `cursor=${Buffer.from('hello').toString('base64url')}`,
        /^cursor must be a nextCursor value/,
      ],
      [
        'a cursor beyond the id range',
        `cursor=${Buffer.from('id:9999999999999999999').toString('base64url')}`,
        /^cursor must be a nextCursor value/,
      ],
    ])('rejects %s with 400', async (_name, query, msg) => {
      const res = await http().get(`/tasks?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
    });
  });

  describe('precision', () => {
    it('stores the largest uint64 key exactly and returns it as a bare integer', async () => {
      await createTask('maxkey', MAX_KEY);
      expect(await rowsOf('maxkey')).toMatchObject([{ key: MAX_KEY }]);
      const get = await http().get(`/task/maxkey/${MAX_KEY}`);
      expect(get.status).toBe(200);
      expect(get.text).toContain(`"key":${MAX_KEY},`);
      const list = await http().get('/tasks?cate=maxkey');
      expect(list.text).toContain(`"key":${MAX_KEY},`);
    });

    it('deletes by the largest uint64 key', async () => {
      await createTask('maxkeydel', MAX_KEY);
      const res = await deleteTask('maxkeydel', `{"key":${MAX_KEY}}`);
      expect(res.body.result).toStrictEqual({ deleted: true });
    });

    it('round-trips integers beyond 2^53 in nested params exactly', async () => {
      const params =
        '{"big":123456789012345678901234567890,"neg":-9007199254740993,' +
        '"list":[1,[2,{"deep":[18446744073709551616,-1]}],"s"],"half":0.5,"t":true,"z":null}';
      await createTask('bigparams', '1', `,"params":${params}`);
      const stored = await fixture.db.query<{ params: string }>(
        `SELECT params::text AS params FROM tasks WHERE cate = 'bigparams'`,
      );
      expect(stored).toStrictEqual([{ params }]);
      const get = await http().get('/task/bigparams/1');
      expect(get.text).toContain(`"params":${params},`);
      const list = await http().get('/tasks?cate=bigparams');
      expect(list.text).toContain(`"params":${params},`);
    });

    it('keeps decimals with more digits than a double holds as written', async () => {
      const params = '[3.14159265358979323846,1e-400,0.1000000000000000000001]';
      await createTask('decimals', '1', `,"params":${params}`);
      const get = await http().get('/task/decimals/1');
      expect(get.text).toContain(`"params":${params},`);
    });

    it('keeps the key order of params objects', async () => {
      const params = '{"zeta":1,"alpha":{"y":2,"b":3},"mid":[{"q":1,"a":2}]}';
      await createTask('order', '1', `,"params":${params}`);
      const get = await http().get('/task/order/1');
      expect(get.text).toContain(`"params":${params},`);
    });

    it('stores scalar params and no params as JSON values', async () => {
      await createTask('scalar', '1', ',"params":"text"');
      await createTask('scalar', '2');
      const one = await http().get('/task/scalar/1');
      const two = await http().get('/task/scalar/2');
      expect(one.text).toContain('"params":"text",');
      expect(two.text).toContain('"params":null,');
    });
  });

  describe('other routes', () => {
    it('answers GET /health with plain OK', async () => {
      const res = await http().get('/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('OK');
    });

    it.each([
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['PUT', '/task/c'],
      ['GET', '/task/c'],
      ['GET', '/task/c/1/extra'],
    ])('answers an unknown route (%s %s) with a 404 envelope', async (method, path) => {
      const res = await http()[method.toLowerCase() as 'get' | 'post' | 'put'](path);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toStrictEqual({ code: 404, msg: expect.any(String) });
    });
  });

  describe('no input produces a 5xx', () => {
    it.each([
      [
        'a lone surrogate in params',
        'post',
        '/task/odd',
        '{"timestamp":T,"key":1,"params":"\\ud800"}',
      ],
      ['a NUL in params', 'post', '/task/odd', '{"timestamp":T,"key":2,"params":"a\\u0000b"}'],
      [
        'a NUL in a task handler',
        'post',
        '/task/odd',
        '{"timestamp":T,"key":3,"handler":"http://a/\\u0000"}',
      ],
      ['a badly escaped path', 'get', '/task/a%ZZ/1', undefined],
      ['a key of 30 digits', 'get', `/task/c/${'9'.repeat(30)}`, undefined],
      ['a timestamp of 1e400 in a query', 'get', '/task/c/1?timestamp=1e400', undefined],
      [
        'a fractional timestamp with 20 decimals',
        'post',
        '/task/odd',
        '{"timestamp":T.12345678901234567890,"key":5}',
      ],
      ['an exponent timestamp', 'delete', '/task/odd', '{"key":1,"timestamp":1e-400}'],
      ['an empty JSON object', 'delete', '/task/odd', '{}'],
    ])('answers %s with a status below 500 in the envelope', async (_name, method, path, body) => {
      const text = body?.replace('T', String(unixIn()));
      let req = http()[method as 'get' | 'post' | 'delete'](path);
      if (text !== undefined) req = req.set('Content-Type', 'application/json').send(text);
      const res = await req;
      expect(res.status).toBeLessThan(500);
      expect(res.body).toMatchObject({ code: res.status, msg: expect.any(String) });
    });

    it('answers a body that is not valid UTF-8 with a status below 500', async () => {
      const body = Buffer.concat([
        Buffer.from(`{"timestamp":${unixIn()},"key":4,"params":"`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]);
      const res = await http().post('/task/odd').set('Content-Type', 'application/json').send(body);
      expect(res.status).toBeLessThan(500);
      expect(res.body).toMatchObject({ code: res.status });
    });

    it('answers a gzip body that does not inflate with 400', async () => {
      const res = await http()
        .post('/task/odd')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send('not gzip');
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: 'request body could not be read' });
    });
  });
});
