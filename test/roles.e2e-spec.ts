import { connect } from 'node:net';
import request from 'supertest';
import { READ_ONLY_MESSAGE, UNAUTHORIZED_MESSAGE } from '../src/common/api-key.middleware';
import { createApiDocument } from '../src/common/openapi.document';
import { AppConfig } from '../src/config/app-config';
import { hashApiKey } from '../src/config/load-config';
import { useTestApp } from './support/fixtures';
import { unixSeconds } from './support/tasks-api';

const FULL_KEY = 'roles-full-key-0123456789';
const READER_KEY = 'roles-reader-key-9876543210';
const CATE = 'roles-cate';
const KEY = '1';
const READ_ONLY = { code: 403, msg: READ_ONLY_MESSAGE };
const INSUFFICIENT_SCOPE = 'Bearer realm="delay-tasks", error="insufficient_scope"';

const config: Partial<AppConfig> = {
  dispatchEnabled: false,
  apiKeyHashes: [hashApiKey(FULL_KEY)],
  apiKeyReadonlyHashes: [hashApiKey(READER_KEY)],
};

type Method = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete' | 'options';
const HTTP_METHODS: readonly Method[] = [
  'get',
  'head',
  'post',
  'put',
  'patch',
  'delete',
  'options',
];

/** `/task/{cate}/{key}` with the test's category and key in place of the parameters. */
function concretePath(template: string): string {
  return template
    .replace(/\{cate\}/g, CATE)
    .replace(/\{key\}/g, KEY)
    .replace(/\{[^}]+\}/g, 'x');
}

