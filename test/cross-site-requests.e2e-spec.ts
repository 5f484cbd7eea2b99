import { connect } from 'node:net';
import request from 'supertest';
import { CROSS_SITE_MESSAGE } from '../src/common/cross-site-request.middleware';
import { hashApiKey } from '../src/config/load-config';
import { useTestApp } from './support/fixtures';

const FORBIDDEN = { code: 403, msg: CROSS_SITE_MESSAGE };
const HANDLER = JSON.stringify({ handler: 'http://cb.example/x' });

describe('cross-site requests', () => {
  const fixture = useTestApp(
    { dispatchEnabled: false, allowedOrigins: ['https://dash.example.com'] },
    { listen: true },
  );
  const http = () => request(fixture.app.getHttpServer());

  async function handlerUrl(cate: string): Promise<string | undefined> {
    const rows = await fixture.db.query<{ url: string }>(
      'SELECT url FROM handlers WHERE cate = $1::text',
      [cate],
    );
    return rows[0]?.url;
  }

  /** The POST a web page can send with no preflight: a text/plain body that is JSON. */
  function textPost(cate: string) {
    return http().post(`/handler/${cate}`).set('Content-Type', 'text/plain').send(HANDLER);
  }

  it.each([
    ['an Origin of another site', { Origin: 'https://evil.example' }],
    ['the opaque Origin null', { Origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
  ])('refuses a text/plain POST with %s: 403, nothing written', async (_name, headers) => {
    const res = await textPost('csrf').set(headers);
    expect(res.status).toBe(403);
    expect(res.body).toStrictEqual(FORBIDDEN);
    await expect(handlerUrl('csrf')).resolves.toBeUndefined();
  });

  it.each(['put', 'patch', 'delete'] as const)('refuses %s from another origin', async (method) => {
    const res = await http()[method]('/task/csrf').set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.body).toStrictEqual(FORBIDDEN);
  });

  it('refuses before the body is read: at once, for a body that never comes', async () => {
    const socket = connect(fixture.port, '127.0.0.1');
    try {
      const reply = new Promise<string>((resolve) =>
        socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))),
      );
      socket.write(
        'POST /handler/csrf HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n' +
          'Content-Type: text/plain\r\nContent-Length: 1048576\r\n\r\n',
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((resolve) => (timer = setTimeout(resolve, 1000, 'none')));
      const first = await Promise.race([reply, late]).finally(() => clearTimeout(timer));
      expect(first).toMatch(/^HTTP\/1\.1 403 [\s\S]*connection: close/i);
    } finally {
      socket.destroy();
    }
  });

  it.each([
    ['no Origin (curl, servers)', 'curl', {}],
    [
      'its own origin',
      'own',
      { Origin: 'http://tasks.internal:7080', Host: 'tasks.internal:7080' },
    ],
    ['an origin of ALLOWED_ORIGINS', 'allowed', { Origin: 'https://dash.example.com' }],
    [
      'Sec-Fetch-Site: same-origin behind a TLS proxy',
      'proxied',
      { Origin: 'https://tasks.example.com', 'Sec-Fetch-Site': 'same-origin' },
    ],
  ])('accepts a POST with %s', async (_name, cate, headers) => {
    const res = await textPost(cate).set(headers);
    expect(res.status).toBe(200);
    await expect(handlerUrl(cate)).resolves.toBe('http://cb.example/x');
  });

  it('serves reads from any origin: they change nothing', async () => {
    const res = await http()
      .get('/handlers')
      .set('Origin', 'https://evil.example')
      .set('Sec-Fetch-Site', 'cross-site');
    expect(res.status).toBe(200);
  });

  it('refuses a cross-site request with a valid API key too', async () => {
    const key = 'cross-site-test-key-0123456789';
    const keyed = await fixture.startApp({
      dispatchEnabled: false,
      apiKeyHashes: [hashApiKey(key)],
    });
    const res = await request(keyed.getHttpServer())
      .post('/handler/csrf')
      .set('Authorization', `Bearer ${key}`)
      .set('Origin', 'https://evil.example')
      .send(HANDLER);
    expect(res.status).toBe(403);
    expect(res.body).toStrictEqual(FORBIDDEN);
    await expect(handlerUrl('csrf')).resolves.toBeUndefined();
  });
});
