import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiverProcess } from '../support/receiver';
import { duplicates, formatSummary, lateness, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { callApi, hasExited, postTask, registerHandler, replicaEnv } from './support/replicas';

/** libfaketime (Debian/Ubuntu package `faketime`) shifts the clock of the process it is loaded in. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const TASKS = 20;
const GHOSTS = 5;
const HANDLER_MS = 1000;
const LEASE_LEFT_MS = 3000;
const SWEEP_MS = 250;
/** A lost lease is retried after backoff: at most this long for a first attempt. */
const RETRY_BASE_MS = 200;
/** Timer jitter, scheduling and query time on a busy 2-core machine. */
const SLACK_MS = 1000;

describe('a replica whose clock is off by minutes', () => {
  beforeAll(() => {
    if (!existsSync(LIBFAKETIME)) {
      throw new Error(`${LIBFAKETIME} is missing: apt-get install -y faketime`);
    }
  });
  const fixture = useFaultFixture();

  afterEach(async () => {
    await fixture.replicas.stopAll();
  });

  it.each([
    ['5 minutes slow', '-5m', -300_000],
    ['5 minutes fast', '+5m', 300_000],
  ])(
    'neither delivers early nor misjudges leases when %s (the database clock rules)',
    async (_label, faketime, skewMs) => {
      const { replicas, db, pg, receiver } = fixture;
      await pg.query('DELETE FROM tasks');
      receiver.calls.length = 0;
      const [service] = await replicas.start(
        1,
        replicaEnv(db.url, {
          LD_PRELOAD: LIBFAKETIME,
          FAKETIME: faketime,
          FAKETIME_DONT_FAKE_MONOTONIC: '1', // timers and sleeps run at the real pace
          CALLBACK_TIMEOUT_MS: '2000',
          LEASE_MARGIN_MS: '1000',
          SWEEP_INTERVAL_MS: String(SWEEP_MS),
          RETRY_BASE_DELAY_MS: String(RETRY_BASE_MS),
        }),
      );
      const res = await fetch(`${service.baseUrl}/health`);
      const replicaClockOffMs = Date.parse(res.headers.get('date') ?? '') - Date.now();
      expect(Math.abs(replicaClockOffMs - skewMs)).toBeLessThan(2000);

      const cate = `clock${faketime.startsWith('-') ? 'slow' : 'fast'}`;
      await registerHandler(service, cate, receiver.url(`slow/${HANDLER_MS}`));
      // Due 1–3 s from now by the real clock, posted through the skewed replica.
      const posted = Date.now();
      for (let key = 1; key <= TASKS; key++) {
        await postTask(service, cate, key, posted + 1000 + (2000 * key) / TASKS);
      }
      // Claims of a vanished replica whose leases expire in 3 s by the database clock: a sweeper
      // going by a fast clock would take them over now, one going by a slow clock in 5 minutes.
      const [{ expires_ms: leaseExpiresMs }] = await pg.query<{ expires_ms: number }>(
        `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
           lease_expires_at)
         SELECT $1::text, 1000 + k, now() - interval '1 minute', now() - interval '1 minute', '{}',
           'running', 1, 'ghost', now() + $2::int * interval '1 ms'
         FROM generate_series(1, $3::int) AS k
         RETURNING (extract(epoch FROM lease_expires_at) * 1000)::float8 AS expires_ms`,
        [cate, LEASE_LEFT_MS, GHOSTS],
      );

      const path = `slow/${HANDLER_MS}`;
      await receiver.waitForAnsweredKeys(path, TASKS + GHOSTS, LEASE_LEFT_MS + SWEEP_MS + 10_000);
      await sleep(SWEEP_MS * 2 + 500); // a claim taken over by mistake would be delivered again
      const calls = receiver.callsTo(path);
      const onTime = calls.filter((c) => Number(c.key) <= TASKS);
      const ghosts = calls.filter((c) => Number(c.key) > TASKS);
      const late = summarize(lateness(onTime));
      // Attempts (and webhook signatures) are dated by the database clock, not the replica's.
      const [{ off_ms: attemptsOffMs }] = await pg.query<{ off_ms: number }>(
        `SELECT max(abs(extract(epoch FROM (started_at - created_at)) * 1000))::float8 AS off_ms
         FROM task_attempts WHERE cate = $1::text`,
        [cate],
      );
      const takenOver = summarize(ghosts.map((c) => c.arrivedAtMs - leaseExpiresMs));
      report(`8 clock ${faketime}`, {
        'replica clock off by ms': replicaClockOffMs,
        lateness: formatSummary(late),
        'expired claims taken over, ms after their lease expired': formatSummary(takenOver),
        duplicates: calls.length - ReceiverProcess.distinctKeys(calls).size,
        'attempt start vs database clock, max ms off': attemptsOffMs,
        'status of the replica': (await callApi(service, 'GET', '/health/ready')).status,
      });

      expect(hasExited(service)).toBe(false);
      expect(late.n).toBe(TASKS);
      expect(late.min).toBeGreaterThanOrEqual(0);
      expect(late.p99).toBeLessThan(250);
      expect(takenOver.n).toBe(GHOSTS);
      expect(takenOver.min).toBeGreaterThanOrEqual(0);
      expect(takenOver.max).toBeLessThan(SWEEP_MS + RETRY_BASE_MS + SLACK_MS);
      // Its own 1 s deliveries under a 3 s lease were not taken from it.
      expect(duplicates(calls).size).toBe(0);
      expect(onTime.every((c) => c.attempt === 1)).toBe(true);
      expect(attemptsOffMs).toBeLessThan(HANDLER_MS + SLACK_MS);
    },
  );
});
