import request from 'supertest';
import { startTestApp } from './support/app';
import { createTestDatabase } from './support/database';

it('probe', async () => {
  const db = await createTestDatabase();
  const app = await startTestApp(db.url, { dispatchEnabled: false, bodyLimitBytes: 2048, maxParamsBytes: 1024 });
  const s = app.getHttpServer();
  const ts = Math.floor(Date.now() / 1000) + 3600;
  const cases: Array<[string, string, string | undefined, string?]> = [
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"handler":"http://a.com/x\\u0000y"}`],
    ['post', '/handler/c1', `{"handler":"http://a.com/x\\u0000y"}`],
    ['post', '/task/c1', ``],
    ['post', '/task/c1', `null`],
    ['post', '/task/c1', `[1]`],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"params":"${'x'.repeat(3000)}"}`],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"params":"${'x'.repeat(1500)}"}`],
    ['post', '/task/c1', `${'['.repeat(70)}${']'.repeat(70)}`],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"params":1e400}`],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"params":{"a":1,"a":2}}`],
    ['post', '/task/c1', `{"timestamp":"${ts}","key":1}`],
    ['post', '/task/c1', `{"timestamp":1e400,"key":1}`],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1e400}`],
    ['delete', '/task/c1', ``],
    ['delete', '/task/c1', `{"key":1,"exec":"yes"}`],
    ['delete', '/task/c1', `{"key":1,"timestamp":"abc"}`],
    ['get', '/task/c1/1?timestamp=abc', undefined],
    ['get', '/task/c1/1?timestamp=1&timestamp=2', undefined],
    ['get', '/tasks?limit=1&limit=2', undefined],
    ['get', '/tasks?cursor=aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OQ', undefined],
    ['get', '/tasks?cursor=aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk', undefined],
    ['get', '/nope', undefined],
    ['post', '/nope', '{}'],
    ['get', '/handler/zz', undefined],
    ['get', '/task/a%20b/1', undefined],
    ['get', '/task/a%2Fb/1', undefined],
    ['get', '/task/a%ZZ/1', undefined],
    ['post', '/task/c1', `{"timestamp":${ts},"key":1,"params":"\\ud800"}`],
    ['post', '/task/c1', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')],
  ];
  for (const [m, p, body] of cases) {
    let r = (request(s) as any)[m](p);
    if (body !== undefined) r = r.set('Content-Type', 'application/json').send(body);
    const res = await r;
    console.log(m, p, (body ?? '').slice(0, 80), '=>', res.status, res.headers['content-type'], res.text.slice(0, 200));
  }
  const res = await request(s).post('/task/c1').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('xx');
  console.log('gzip', res.status, res.text);
  const res2 = await request(s).post('/task/c1').set('Content-Type', 'application/json; charset=latin1').send('{}');
  console.log('latin1', res2.status, res2.text);
  const res3 = await request(s).post('/task/c1').set('Content-Type', 'text/plain').send(`{"timestamp":${ts},"key":5}`);
  console.log('text/plain', res3.status, res3.text);
  await app.close();
  await db.drop();
});
