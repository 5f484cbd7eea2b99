import AxeBuilder from '@axe-core/playwright';
import { APIRequestContext, expect, Page, test as base } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { BrowserEnv, browserEnv } from './env';

/** Where the tests write the dashboard's screenshots (the README shows them). */
export const SCREENSHOTS_DIR = join(__dirname, '..', '..', '..', 'docs', 'screenshots');

interface Fixtures {
  env: BrowserEnv;
  /** The API with the admin key, to set up what a test looks at. */
  api: APIRequestContext;
  /** SQL on the service's database (setting up states the API cannot, e.g. failed tasks). */
  sql: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
  /** Console errors and failed page loads of the test's page; each test expects none. */
  consoleErrors: string[];
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern -- Playwright's fixture signature
  env: async ({}, use) => {
    await use(browserEnv());
  },
  api: async ({ playwright, env }, use) => {
    const api = await playwright.request.newContext({
      baseURL: env.baseUrl,
      extraHTTPHeaders: { Authorization: `Bearer ${env.adminKey}` },
    });
    await use(api);
    await api.dispose();
  },
  sql: async ({ env }, use) => {
    const client = new Client({ connectionString: env.databaseUrl });
    await client.connect();
    await use(async (text, params) => {
      const result = await client.query<Record<string, unknown>>(text, params);
      return result.rows;
    });
    await client.end();
  },
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await use(errors);
  },
  baseURL: async ({ env }, use) => {
    await use(env.baseUrl);
  },
});

export { expect };

/** Opens the dashboard and signs in with `key` (the key is kept for the tab only). */
export async function signIn(page: Page, key: string, hash = '#/'): Promise<void> {
  await page.goto(`/ui/${hash}`);
  await page.getByTestId('signin-key').fill(key);
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('auth-state')).toBeVisible();
}

/** axe in the real browser: no serious or critical violation on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`,
    );
  expect(serious, serious.join('\n')).toEqual([]);
}

/** Writes docs/screenshots/<name>.png of the whole page at the configured 1280×800 viewport. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: false });
}
