import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startTestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';

describe('smoke', () => {
  let db: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, { dispatchEnabled: false });
  });

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('answers health with plain OK', async () => {
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK');
  });

  it('stores and returns the maximum uint64 key exactly', async () => {
    const now = Math.floor(Date.now() / 1000) + 3600;
    const post = await request(app.getHttpServer())
      .post('/task/c1')
      .set('Content-Type', 'application/json')
      .send(`{"timestamp":${now},"key":18446744073709551615,"params":{"n":123456789012345678901}}`);
    expect(post.body).toEqual({ code: 200, msg: 'OK' });
    const get = await request(app.getHttpServer()).get('/task/c1/18446744073709551615');
    expect(get.text).toContain('"key":18446744073709551615');
    expect(get.text).toContain('"params":{"n":123456789012345678901}');
  });
});
