import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { hashApiKey } from '../src/config/load-config';
import * as auditSql from '../src/modules/audit/audit.sql';
import { useTestApp } from './support/fixtures';
import { uniqueName } from './support/names';
import { unixSeconds } from './support/tasks-api';

const FULL_KEY = 'audit-full-key-0123456789';
const READER_KEY = 'audit-reader-key-9876543210';
const FULL_KEY_ID = hashApiKey(FULL_KEY).slice(0, 12);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqr';
const LIMIT_RULE = 'limit must be an integer from 1 to 1000';
const CURSOR_RULE = 'cursor must be a nextCursor value from a previous page';

interface AuditItem {
  id: string;
  at: string;
  keyId: string | null;
  action: string;
  method: string;
  route: string;
  cate: string | null;
  target: string | null;
  changes: Record<string, unknown>;
  count: number | null;
  requestId: string | null;
}

interface AuditPageBody {
  code: number;
  result: { items: AuditItem[]; nextCursor: string | null };
}

const config: Partial<AppConfig> = {
  dispatchEnabled: false,
  apiKeyHashes: [hashApiKey(FULL_KEY)],
  apiKeyReadonlyHashes: [hashApiKey(READER_KEY)],
};

describe('audit log', () => {
  const fixture = useTestApp(config);

  const http = () => request(fixture.app.getHttpServer());
  const write = (method: 'post' | 'delete', path: string) =>
    http()[method](path).set('Authorization', `Bearer ${FULL_KEY}`);

  /** GET /audit with the read-only key (reading the log is a read). */
  async function auditPage(query: string): Promise<AuditPageBody['result']> {
    const res = await http().get(`/audit?${query}`).set('Authorization', `Bearer ${READER_KEY}`);
    expect(res.status).toBe(200);
    return (res.body as AuditPageBody).result;
  }

  async function entriesOf(cate: string): Promise<AuditItem[]> {
    return (await auditPage(`cate=${cate}&limit=1000`)).items;
  }

  async function dbNow(): Promise<Date> {
    const [row] = await fixture.db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return row.now;
  }

  async function register(cate: string, body: object = { handler: 'http://cb.example/x' }) {
    const res = await write('post', `/handler/${cate}`).send(body);
    expect(res.status).toBe(200);
  }

  it('records a registration: key id, database time, request id and the fields without secrets', async () => {
    const cate = uniqueName('reg');
    const before = await dbNow();
    const res = await write('post', `/handler/${cate}`)
      .set('X-Request-Id', 'audit-request-1')
      .send({
        handler: 'http://ops:pa55word-in-url@cb.example/hook?token=tok-in-query&page=2',
        eventsHandler: 'https://events.example/in?api_key=events-key-in-query',
        secret: SECRET,
        maxAttempts: 5,
        circuitBreaker: { failureThreshold: 10 },
        rateLimit: { perSecond: 5, burst: 10 },
        password: 'unknown-field-dropped',
      });
    expect(res.status).toBe(200);
    const after = await dbNow();

    const [entry] = await entriesOf(cate);
    expect(entry).toStrictEqual({
      id: expect.stringMatching(/^\d+$/),
      at: expect.any(String),
      keyId: FULL_KEY_ID,
      action: 'handler.register',
      method: 'POST',
      route: '/handler/:cate',
      cate,
      target: null,
      changes: {
        handler: 'http://ops:***@cb.example/hook?token=***&page=2',
        eventsHandler: 'https://events.example/in?api_key=***',
        secret: 'whsec_MfKQ…',
        maxAttempts: 5,
        circuitBreaker: { failureThreshold: 10 },
        rateLimit: { perSecond: 5, burst: 10 },
      },
      count: null,
      requestId: 'audit-request-1',
    });
    const at = new Date(entry.at).getTime();
    expect(at).toBeGreaterThanOrEqual(before.getTime());
    expect(at).toBeLessThanOrEqual(after.getTime());

    const [row] = await fixture.db.query<{ text: string }>(
      'SELECT a::text AS text FROM audit_log a WHERE cate = $1',
      [cate],
    );
    for (const secret of [
      SECRET,
      SECRET.slice('whsec_MfKQ'.length),
      'pa55word-in-url',
      'tok-in-query',
      'events-key-in-query',
      'unknown-field-dropped',
      FULL_KEY,
      hashApiKey(FULL_KEY),
    ]) {
      expect(row.text).not.toContain(secret);
    }
  });

  it('records pause, resume and delete, listed newest first', async () => {
    const cate = uniqueName('flow');
    await register(cate);
    for (const path of ['pause', 'resume']) {
      expect((await write('post', `/handler/${cate}/${path}`)).status).toBe(200);
    }
    expect((await write('delete', `/handler/${cate}`)).status).toBe(200);

    const entries = await entriesOf(cate);
    expect(entries.map((e) => [e.action, e.method, e.route, e.changes])).toStrictEqual([
      ['handler.delete', 'DELETE', '/handler/:cate', {}],
      ['handler.resume', 'POST', '/handler/:cate/resume', {}],
      ['handler.pause', 'POST', '/handler/:cate/pause', {}],
      ['handler.register', 'POST', '/handler/:cate', { handler: 'http://cb.example/x' }],
    ]);
    const ids = entries.map((e) => BigInt(e.id));
    expect(ids).toStrictEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(entries.every((e) => e.keyId === FULL_KEY_ID)).toBe(true);
  });

  it('records the retry of a failed task with its key as the target, and no task upsert', async () => {
    const cate = uniqueName('retry');
    const key = '18446744073709551615';
    const created = await write('post', `/task/${cate}`)
      .set('Content-Type', 'application/json')
      .send(`{"timestamp":${unixSeconds(3_600_000)},"key":${key},"params":{"token":"p"}}`);
    expect(created.status).toBe(200);
    await fixture.db.query(`UPDATE tasks SET state = 'failed' WHERE cate = $1`, [cate]);
    expect((await write('post', `/task/${cate}/${key}/retry`)).status).toBe(200);

    const entries = await entriesOf(cate);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'task.retry',
      method: 'POST',
      route: '/task/:cate/:key/retry',
      cate,
      target: key,
      changes: {},
      count: null,
      keyId: FULL_KEY_ID,
    });
  });

  it('records the bulk actions with their filter and count, and not their dry runs', async () => {
    const cate = uniqueName('bulk');
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, updated_at)
       SELECT $1::text, k, now(), now() + interval '1 hour', '{}', 'failed', now()
       FROM generate_series(1, 3) AS k`,
      [cate],
    );
    const dry = await write('post', `/tasks/${cate}/retry`).send({ dryRun: true });
    expect(dry.status).toBe(200);
    const retried = await write('post', `/tasks/${cate}/retry`).send({ failedAfter: 0 });
    expect(retried.status).toBe(200);
    const deleted = await write('post', `/tasks/${cate}/delete`).send({ state: 'pending' });
    expect(deleted.status).toBe(200);
    const entries = await entriesOf(cate);
    expect(entries.map((e) => [e.action, e.route, e.changes, e.count])).toStrictEqual([
      ['tasks.bulk_delete', '/tasks/:cate/delete', { state: 'pending' }, 3],
      ['tasks.bulk_retry', '/tasks/:cate/retry', { failedAfter: 0 }, 3],
    ]);
  });

  it('records nothing for a failed action (4xx)', async () => {
    const cate = uniqueName('refused');
    expect((await write('post', `/handler/${cate}/pause`)).status).toBe(404);
    expect((await write('post', `/handler/${cate}`).send({ handler: 'ftp://x' })).status).toBe(400);
    expect((await write('post', `/task/${cate}/1/retry`)).status).toBe(404);
    await register(cate);
    const created = await write('post', `/task/${cate}`).send({
      timestamp: unixSeconds(3_600_000),
      key: 1,
    });
    expect(created.status).toBe(200);
    expect((await write('post', `/task/${cate}/1/retry`)).status).toBe(409); // pending
    const refused = await http()
      .post(`/handler/${cate}/pause`)
      .set('Authorization', `Bearer ${READER_KEY}`);
    expect(refused.status).toBe(403);

    expect((await entriesOf(cate)).map((e) => e.action)).toStrictEqual(['handler.register']);
  });

  it('pages newest first with a cursor, filtered by category or not', async () => {
    const cate = uniqueName('paged');
    await register(cate);
    for (let i = 0; i < 2; i++) {
      expect((await write('post', `/handler/${cate}/pause`)).status).toBe(200);
      expect((await write('post', `/handler/${cate}/resume`)).status).toBe(200);
    }
    const all = await entriesOf(cate);
    expect(all).toHaveLength(5);

    const seen: AuditItem[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditPageBody['result'] = await auditPage(
        `cate=${cate}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toStrictEqual(all);

    const stored = await fixture.db.query<{ id: string }>(
      'SELECT a.id::text AS id FROM audit_log a ORDER BY a.id DESC',
    );
    const unfiltered: string[] = [];
    cursor = null;
    do {
      const page: AuditPageBody['result'] = await auditPage(
        `limit=3${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      unfiltered.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(unfiltered).toStrictEqual(stored.map((r) => r.id));
  });

  it.each([
    ['limit=0', LIMIT_RULE],
    ['limit=1001', LIMIT_RULE],
    ['limit=x', LIMIT_RULE],
    ['cursor=!!', CURSOR_RULE],
    [`cursor=${Buffer.from('id:5').toString('base64url')}`, CURSOR_RULE],
    [`cursor=${Buffer.from('audit:x').toString('base64url')}`, CURSOR_RULE],
    ['cate=a%20b', 'cate must be 1 to 128 characters from A-Z a-z 0-9 . _ : -'],
  ])('refuses %s with a 400 naming the rule', async (query, msg) => {
    const res = await http().get(`/audit?${query}`).set('Authorization', `Bearer ${READER_KEY}`);
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual({ code: 400, msg });
  });

  it('needs a key to be read', async () => {
    const res = await http().get('/audit');
    expect(res.status).toBe(401);
  });

  it('reads a page of a category through its index, newest first, without sorting', async () => {
    await fixture.db.query(
      `INSERT INTO audit_log (action, method, route, cate)
       SELECT 'handler.pause', 'POST', '/handler/:cate/pause', 'plan-' || (i % 50)
       FROM generate_series(1, 20000) i`,
    );
    await fixture.db.query('ANALYZE audit_log');
    const [plan] = await fixture.db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) ${auditSql.LIST_AUDIT_OF_CATE}`,
      ['plan-7', '9223372036854775807', 100, 1_048_576],
    );
    const text = JSON.stringify(plan['QUERY PLAN']);
    expect(text).toContain('"Index Name":"audit_log_cate_id_idx"');
    expect(text).toContain('"Scan Direction":"Backward"');
    expect(text).not.toContain('"Node Type":"Seq Scan"');
    const [unfiltered] = await fixture.db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) ${auditSql.LIST_AUDIT}`,
      ['9223372036854775807', 100, 1_048_576],
    );
    expect(JSON.stringify(unfiltered['QUERY PLAN'])).toContain('"Index Name":"audit_log_pkey"');
    await fixture.db.query(`DELETE FROM audit_log WHERE cate LIKE 'plan-%'`);
  });

  it('still answers a successful action when the audit entry cannot be written', async () => {
    const cate = uniqueName('unaudited');
    await fixture.db.query(
      'ALTER TABLE audit_log ADD CONSTRAINT refuse_all CHECK (false) NOT VALID',
    );
    try {
      await register(cate);
      const read = await http().get(`/handler/${cate}`).set('Authorization', `Bearer ${FULL_KEY}`);
      expect(read.status).toBe(200);
    } finally {
      await fixture.db.query('ALTER TABLE audit_log DROP CONSTRAINT refuse_all');
    }
    await expect(entriesOf(cate)).resolves.toStrictEqual([]);
  });

  it('records a null key id when the service runs without API keys', async () => {
    const open = await fixture.startApp({ dispatchEnabled: false });
    const cate = uniqueName('open');
    const res = await request(open.getHttpServer())
      .post(`/handler/${cate}`)
      .send({ handler: 'http://cb.example/x' });
    expect(res.status).toBe(200);
    const listed = await request(open.getHttpServer()).get(`/audit?cate=${cate}`);
    expect((listed.body as AuditPageBody).result.items).toMatchObject([
      { action: 'handler.register', keyId: null },
    ]);
  });
});
