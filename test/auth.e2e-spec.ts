import request from 'supertest';
import { UNAUTHORIZED_MESSAGE } from '../src/common/api-key.guard';
import { AppConfig } from '../src/config/app-config';
import { hashApiKey } from '../src/config/load-config';
import { startTestApp } from './support/app';
import { useTestApp } from './support/fixtures';
import { unixSeconds } from './support/tasks-api';

const KEY = 'first-api-key-0123456789';
const SECOND_KEY = 'second-api-key+/9876543210==';

const config: Partial<AppConfig> = {
  dispatchEnabled: false,
  bodyLimitBytes: 4096,
  apiKeyHashes: [hashApiKey(KEY), hashApiKey(SECOND_KEY)],
};

describe('API keys', () => {
  const fixture = useTestApp(config);

  const http = () => request(fixture.app.getHttpServer());

  async function handlerCount(): Promise<number> {
    const [row] = await fixture.db.query<{ n: number }>('SELECT count(*)::int AS n FROM handlers');
    return row.n;
  }

  describe('without a valid key', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a wrong key', 'Bearer wrong-api-key-0123456789'],
      ['a configured key under another scheme', `Token ${KEY}`],
      ['a configured key with a byte changed', `Bearer ${KEY.slice(0, -1)}X`],
    ])('answers 401 in the envelope to %s and writes nothing', async (_name, authorization) => {
      const before = await handlerCount();
      const req = http().post('/handler/locked').send({ handler: 'http://cb.example/x' });
      if (authorization !== undefined) void req.set('Authorization', authorization);
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="delay-tasks"');
      expect(res.text).not.toContain(KEY);
      await expect(handlerCount()).resolves.toBe(before);
    });

    it.each([
      ['GET', '/task/locked/1'],
      ['GET', '/tasks'],
      ['GET', '/handler/locked'],
      ['DELETE', '/task/locked'],
      ['POST', '/task/locked'],
    ])('guards %s %s', async (method, path) => {
      const res = await http()[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
    });
  });

  describe('with a valid key', () => {
    it.each([KEY, SECOND_KEY])('accepts the configured key %s', async (key) => {
      const res = await http()
        .post('/handler/open')
        .set('Authorization', `Bearer ${key}`)
        .send({ handler: 'http://cb.example/x' });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ code: 200, msg: 'OK' });
    });

    it('serves reads, writes and their errors as without auth', async () => {
      const auth = `Bearer ${KEY}`;
      const created = await http()
        .post('/task/open')
        .set('Authorization', auth)
        .send({ timestamp: unixSeconds(60_000), key: 1 });
      expect(created.status).toBe(200);
      const read = await http().get('/task/open/1').set('Authorization', auth);
      expect(read.status).toBe(200);
      const missing = await http().get('/task/open/2').set('Authorization', auth);
      expect(missing.body).toStrictEqual({ code: 404, msg: 'not found' });
    });
  });

  describe('open routes', () => {
    it.each(['/health', '/health/live', '/health/ready'])(
      'serves %s without a key',
      async (path) => {
        const res = await http().get(path);
        expect(res.status).toBe(200);
      },
    );

    it('serves /metrics without a key by default', async () => {
      const res = await http().get('/metrics');
      expect(res.status).toBe(200);
    });

    it('does not guard the API docs', async () => {
      const res = await http().get('/docs-json');
      expect(res.status).not.toBe(401);
    });
  });

  it('guards /metrics too with METRICS_REQUIRE_AUTH', async () => {
    const strict = await startTestApp(fixture.db.url, { ...config, metricsRequireAuth: true });
    try {
      const refused = await request(strict.getHttpServer()).get('/metrics');
      expect(refused.status).toBe(401);
      expect(refused.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
      const allowed = await request(strict.getHttpServer())
        .get('/metrics')
        .set('Authorization', `Bearer ${SECOND_KEY}`);
      expect(allowed.status).toBe(200);
      await expect(request(strict.getHttpServer()).get('/health')).resolves.toMatchObject({
        status: 200,
      });
    } finally {
      await strict.close();
    }
  });

  it.each([
    ['without a key', undefined],
    ['with a key', `Bearer ${KEY}`],
  ])('answers an oversized body %s with the 413 envelope', async (_name, authorization) => {
    const req = http()
      .post('/handler/big')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ handler: 'http://cb.example/x', pad: 'x'.repeat(8192) }));
    if (authorization !== undefined) void req.set('Authorization', authorization);
    const res = await req;
    expect(res.status).toBe(413);
    expect(res.body).toStrictEqual({
      code: 413,
      msg: 'request body is larger than the limit of 4096 bytes',
    });
  });
});

describe('security headers', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  it('sends helmet headers with a CSP the local Swagger UI works under', async () => {
    const res = await request(fixture.app.getHttpServer()).get('/health');
    const csp = String(res.headers['content-security-policy']);
    expect(csp.split(';')).toEqual(
      expect.arrayContaining([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
      ]),
    );
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(csp).not.toMatch(/https:|http:|\*/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('keeps the headers on error envelopes', async () => {
    const res = await request(fixture.app.getHttpServer()).get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 404 });
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });
});
