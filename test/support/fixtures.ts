import { INestApplication } from '@nestjs/common';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig } from '../../src/config/app-config';
import { startTestApp } from './app';
import { createTestDatabase, TestDatabase } from './database';
import { CallbackReceiver } from './receiver';

/**
 * A database cloned from the migrated template for the tests of one describe block, with the apps
 * and receivers they start on it. Read its fields inside tests and hooks: they are set by the
 * block's beforeAll.
 */
export interface TestDatabaseFixture {
  readonly db: TestDatabase;
  /** Starts the whole application on this database; closed after the block's tests. */
  startApp(overrides?: Partial<AppConfig>): Promise<INestApplication>;
  /** Starts an in-process callback receiver; closed after the block's tests. */
  receiver(): Promise<CallbackReceiver>;
  /** Runs `close` after the block's tests, once its apps are closed, before the database goes. */
  onTeardown(close: () => unknown): void;
}

/**
 * Registers the block's beforeAll (create the database) and afterAll (close its apps, then its
 * receivers and whatever was given to onTeardown, in that order, then drop the database).
 */
export function useTestDatabase(): TestDatabaseFixture {
  let db: TestDatabase | undefined;
  const apps: INestApplication[] = [];
  const closers: Array<() => unknown> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    // Nest's close() does nothing the second time, so apps a test closed itself are fine.
    for (const app of apps) await app.close();
    for (const close of closers) await close();
    await db?.drop();
  });

  const fixture: TestDatabaseFixture = {
    get db(): TestDatabase {
      if (!db) throw new Error('the test database is set in beforeAll: read it in tests or hooks');
      return db;
    },
    async startApp(overrides = {}) {
      const app = await startTestApp(fixture.db.url, overrides);
      apps.push(app);
      return app;
    },
    async receiver() {
      const receiver = await new CallbackReceiver().start();
      closers.push(() => receiver.close());
      return receiver;
    },
    onTeardown(close) {
      closers.push(close);
    },
  };
  return fixture;
}

export interface TestAppFixture extends TestDatabaseFixture {
  /** The application started on the database with the block's settings. */
  readonly app: INestApplication;
  /** The port it listens on at 127.0.0.1, with `listen: true`. */
  readonly port: number;
}

/**
 * useTestDatabase, and the whole application on it with `overrides` (migrations applied,
 * dispatcher running unless `dispatchEnabled: false`). With `listen: true` it also serves on a
 * free port of 127.0.0.1, for tests that speak raw HTTP to it.
 */
export function useTestApp(
  overrides: Partial<AppConfig> = {},
  options: { listen?: boolean } = {},
): TestAppFixture {
  const base = useTestDatabase();
  let app: INestApplication | undefined;
  let port: number | undefined;

  beforeAll(async () => {
    app = await base.startApp(overrides);
    if (options.listen) {
      await app.listen(0, '127.0.0.1');
      port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    }
  });

  return {
    get db() {
      return base.db;
    },
    get app(): INestApplication {
      if (!app) throw new Error('the test app is set in beforeAll: read it in tests or hooks');
      return app;
    },
    get port(): number {
      if (port === undefined) throw new Error('the test app listens only with listen: true');
      return port;
    },
    startApp: (appOverrides) => base.startApp(appOverrides),
    receiver: () => base.receiver(),
    onTeardown: (close) => base.onTeardown(close),
  };
}
