import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from './test/browser/support/chromium';

/**
 * Browser tests of the dashboard (`npm run test:browser`): Debian's Chromium (never a downloaded
 * browser) driven by Playwright's runner against a real service process and PostgreSQL, which
 * the global setup starts. One worker: the tests share that service and act on its state.
 */
export default defineConfig({
  testDir: 'test/browser',
  testMatch: '**/*.browser-spec.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  globalSetup: './test/browser/support/global-setup.ts',
  outputDir: 'test/.tmp/playwright',
  use: {
    viewport: { width: 1280, height: 800 },
    headless: true,
    launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
  },
});
