import { APIRequestContext } from '@playwright/test';
import { expect, expectAccessible, screenshot, signIn, test } from './support/fixtures';

const MAX_KEY = '18446744073709551615';

/** The envelope's result of a JSON answer, which must be 200. */
async function result<T>(reply: Awaited<ReturnType<APIRequestContext['get']>>): Promise<T> {
  expect(reply.status(), await reply.text()).toBe(200);
  return ((await reply.json()) as { result: T }).result;
}

async function register(api: APIRequestContext, cate: string, handler: string): Promise<void> {
  await result(await api.post(`/handler/${cate}`, { data: { handler, maxAttempts: 3 } }));
}

/** A task due in an hour, posted as raw JSON so that its key and params keep every digit. */
async function postTask(api: APIRequestContext, cate: string, key: string, params = '{}') {
  const due = Math.floor(Date.now() / 1000) + 3600;
  await result(
    await api.post(`/task/${cate}`, {
      headers: { 'Content-Type': 'application/json' },
      data: `{"timestamp":${due},"key":${key},"params":${params}}`,
    }),
  );
}

/** Console errors of the page but the one 401 the app gets before it has a key. */
function unexpected(errors: string[]): string[] {
  return errors.filter((e) => !/status of 401/.test(e));
}

test.describe('dashboard', () => {
  test('signs in; the overview shows the numbers the API gives, live', async ({
    page,
    api,
    env,
    consoleErrors,
  }) => {
    await register(api, 'orders', `${env.receiverUrl}orders`);
    await register(api, 'invoices', `${env.receiverUrl}invoices`);
    // Deliveries for the charts (due now), and tasks falling due over the next hour.
    const now = Math.floor(Date.now() / 1000);
    await result(
      await api.post('/tasks/invoices', {
        data: { tasks: Array.from({ length: 40 }, (_, i) => ({ timestamp: now, key: i + 1 })) },
      }),
    );
    await result(
      await api.post('/tasks/orders', {
        data: {
          tasks: Array.from({ length: 120 }, (_, i) => ({
            timestamp: now + 120 + i * 25,
            key: i + 1,
          })),
        },
      }),
    );
    // The series is written by the dispatchers every 10 s.
    await expect
      .poll(
        async () => {
          const series = await result<{ points: Array<{ deliveries: number }> }>(
            await api.get('/dashboard/series?minutes=15'),
          );
          return series.points.reduce((sum, p) => sum + p.deliveries, 0);
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThanOrEqual(40);

    await signIn(page, env.adminKey);
    await expect(page.getByTestId('auth-state')).toHaveAttribute('data-role', 'admin');
    await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'live');
    // The counts are a snapshot at most a few seconds old: the page catches up by itself.
    await expect
      .poll(
        async () => {
          const overview = await result<{ totals: { pending: number; categories: number } }>(
            await api.get('/dashboard/overview'),
          );
          const shown = (await page.getByTestId('totals-pending').textContent())?.replace(/,/g, '');
          return shown === String(overview.totals.pending) ? overview.totals.categories : -1;
        },
        { timeout: 20_000 },
      )
      .toBeGreaterThanOrEqual(2);
    await expect(page.getByTestId('category-row-orders')).toContainText('120');
    await expect(page.getByTestId('chart-deliveries')).toBeVisible();
    await expect(page.getByTestId('chart-forecast')).toBeVisible();
    await expectAccessible(page);
    await screenshot(page, 'overview');
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('pauses and resumes a category from its page', async ({ page, api, env, consoleErrors }) => {
    await register(api, 'payments', `${env.receiverUrl}payments`);
    await signIn(page, env.adminKey, '#/category/payments');
    await expect(page.getByTestId('category-paused')).toHaveAttribute('data-paused', 'false');
    await page.getByTestId('pause-button').click();
    await expect(page.getByTestId('category-paused')).toHaveAttribute('data-paused', 'true');
    await expect
      .poll(
        async () => (await result<{ paused: boolean }>(await api.get('/handler/payments'))).paused,
      )
      .toBe(true);
    await page.getByTestId('resume-button').click();
    await expect(page.getByTestId('category-paused')).toHaveAttribute('data-paused', 'false');
    await expect
      .poll(
        async () => (await result<{ paused: boolean }>(await api.get('/handler/payments'))).paused,
      )
      .toBe(false);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('retries the failed tasks of a category in bulk: dry-run count, confirm, done', async ({
    page,
    api,
    env,
    sql,
    consoleErrors,
  }) => {
    await register(api, 'refunds', `${env.receiverUrl}refunds`);
    for (let key = 1; key <= 4; key++) await postTask(api, 'refunds', String(key));
    await sql(
      `UPDATE tasks SET state = 'failed', attempts = 3, last_error = 'HTTP 503: busy',
         due_at = now() - interval '1 minute' WHERE cate = 'refunds'`,
    );
    await signIn(page, env.adminKey, '#/category/refunds');
    await expect(page.getByTestId('failed-row-3')).toBeVisible();
    await page.getByTestId('bulk-action-retry').check();
    await page.getByTestId('bulk-retry-dry-run').click();
    await expect(page.getByTestId('bulk-count')).toContainText('4');
    await expectAccessible(page);
    await screenshot(page, 'category');
    await page.getByTestId('bulk-confirm').click();
    await expect(page.getByTestId('bulk-result')).toContainText('4');
    // Re-queued due now and delivered to the receiver: none is failed any more.
    await expect
      .poll(
        async () =>
          (await sql(`SELECT 1 FROM tasks WHERE cate = 'refunds' AND state = 'failed'`)).length,
      )
      .toBe(0);
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('shows a task with the largest key and big integers in its params exactly', async ({
    page,
    api,
    env,
    consoleErrors,
  }) => {
    await register(api, 'ledger', `${env.receiverUrl}ledger`);
    await postTask(api, 'ledger', MAX_KEY, '{"orderId":9007199254740993,"price":1.50}');
    await signIn(page, env.adminKey, `#/task/ledger/${MAX_KEY}`);
    await expect(page.getByTestId('task-key')).toHaveText(MAX_KEY);
    await expect(page.getByTestId('task-state')).toContainText('pending');
    await expect(page.getByTestId('task-params')).toContainText('9007199254740993');
    await expect(page.getByTestId('task-params')).toContainText('1.50');
    await expect(page.getByTestId('task-due')).toContainText('UTC');
    await expect(page.getByTestId('task-delete')).toBeVisible();
    await expectAccessible(page);
    await screenshot(page, 'task');
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('lists the operator actions on the audit page', async ({
    page,
    api,
    env,
    consoleErrors,
  }) => {
    await register(api, 'audited', `${env.receiverUrl}audited`);
    await result(await api.post('/handler/audited/pause'));
    await signIn(page, env.adminKey, '#/audit');
    await expect(page.getByTestId('audit-table')).toContainText('handler.pause');
    await expect(page.getByTestId('audit-table')).toContainText('audited');
    await expectAccessible(page);
    await screenshot(page, 'audit');
    expect(unexpected(consoleErrors)).toEqual([]);
  });

  test('a read-only key sees everything and no action button', async ({
    page,
    api,
    env,
    consoleErrors,
  }) => {
    await register(api, 'readonly', `${env.receiverUrl}readonly`);
    await postTask(api, 'readonly', '7');
    await signIn(page, env.readerKey, '#/category/readonly');
    await expect(page.getByTestId('auth-state')).toHaveAttribute('data-role', 'readonly');
    await expect(page.getByTestId('settings-handler-value')).toBeVisible();
    for (const id of [
      'pause-button',
      'resume-button',
      'edit-settings',
      'bulk-form',
      'delete-category',
    ])
      await expect(page.getByTestId(id)).toHaveCount(0);
    await page.goto('/ui/#/task/readonly/7');
    await expect(page.getByTestId('task-state')).toContainText('pending');
    for (const id of ['task-retry', 'task-run-now', 'task-delete'])
      await expect(page.getByTestId(id)).toHaveCount(0);
    expect(unexpected(consoleErrors)).toEqual([]);
  });
});
