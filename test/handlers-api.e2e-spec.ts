import request, { Response } from 'supertest';
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
