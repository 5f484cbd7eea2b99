import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../src/config/app-config';
import { CallbackClient } from '../src/modules/dispatch/callback.client';
import { TestDatabase } from './support/database';
import { useTestDatabase } from './support/fixtures';
import { CallbackReceiver } from './support/receiver';
import { bodyField, header, latenessMs, registerHandler, waitFor } from './support/tasks-api';

// jest.config.js sets testTimeout per project, where Jest ignores it; the default 5 s is too short.

const TASKS = 1000;
const WARMUP_TASKS = 200;

const config: Partial<AppConfig> = {
  // The receivers listen on loopback, which the SSRF guard refuses by default.
  callbackAllowCidrs: ['127.0.0.0/8'],
  callbackTimeoutMs: 2000,
  retryBaseDelayMs: 200,
  pollIntervalMs: 500,
  sweepIntervalMs: 200,
  leaseMarginMs: 1000,
};

/**
 * `count` tasks of `cate` due evenly from `fromS` to `toS` seconds from now (database clock), in
 * one statement, then the NOTIFY the API sends after such a write.
 */
async function insertTasks(
  db: TestDatabase,
  cate: string,
  count: number,
  fromS: number,
  toS: number,
): Promise<void> {
  await db.query(
    `INSERT INTO tasks (cate, key, due_at, run_at, params)
     SELECT $1::text, k, d, d, json_build_object('k', k)
     FROM generate_series(1, $2::int) AS k,
       LATERAL (SELECT now() + ($3::float8 + ($4::float8 - $3::float8) * k / $2::int)
         * interval '1 second' AS d) AS due`,
    [cate, count, fromS, toS],
  );
  await db.query(`SELECT pg_notify('delay_tasks_due', '')`);
}

/** Delivered rows leave the table; their completions are written just after the callback. */
async function waitForNoRows(db: TestDatabase, cate: string): Promise<void> {
  await waitFor(`every task row of ${cate} to be deleted`, async () => {
    const rows = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tasks WHERE cate = $1',
      [cate],
    );
    return rows[0].n === 0;
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('two instances on one database', () => {
  const fixture = useTestDatabase();
  let receiver: CallbackReceiver;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    receiver = await fixture.receiver();
    apps.push(await fixture.startApp(config), await fixture.startApp(config));
    await registerHandler(apps[0], 'multi', receiver.url());
    await registerHandler(apps[0], 'warmup', receiver.url());
    // Warm-up, so that the measured lateness is the steady state's and not that of the first
    // connections to the receiver and of code run for the first time (a few hundred ms).
    await insertTasks(fixture.db, 'warmup', WARMUP_TASKS, 0, 0);
    await receiver.waitForCalls(WARMUP_TASKS, 10_000);
    await waitForNoRows(fixture.db, 'warmup');
    receiver.calls.length = 0;
  });

  it(`delivers ${TASKS} tasks exactly once between them, none early`, async () => {
    const posts = apps.map((app) => jest.spyOn(app.get(CallbackClient), 'post'));
    // Due 0.5–2 s from now.
    await insertTasks(fixture.db, 'multi', TASKS, 0.5, 2);

    const calls = await receiver.waitForCalls(TASKS, 15_000);
    await sleep(500); // room for a duplicate to show up
    expect(receiver.calls).toHaveLength(TASKS);
    expect(new Set(calls.map((c) => header(c, 'x-delivery-id'))).size).toBe(TASKS);
    expect(new Set(calls.map((c) => bodyField(c, 'key'))).size).toBe(TASKS);
    expect(calls.every((c) => header(c, 'x-delivery-attempt') === '1')).toBe(true);
    await waitForNoRows(fixture.db, 'multi');

    const lateness = calls.map(latenessMs).sort((a, b) => a - b);
    expect(lateness[0]).toBeGreaterThanOrEqual(0);
    const perInstance = posts.map((spy) => spy.mock.calls.length);
    console.log(
      `${TASKS} tasks on 2 instances (${perInstance.join(' + ')}): lateness ms ` +
        `p50 ${percentile(lateness, 50).toFixed(1)}, p99 ${percentile(lateness, 99).toFixed(1)}, ` +
        `max ${lateness[lateness.length - 1].toFixed(1)}`,
    );
    expect(perInstance.reduce((a, b) => a + b, 0)).toBe(TASKS);
    expect(perInstance.every((n) => n > 0)).toBe(true);
  });
});