describe('roles: API_KEYS and API_KEYS_READONLY', () => {
  const fixture = useTestApp(config, { listen: true });
  const http = () => request(fixture.app.getHttpServer());

  /** [method, path template] of every route of the app's own OpenAPI document. */
  function documentedRoutes(): Array<[Method, string]> {
    const document = createApiDocument(fixture.app);
    return Object.entries(document.paths).flatMap(([path, item]) =>
      HTTP_METHODS.filter((method) => (item as Record<string, unknown>)[method] !== undefined).map(
        (method): [Method, string] => [method, path],
      ),
    );
  }

  const writingRoutes = () => documentedRoutes().filter(([m]) => m !== 'get' && m !== 'head');
  const readingRoutes = () => documentedRoutes().filter(([m]) => m === 'get' || m === 'head');

  /** A digest of every row of the tables the API writes. */
  async function tableState(): Promise<string> {
    const [row] = await fixture.db.query<{ digest: string }>(
      `SELECT md5(
         coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM tasks t), '') ||
         coalesce((SELECT string_agg(h::text, '|' ORDER BY h.cate) FROM handlers h), '') ||
         coalesce((SELECT string_agg(a::text, '|' ORDER BY a.id) FROM audit_log a), '')
       ) AS digest`,
    );
    return row.digest;
  }

  beforeAll(async () => {
    const auth = `Bearer ${FULL_KEY}`;
    const registered = await http()
      .post(`/handler/${CATE}`)
      .set('Authorization', auth)
      .send({ handler: 'http://cb.example/x' });
    expect(registered.status).toBe(200);
    const created = await http()
      .post(`/task/${CATE}`)
      .set('Authorization', auth)
      .send({ timestamp: unixSeconds(3_600_000), key: Number(KEY) });
    expect(created.status).toBe(200);
  });

  it('finds the writing routes in the OpenAPI document', () => {
    expect(writingRoutes()).toEqual(
      expect.arrayContaining([
        ['post', '/handler/{cate}'],
        ['delete', '/handler/{cate}'],
        ['post', '/handler/{cate}/pause'],
        ['post', '/handler/{cate}/resume'],
        ['post', '/task/{cate}'],
        ['delete', '/task/{cate}'],
        ['post', '/tasks/{cate}'],
        ['post', '/task/{cate}/{key}/retry'],
      ]),
    );
  });

  it('refuses a read-only key on every writing route with a 403, and writes nothing', async () => {
    const before = await tableState();
    const routes = writingRoutes();
    for (const [method, template] of routes) {
      const res = await http()
        [method](concretePath(template))
        .set('Authorization', `Bearer ${READER_KEY}`)
        .send({ handler: 'http://cb.example/y', timestamp: unixSeconds(60_000), key: 2 });
      expect([method, template, res.status, res.body]).toStrictEqual([
        method,
        template,
        403,
        READ_ONLY,
      ]);
      expect(res.headers['www-authenticate']).toBe(INSUFFICIENT_SCOPE);
    }
    await expect(tableState()).resolves.toBe(before);
  });

  it.each(['put', 'patch', 'options'] as const)(
    'refuses a read-only key %s on any path, routes or not, before routing',
    async (method) => {
      const res = await http()
        [method]('/no/such/route')
        .set('Authorization', `Bearer ${READER_KEY}`);
      expect(res.status).toBe(403);
      expect(res.body).toStrictEqual(READ_ONLY);
    },
  );

  it('lets a read-only key read every route of the document', async () => {
    for (const [method, template] of readingRoutes()) {
      const res = await http()
        [method](concretePath(template))
        .set('Authorization', `Bearer ${READER_KEY}`);
      expect([method, template, res.status === 401 || res.status === 403]).toStrictEqual([
        method,
        template,
        false,
      ]);
    }
  });

  it.each([
    '/tasks',
    `/task/${CATE}/${KEY}`,
    `/task/${CATE}/${KEY}/attempts`,
    `/handler/${CATE}`,
    '/handlers',
    '/audit',
    '/health/ready',
  ])('answers a read-only key 200 on GET %s', async (path) => {
    const res = await http().get(path).set('Authorization', `Bearer ${READER_KEY}`);
    expect(res.status).toBe(200);
  });

  it('answers a read-only key 200 on HEAD', async () => {
    const res = await http().head('/tasks').set('Authorization', `Bearer ${READER_KEY}`);
    expect(res.status).toBe(200);
  });

  it('lets a full-access key write', async () => {
    const auth = `Bearer ${FULL_KEY}`;
    const paused = await http().post(`/handler/${CATE}/pause`).set('Authorization', auth);
    expect(paused.status).toBe(200);
    const resumed = await http().post(`/handler/${CATE}/resume`).set('Authorization', auth);
    expect(resumed.status).toBe(200);
    const created = await http()
      .post(`/task/${CATE}`)
      .set('Authorization', auth)
      .send({ timestamp: unixSeconds(3_600_000), key: 3 });
    expect(created.status).toBe(200);
  });

  it('still answers 401 to a request without a key, whatever the method', async () => {
    for (const method of ['get', 'post'] as const) {
      const res = await http()[method](`/handler/${CATE}`);
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual({ code: 401, msg: UNAUTHORIZED_MESSAGE });
    }
  });

  it("answers a read-only key's write at once, before its 1 MiB body comes, and closes", async () => {
    const socket = connect(fixture.port, '127.0.0.1');
    try {
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      const closed = new Promise<string>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('close', () => resolve(received));
      });
      socket.write(
        `POST /task/${CATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${READER_KEY}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n',
      );
      let timer: NodeJS.Timeout | undefined;
      const reply = await Promise.race([
        closed,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('no 403 and close within 1 s')), 1000);
        }),
      ]).finally(() => clearTimeout(timer));
      const [head, body] = reply.split('\r\n\r\n', 2);
      expect(head).toMatch(/^HTTP\/1\.1 403 /);
      expect(head.toLowerCase()).toContain('connection: close');
      expect(JSON.parse(body)).toStrictEqual(READ_ONLY);
    } finally {
      socket.destroy();
    }
  });

  it('with read-only keys alone, reads need a key and nothing can be written', async () => {
    const readersOnly = await fixture.startApp({
      dispatchEnabled: false,
      apiKeyHashes: [],
      apiKeyReadonlyHashes: [hashApiKey(READER_KEY)],
    });
    const server = readersOnly.getHttpServer();
    await expect(request(server).get('/tasks')).resolves.toMatchObject({ status: 401 });
    const read = await request(server).get('/tasks').set('Authorization', `Bearer ${READER_KEY}`);
    expect(read.status).toBe(200);
    const write = await request(server)
      .post(`/handler/${CATE}`)
      .set('Authorization', `Bearer ${READER_KEY}`)
      .send({ handler: 'http://cb.example/z' });
    expect(write.status).toBe(403);
    expect(write.body).toStrictEqual(READ_ONLY);
    const full = await request(server)
      .post(`/handler/${CATE}`)
      .set('Authorization', `Bearer ${FULL_KEY}`)
      .send({ handler: 'http://cb.example/z' });
    expect(full.status).toBe(401);
  });
});
