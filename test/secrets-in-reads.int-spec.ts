import request from 'supertest';
import { useTestApp } from './support/fixtures';
import { header, postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

/** What API clients read back must not hand them credentials or handlers' internals. */

describe('handler URLs with credentials', () => {
  const fixture = useTestApp({ callbackAllowCidrs: ['127.0.0.1/32'], pollIntervalMs: 200 });
  const http = () => request(fixture.app.getHttpServer());

  it('are shown masked by every read, and delivered to in full', async () => {
    const receiver = await fixture.receiver();
    const base = receiver.url('').replace('http://', '');
    const categoryUrl = `http://user:s3cret@${base}/hook?token=t0ken&page=2`;
    const taskUrl = `http://bob:pa55@${base}/own?API_KEY=k3y&access_token=acc3ss#frag`;
    const maskedCategoryUrl = `http://user:***@${base}/hook?token=***&page=2`;
    const maskedTaskUrl = `http://bob:***@${base}/own?API_KEY=***&access_token=***#frag`;
    await registerHandler(fixture.app, 'masked', categoryUrl);
    await postTask(fixture.app, 'masked', { timestamp: unixSeconds(3_600_000), key: 1 });
    await postTask(fixture.app, 'masked', {
      timestamp: unixSeconds(3_600_000),
      key: 2,
      handler: taskUrl,
    });

    const category = await http().get('/handler/masked');
    expect(category.body.result.handler).toBe(maskedCategoryUrl);
    const categories = await http().get('/handlers?limit=1000');
    expect(categories.body.result.items).toContainEqual(
      expect.objectContaining({ cate: 'masked', handler: maskedCategoryUrl }),
    );
    expect((await http().get('/task/masked/1')).body.result.handler).toBe(maskedCategoryUrl);
    expect((await http().get('/task/masked/2')).body.result.handler).toBe(maskedTaskUrl);
    const list = await http().get('/tasks?cate=masked');
    const items = (list.body as { result: { items: Array<{ handler: string }> } }).result.items;
    expect(items.map((item) => item.handler)).toStrictEqual([maskedCategoryUrl, maskedTaskUrl]);
    const everything = [category, categories, list].map((res) => res.text).join('');
    expect(everything).not.toMatch(/s3cret|t0ken|pa55|k3y|acc3ss/);

    // Stored and delivered as given: the password as Basic credentials, the query intact.
    const stored = await fixture.db.query<{ handler: string | null }>(
      `SELECT handler FROM tasks WHERE cate = 'masked' ORDER BY key`,
    );
    expect(stored).toStrictEqual([{ handler: null }, { handler: taskUrl }]);
    await postTask(fixture.app, 'masked', { timestamp: unixSeconds(), key: 3 });
    await postTask(fixture.app, 'masked', { timestamp: unixSeconds(), key: 4, handler: taskUrl });
    const calls = await receiver.waitForCalls(2);
    const byPath = Object.fromEntries(calls.map((call) => [call.path, call]));
    expect(Object.keys(byPath).sort()).toStrictEqual([
      '/hook?token=t0ken&page=2',
      '/own?API_KEY=k3y&access_token=acc3ss',
    ]);
    const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
    expect(header(byPath['/hook?token=t0ken&page=2'], 'authorization')).toBe(basic('user:s3cret'));
    expect(header(byPath['/own?API_KEY=k3y&access_token=acc3ss'], 'authorization')).toBe(
      basic('bob:pa55'),
    );
  });
});

/** A handler whose error page leaks internals, failing every attempt. */
const ERROR_PAGE = 'Traceback (most recent call last): db password=hunter2 at /srv/internal.py';

describe.each([
  [0, 'HTTP 500'],
  [16, 'HTTP 500: Traceback (most'],
  [1024, `HTTP 500: ${ERROR_PAGE}`],
])('CAPTURE_RESPONSE_BYTES=%i', (captureResponseBytes, expected) => {
  const fixture = useTestApp({
    callbackAllowCidrs: ['127.0.0.1/32'],
    captureResponseBytes,
    maxAttempts: 2,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 100,
    pollIntervalMs: 100,
  });

  it(`keeps "${expected}" in lastError and the attempt history`, async () => {
    const receiver = await fixture.receiver();
    receiver.reply = () => ({ status: 500, body: ERROR_PAGE });
    await registerHandler(fixture.app, 'leaky', receiver.url());
    await postTask(fixture.app, 'leaky', { timestamp: unixSeconds(), key: 1 });

    const http = () => request(fixture.app.getHttpServer());
    const failed = await waitFor('the task to fail', async () => {
      const res = await http().get('/task/leaky/1');
      const task = (res.body as { result?: { state: string; lastError: string | null } }).result;
      return task?.state === 'failed' ? task : undefined;
    });
    expect(failed.lastError).toBe(expected);
    const attempts = await http().get('/task/leaky/1/attempts');
    expect(attempts.body.result.items).toStrictEqual([
      expect.objectContaining({
        attempt: 2,
        statusCode: 500,
        outcome: 'http_5xx',
        error: expected,
      }),
      expect.objectContaining({
        attempt: 1,
        statusCode: 500,
        outcome: 'http_5xx',
        error: expected,
      }),
    ]);
  });
});
