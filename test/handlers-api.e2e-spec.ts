import { Client } from 'pg';
import request, { Response } from 'supertest';
import { DUE_CHANNEL, FLOW_CHANGED } from '../src/database/due-channel';
import { useTestApp } from './support/fixtures';

const HANDLER_RULE = /^handler must be an absolute http:\/\/ or https:\/\/ URL$/;
const CATE_RULE = /^cate must be 1 to 128 characters from A-Z a-z 0-9 \. _ : -$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('handlers API', () => {
  const fixture = useTestApp({ dispatchEnabled: false, bodyLimitBytes: 4096 });

  const http = () => request(fixture.app.getHttpServer());
  const register = (cate: string, body: string) =>
    http().post(`/handler/${cate}`).set('Content-Type', 'application/json').send(body);

  async function handlerRows(cate?: string) {
    return fixture.db.query<{ cate: string; url: string }>(
      `SELECT cate, url FROM handlers WHERE $1::text IS NULL OR cate = $1::text ORDER BY cate`,
      [cate ?? null],
    );
  }

  /** Runs the request, checks the 4xx envelope, and that the handlers table did not change. */
  async function expectRejected(
    send: () => PromiseLike<Response>,
    status: number,
    msg: RegExp,
  ): Promise<void> {
    const before = await fixture.db.query(`SELECT * FROM handlers ORDER BY cate`);
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ code: status, msg: expect.stringMatching(msg) });
    expect(await fixture.db.query(`SELECT * FROM handlers ORDER BY cate`)).toStrictEqual(before);
  }

  describe('POST /handler/:cate', () => {
    it('registers a handler and answers {"code":200,"msg":"OK"}', async () => {
      const res = await register('reg', '{"handler":"http://cb.example/reg"}');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.text).toBe('{"code":200,"msg":"OK"}');
      expect(await handlerRows('reg')).toStrictEqual([
        { cate: 'reg', url: 'http://cb.example/reg' },
      ]);
    });

    it('replaces the handler of a registered category, keeping one row', async () => {
      await register('replace', '{"handler":"http://old.example/cb"}');
      const res = await register('replace', '{"handler":"https://new.example:8443/cb?x=1"}');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await handlerRows('replace')).toStrictEqual([
        { cate: 'replace', url: 'https://new.example:8443/cb?x=1' },
      ]);
    });

    it('ignores unknown body fields', async () => {
      const res = await register('extra', '{"handler":"http://cb.example/x","color":"red"}');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
    });

    it('parses the body whatever its content type, as the original did', async () => {
      const res = await http()
        .post('/handler/plain')
        .set('Content-Type', 'text/plain')
        .send('{"handler":"http://cb.example/plain"}');
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      expect(await handlerRows('plain')).toHaveLength(1);
    });

    it('rejects a missing handler with 400 and writes nothing', async () => {
      await expectRejected(() => register('bad', '{}'), 400, /^handler is required$/);
    });

    it.each([
      ['empty', '""'],
      ['ftp', '"ftp://cb.example/x"'],
      ['relative', '"/callback"'],
      ['javascript', '"javascript:alert(1)"'],
      ['without scheme', '"cb.example/x"'],
      ['without host', '"http://"'],
      ['with a NUL', '"http://cb.example/\\u0000"'],
      ['with a newline', '"http://cb.example/\\n"'],
      ['too long', `"http://cb.example/${'x'.repeat(2100)}"`],
      ['a number', '8080'],
      ['an object', '{"url":"http://cb.example/x"}'],
    ])('rejects a handler that is %s with 400 and writes nothing', async (_name, handler) => {
      await expectRejected(() => register('bad', `{"handler":${handler}}`), 400, HANDLER_RULE);
    });

    it.each([
      ['with a space', 'a%20b'],
      ['with a slash', 'a%2Fb'],
      ['of 129 characters', 'h'.repeat(129)],
    ])('rejects a cate %s with 400 and writes nothing', async (_name, cate) => {
      await expectRejected(
        () => register(cate, '{"handler":"http://cb.example/x"}'),
        400,
        CATE_RULE,
      );
    });

    it.each([
      ['malformed JSON', '{"handler":', /^request body is not valid JSON: /],
      ['an array', '["http://cb.example/x"]', /^request body must be a JSON object$/],
      ['a string', '"http://cb.example/x"', /^request body must be a JSON object$/],
      ['empty', '', /^handler is required$/],
    ])('rejects a body that is %s with 400 and writes nothing', async (_name, body, msg) => {
      await expectRejected(() => register('bad', body), 400, msg);
    });

    it('rejects a body over the body limit with a 413 envelope and writes nothing', async () => {
      const body = `{"handler":"http://cb.example/x","pad":"${'x'.repeat(5000)}"}`;
      await expectRejected(
        () => register('big', body),
        413,
        /^request body is larger than the limit of 4096 bytes$/,
      );
    });
  });

  describe('rateLimit and eventsHandler', () => {
    const RATE_RULE =
      /^rateLimit must be null \(no limit\) or \{"perSecond": number 0\.01\.\.100000, "burst"\?: integer 1\.\.100000\}$/;
    const EVENTS_RULE =
      /^eventsHandler must be an absolute http:\/\/ or https:\/\/ URL, or null for none$/;

    async function settingsOf(cate: string) {
      const res = await http().get(`/handler/${cate}`);
      expect(res.status).toBe(200);
      const { rateLimit, eventsHandler } = (
        res.body as { result: { rateLimit: unknown; eventsHandler: unknown } }
      ).result;
      return { rateLimit, eventsHandler };
    }

    async function rateRow(cate: string) {
      const [row] = await fixture.db.query<{
        rate_per_second: number | null;
        rate_burst: number | null;
        rate_tokens: number;
        events_handler: string | null;
      }>(
        `SELECT rate_per_second, rate_burst, rate_tokens, events_handler FROM handlers
         WHERE cate = $1`,
        [cate],
      );
      return row;
    }

    it('stores both, shows them (URL credentials masked) and starts a full bucket', async () => {
      const res = await register(
        'rated',
        '{"handler":"http://cb.example/r","rateLimit":{"perSecond":2.5,"burst":10},' +
          '"eventsHandler":"https://u:pw@ev.example/e?token=abc&x=1"}',
      );
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
      await expect(settingsOf('rated')).resolves.toStrictEqual({
        rateLimit: { perSecond: 2.5, burst: 10 },
        eventsHandler: 'https://u:***@ev.example/e?token=***&x=1',
      });
      await expect(rateRow('rated')).resolves.toStrictEqual({
        rate_per_second: 2.5,
        rate_burst: 10,
        rate_tokens: 10,
        events_handler: 'https://u:pw@ev.example/e?token=abc&x=1',
      });
      const list = await http().get('/handlers?limit=1000');
      const item = (
        list.body as { result: { items: Array<Record<string, unknown>> } }
      ).result.items.find((i) => i.cate === 'rated');
      expect(item).toMatchObject({
        rateLimit: { perSecond: 2.5, burst: 10 },
        eventsHandler: 'https://u:***@ev.example/e?token=***&x=1',
      });
    });

    it.each([
      [0.5, 1],
      [1, 1],
      [7.9, 7],
      [100_000, 100_000],
    ])('defaults burst to max(1, floor(perSecond)): %d → %d', async (perSecond, burst) => {
      const cate = `burst-${String(perSecond).replace('.', '_')}`;
      await register(
        cate,
        `{"handler":"http://cb.example/","rateLimit":{"perSecond":${perSecond}}}`,
      );
      await expect(settingsOf(cate)).resolves.toMatchObject({ rateLimit: { perSecond, burst } });
    });

    it('keeps both when omitted, removes them with null', async () => {
      await register(
        'keep-rate',
        '{"handler":"http://one.example/","rateLimit":{"perSecond":5},"eventsHandler":"http://ev.example/"}',
      );
      await register('keep-rate', '{"handler":"http://two.example/","maxAttempts":4}');
      await expect(settingsOf('keep-rate')).resolves.toStrictEqual({
        rateLimit: { perSecond: 5, burst: 5 },
        eventsHandler: 'http://ev.example/',
      });
      await register(
        'keep-rate',
        '{"handler":"http://two.example/","rateLimit":null,"eventsHandler":null}',
      );
      await expect(settingsOf('keep-rate')).resolves.toStrictEqual({
        rateLimit: null,
        eventsHandler: null,
      });
      await expect(rateRow('keep-rate')).resolves.toMatchObject({
        rate_per_second: null,
        rate_burst: null,
        events_handler: null,
      });
    });

    it('refills the bucket when the limit changes, not when the same limit is posted again', async () => {
      const body = '{"handler":"http://cb.example/","rateLimit":{"perSecond":3,"burst":6}}';
      await register('bucket', body);
      await fixture.db.query(`UPDATE handlers SET rate_tokens = 0 WHERE cate = 'bucket'`);
      await register('bucket', body);
      await expect(rateRow('bucket')).resolves.toMatchObject({ rate_tokens: 0 });
      await register(
        'bucket',
        '{"handler":"http://cb.example/","rateLimit":{"perSecond":3,"burst":8}}',
      );
      await expect(rateRow('bucket')).resolves.toMatchObject({ rate_burst: 8, rate_tokens: 8 });
    });

    it('notifies the dispatchers when the rate limit changes, not on every registration', async () => {
      const listener = new Client({ connectionString: fixture.db.url });
      await listener.connect();
      const payloads: string[] = [];
      listener.on('notification', (message) => payloads.push(message.payload ?? ''));
      await listener.query(`LISTEN ${DUE_CHANNEL}`);
      /** Registers, then lets a notification of that commit arrive; returns those that did. */
      const notified = async (body: string): Promise<string[]> => {
        payloads.length = 0;
        await register('notify', body);
        await listener.query('SELECT 1'); // notifications arrive before this answer
        return [...payloads];
      };
      try {
        const handler = '"handler":"http://cb.example/"';
        await expect(notified(`{${handler}}`)).resolves.toEqual([]);
        await expect(notified(`{${handler},"rateLimit":{"perSecond":4}}`)).resolves.toEqual([
          FLOW_CHANGED,
        ]);
        await expect(
          notified(`{${handler},"rateLimit":{"perSecond":4,"burst":4}}`),
        ).resolves.toEqual([]);
        await expect(notified(`{${handler},"maxAttempts":2}`)).resolves.toEqual([]);
        await expect(notified(`{${handler},"rateLimit":null}`)).resolves.toEqual([FLOW_CHANGED]);
        await expect(notified(`{${handler},"rateLimit":null}`)).resolves.toEqual([]);
      } finally {
        await listener.end();
      }
    });

    it.each([
      ['perSecond below 0.01', '{"perSecond":0.001}'],
      ['perSecond above 100000', '{"perSecond":100000.5}'],
      ['perSecond missing', '{"burst":5}'],
      ['perSecond a string', '{"perSecond":"5"}'],
      ['burst 0', '{"perSecond":5,"burst":0}'],
      ['burst fractional', '{"perSecond":5,"burst":1.5}'],
      ['burst above 100000', '{"perSecond":5,"burst":100001}'],
      ['burst null', '{"perSecond":5,"burst":null}'],
      ['an unknown field', '{"perSecond":5,"every":"1s"}'],
      ['a number', '5'],
      ['false', 'false'],
      ['an array', '[5]'],
    ])('rejects a rateLimit with %s with 400 and writes nothing', async (_name, value) => {
      await register('rate-bad', '{"handler":"http://cb.example/"}');
      await expectRejected(
        () => register('rate-bad', `{"handler":"http://other.example/","rateLimit":${value}}`),
        400,
        RATE_RULE,
      );
    });

    it.each([
      ['ftp', '"ftp://ev.example/x"'],
      ['relative', '"/events"'],
      ['empty', '""'],
      ['a number', '80'],
      ['an object', '{"url":"http://ev.example/"}'],
    ])('rejects an eventsHandler that is %s with 400 and writes nothing', async (_name, value) => {
      await expectRejected(
        () => register('events-bad', `{"handler":"http://cb.example/","eventsHandler":${value}}`),
        400,
        EVENTS_RULE,
      );
    });

    it('rejects an eventsHandler at a refused literal address with a 400 naming it', async () => {
      await expectRejected(
        () =>
          register(
            'events-ssrf',
            '{"handler":"http://cb.example/","eventsHandler":"http://[::ffff:169.254.169.254]/"}',
          ),
        400,
        /^eventsHandler address .*refused by the callback network policy: cloud metadata/,
      );
    });
  });

  describe('GET /handler/:cate', () => {
    it('returns the category, its handler and when it was registered and updated', async () => {
      await register('show', '{"handler":"http://cb.example/show"}');
      const res = await http().get('/handler/show');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toStrictEqual({
        code: 200,
        msg: 'OK',
        result: {
          cate: 'show',
          handler: 'http://cb.example/show',
          maxAttempts: null,
          timeoutMs: null,
          concurrency: null,
          secrets: [],
          paused: false,
          circuitBreaker: { failureThreshold: 20, cooldownMs: 30_000 },
          circuit: { state: 'closed', openedAt: null, consecutiveFailures: 0, nextProbeAt: null },
          rateLimit: null,
          eventsHandler: null,
          createdAt: expect.stringMatching(ISO_TIME),
          updatedAt: expect.stringMatching(ISO_TIME),
        },
      });
    });

    it('returns the new handler after a re-registration, with updatedAt moved on', async () => {
      await register('again', '{"handler":"http://one.example/cb"}');
      const first = await http().get('/handler/again');
      await register('again', '{"handler":"http://two.example/cb"}');
      const second = await http().get('/handler/again');
      expect(second.body.result.handler).toBe('http://two.example/cb');
      expect(second.body.result.createdAt).toBe(first.body.result.createdAt);
      expect(Date.parse(second.body.result.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(first.body.result.updatedAt),
      );
    });

    it('answers 404 {"code":404,"msg":"not found"} for an unknown category', async () => {
      const res = await http().get('/handler/unknown');
      expect(res.status).toBe(404);
      expect(res.text).toBe('{"code":404,"msg":"not found"}');
    });

    it('rejects an invalid cate with 400', async () => {
      const res = await http().get('/handler/a%20b');
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(CATE_RULE) });
    });
  });
});
