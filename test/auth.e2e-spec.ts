import { connect, Socket } from 'node:net';
import request from 'supertest';
import { UNAUTHORIZED_MESSAGE } from '../src/common/api-key.middleware';
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

    it.each([
      ['GET', '/no/such/route'],
      ['GET', '/'],
      ['POST', '/handler'],
      ['PUT', '/task/locked'],
      ['OPTIONS', '/tasks'],
    ])('answers 401, not 404, to %s %s: routes cannot be enumerated', async (method, path) => {
      const res = await http()[method.toLowerCase() as 'get' | 'post' | 'put' | 'options'](path);
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="delay-tasks"');
    });

    it('still answers 404 to an unknown route with a valid key', async () => {
      const res = await http().get('/no/such/route').set('Authorization', `Bearer ${KEY}`);
      expect(res.status).toBe(404);
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

  function oversized(): request.Test {
    return http()
      .post('/handler/big')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ handler: 'http://cb.example/x', pad: 'x'.repeat(8192) }));
  }

  it('answers an oversized body with a key with the 413 envelope', async () => {
    const res = await oversized().set('Authorization', `Bearer ${KEY}`);
    expect(res.status).toBe(413);
    expect(res.body).toStrictEqual({
      code: 413,
      msg: 'request body is larger than the limit of 4096 bytes',
    });
  });

  it('answers an oversized body without a key with the 401: the key comes first', async () => {
    const res = await oversized();
    expect(res.status).toBe(401);
    expect(res.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
  });
});

/** A raw connection to 127.0.0.1:`port`, and what the server sent on it. */
interface RawConnection {
  socket: Socket;
  /** Resolves with the first bytes the server sends. */
  firstReply: Promise<string>;
  /** Resolves with all the server sent once it has closed the connection. */
  closed: Promise<string>;
}

function rawConnection(port: number): RawConnection {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  const firstReply = new Promise<string>((resolve) =>
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))),
  );
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  const closed = new Promise<string>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
  });
  return { socket, firstReply, closed };
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('API keys, before the body is read', () => {
  // The default body limit (1 MiB), so that a 1 MiB body is one the parser would read.
  const fixture = useTestApp({ ...config, bodyLimitBytes: 1_048_576 }, { listen: true });

  it('answers 401 at once to a request announcing 1 MiB that never sends it, and closes', async () => {
    const connection = rawConnection(fixture.port);
    try {
      connection.socket.write(
        'POST /task/locked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 1048576\r\n\r\n',
      );
      const first = await within(1000, 'the 401', connection.firstReply);
      expect(first).toMatch(/^HTTP\/1\.1 401 /);
      const reply = await within(1000, 'the close', connection.closed);
      const [head, body] = reply.split('\r\n\r\n', 2);
      expect(head.toLowerCase()).toContain('connection: close');
      expect(head.toLowerCase()).toContain('www-authenticate: bearer realm="delay-tasks"');
      expect(JSON.parse(body)).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
    } finally {
      connection.socket.destroy();
    }
  });

  it('answers a key-less client that sends its whole 1 MiB body with the 401', async () => {
    const body = `${'['.repeat(524_288)}${']'.repeat(524_288)}`;
    const res = await fetch(`http://127.0.0.1:${fixture.port}/task/locked`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('connection')).toBe('close');
    await expect(res.json()).resolves.toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
  });

  it('keeps the connection of a refused request whose small body came whole', async () => {
    const connection = rawConnection(fixture.port);
    try {
      const refused = 'POST /task/locked HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
      const health = 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
      connection.socket.write(refused + health);
      const reply = await within(2000, 'both replies', connection.closed);
      expect(reply).toMatch(/^HTTP\/1\.1 401 [\s\S]*HTTP\/1\.1 200 /);
    } finally {
      connection.socket.destroy();
    }
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
