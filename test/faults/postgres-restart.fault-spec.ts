import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess } from '../support/service-process';
import { duplicates, formatSummary, lateness, report, summarize } from './support/figures';
import { insertDueTasks, OwnPostgres, Pg, SERVICE_CONNECTIONS } from './support/pg';
import { ReceiverProcess } from '../support/receiver';
import {
  hasExited,
  postTask,
  registerHandler,
  replicaEnv,
  Replicas,
  waitUntilReady,
} from './support/replicas';

const TASKS = 1000;
const FIRST_DUE_S = 1;
const SPREAD_S = 10;
const DOWN_AT_MS = 4000;
const DOWN_FOR_MS = 3000;
const SWEEP_MS = 1000;
const LEASE_MS = 2000 + 1000;
/** Sweeper timer jitter and the time the sweep itself takes, on a busy 2-core machine. */
const SWEEP_SLACK_MS = 1000;
const PROBES = 40;
/** The tasks that fell due during the outage are delivered in a burst after it; this long. */
const CATCH_UP_MS = 1000;

describe('PostgreSQL restarting while 1,000 tasks fall due over 10 s', () => {
  const replicas = new Replicas();
  let server: OwnPostgres;
  let pg: Pg;
  let receiver: ReceiverProcess;
  let service: ServiceProcess;

  beforeAll(async () => {
    server = await OwnPostgres.start();
    pg = new Pg(server.url);
    receiver = await ReceiverProcess.start();
    [service] = await replicas.start(
      1,
      replicaEnv(server.url, {
        // Only a NOTIFY (or the next due time the replica read) can wake it: no fallback poll.
        POLL_INTERVAL_MS: '30000',
        SWEEP_INTERVAL_MS: String(SWEEP_MS),
        CALLBACK_TIMEOUT_MS: '2000',
        LEASE_MARGIN_MS: '1000',
      }),
    );
    await registerHandler(service, 'restart', receiver.url('ok'));
    await registerHandler(service, 'probe', receiver.url('ok/probe'));
  });

  afterAll(async () => {
    await replicas.stopAll();
    await receiver?.close();
    await pg?.close();
    await server?.destroy();
  });

  it('stays up, reconnects its pool and LISTEN, delivers every task and is on time again', async () => {
    await insertDueTasks(pg, 'restart', TASKS, FIRST_DUE_S, FIRST_DUE_S + SPREAD_S);
    const started = Date.now();

    // Claims older than lease + sweep interval, sampled throughout (null while the server is down).
    const staleClaims: Array<{ atMs: number; stale: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const stale = await pg
          .scalar<number>(
            `SELECT count(*)::int FROM tasks
             WHERE state = 'running' AND lease_expires_at < now() - $1::int * interval '1 ms'`,
            [SWEEP_MS + SWEEP_SLACK_MS],
          )
          .catch(() => null);
        if (stale !== null) staleClaims.push({ atMs: Date.now(), stale });
        await sleep(100);
      }
    })();

    await sleep(started + DOWN_AT_MS - Date.now());
    const downAt = Date.now();
    await server.down();
    await sleep(DOWN_FOR_MS);
    await server.up();
    const upAt = Date.now();
    const readyMs = await waitUntilReady(service, 30_000);
    const readyAt = Date.now();
    // Tasks posted as soon as it is ready, due soon: only a re-established LISTEN wakes it for them.
    for (let key = 1; key <= PROBES; key++) {
      await postTask(service, 'probe', key, Date.now() + 500);
      await sleep(25);
    }
    const listeners = await pg.query(SERVICE_CONNECTIONS, [new URL(server.url).pathname.slice(1)]);

    const deadline = (FIRST_DUE_S + SPREAD_S) * 1000 + LEASE_MS + SWEEP_MS + 15_000;
    await receiver.waitForKeys('ok', TASKS, started + deadline - Date.now());
    await receiver.waitForKeys('ok/probe', PROBES, 10_000);
    await sleep(500); // room for a duplicate to show up
    sampling = false;
    await sampler;

    const calls = receiver.callsTo('ok');
    const delivered = ReceiverProcess.distinctKeys(calls).size;
    const dueBefore = calls.filter((c) => c.dueMs < downAt);
    const dueInOutage = calls.filter((c) => c.dueMs >= downAt && c.dueMs < readyAt);
    const dueCatchingUp = calls.filter(
      (c) => c.dueMs >= readyAt && c.dueMs < readyAt + CATCH_UP_MS,
    );
    const dueAfter = calls.filter((c) => c.dueMs >= readyAt + CATCH_UP_MS);
    const afterRecovery = staleClaims.filter((s) => s.atMs >= readyAt);
    const firstAfterUp = Math.min(
      ...calls.filter((c) => c.arrivedAtMs >= upAt).map((c) => c.arrivedAtMs),
    );
    const probeLate = summarize(lateness(receiver.callsTo('ok/probe')));
    const lateAfter = summarize(lateness(dueAfter));
    report('1 PostgreSQL restart', {
      lost: TASKS - delivered,
      duplicates: calls.length - delivered,
      'down for ms': upAt - downAt,
      'ready after restart ms': readyMs,
      'first callback after restart ms': Math.round(firstAfterUp - upAt),
      'connections after recovery': listeners.map((c) => c.application_name),
      'max stale claims after recovery': Math.max(0, ...afterRecovery.map((s) => s.stale)),
      'lateness due before outage': formatSummary(summarize(lateness(dueBefore))),
      'lateness due during outage': formatSummary(summarize(lateness(dueInOutage))),
      'lateness due in the first second after recovery': formatSummary(
        summarize(lateness(dueCatchingUp)),
      ),
      'lateness due later': formatSummary(lateAfter),
      'lateness of tasks posted after recovery': formatSummary(probeLate),
    });

    expect(hasExited(service)).toBe(false);
    expect(delivered).toBe(TASKS);
    expect(duplicates(calls).size).toBe(calls.length - delivered);
    expect(Math.min(...lateness(calls))).toBeGreaterThanOrEqual(0);
    expect(readyMs).toBeLessThan(5000);
    expect(listeners.map((c) => c.application_name)).toContain('delay-tasks-listener');
    expect(afterRecovery.length).toBeGreaterThan(10);
    expect(afterRecovery.filter((s) => s.stale > 0)).toEqual([]);
    expect(lateAfter.n).toBeGreaterThan(100);
    expect(lateAfter.p99).toBeLessThan(250);
    expect(probeLate.min).toBeGreaterThanOrEqual(0);
    expect(probeLate.p99).toBeLessThan(250);
    expect(await pg.scalar<number>('SELECT count(*)::int FROM tasks')).toBe(0);
  });
});
