import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiverProcess } from '../support/receiver';
import { ServiceProcess } from '../support/service-process';
import { duplicates, formatSummary, lateness, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks, SERVICE_CONNECTIONS } from './support/pg';
import { waitFor } from './support/wait';
import { hasExited, postTask, registerHandler, replicaEnv } from './support/replicas';

const TASKS = 1000;
const KILLS = 5;
const SPREAD_S = 10;
const SWEEP_MS = 500;
const LEASE_MS = 2000 + 1000;
const PROBES = 40;

describe('every connection of the service terminated, five times during a run', () => {
  const fixture = useFaultFixture();
  let service: ServiceProcess;

  beforeAll(async () => {
    [service] = await fixture.replicas.start(
      1,
      replicaEnv(fixture.db.url, {
        // Only a NOTIFY (or the next due time the replica read) can wake it: no fallback poll.
        POLL_INTERVAL_MS: '30000',
        SWEEP_INTERVAL_MS: String(SWEEP_MS),
        CALLBACK_TIMEOUT_MS: '2000',
        LEASE_MARGIN_MS: '1000',
      }),
    );
    await registerHandler(service, 'kill', fixture.receiver.url('ok'));
    await registerHandler(service, 'probe', fixture.receiver.url('ok/probe'));
  });

  const connections = (): Promise<Array<{ pid: number; application_name: string }>> =>
    fixture.pg.query(SERVICE_CONNECTIONS, [fixture.db.name]);

  it('loses no task and is back within seconds after each kill', async () => {
    const { pg, receiver } = fixture;
    await insertDueTasks(pg, 'kill', TASKS, 1, 1 + SPREAD_S);
    const started = Date.now();
    const recoveries: Array<{ killed: number; listenerBackMs: number; nextCallbackMs: number }> =
      [];
    for (let kill = 1; kill <= KILLS; kill++) {
      await sleep(started + kill * 1800 - Date.now());
      const victims = await connections();
      const killedAt = Date.now();
      await pg.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
        victims.map((v) => v.pid),
      ]);
      const callsBefore = receiver.calls.length;
      const listenerBackMs = await waitFor(
        'LISTEN connection back',
        async () =>
          (await connections()).some(
            (c) =>
              c.application_name.endsWith('-listener') && !victims.some((v) => v.pid === c.pid),
          ),
        10_000,
      );
      await receiver.waitUntil('a callback after the kill', (c) => c.length > callsBefore, 10_000);
      const nextCallbackMs = receiver.calls[callsBefore].arrivedAtMs - killedAt;
      recoveries.push({ killed: victims.length, listenerBackMs, nextCallbackMs });
    }

    await receiver.waitForKeys('ok', TASKS, (1 + SPREAD_S) * 1000 + LEASE_MS + SWEEP_MS + 10_000);
    // Lateness of a task posted now, due soon: only the re-established LISTEN can wake the replica.
    for (let key = 1; key <= PROBES; key++) {
      await postTask(service, 'probe', key, Date.now() + 300);
      await sleep(25);
    }
    await receiver.waitForKeys('ok/probe', PROBES, 10_000);
    await sleep(500); // room for a duplicate to show up

    const calls = receiver.callsTo('ok');
    const delivered = ReceiverProcess.distinctKeys(calls).size;
    const late = summarize(lateness(calls));
    const probeLate = summarize(lateness(receiver.callsTo('ok/probe')));
    report('2 pg_terminate_backend x5', {
      lost: TASKS - delivered,
      duplicates: calls.length - delivered,
      'connections killed per round': recoveries.map((r) => r.killed),
      'LISTEN back after ms': recoveries.map((r) => r.listenerBackMs),
      'first callback after kill ms': recoveries.map((r) => Math.round(r.nextCallbackMs)),
      lateness: formatSummary(late),
      'lateness of tasks posted afterwards': formatSummary(probeLate),
    });
    expect(hasExited(service)).toBe(false);
    expect(delivered).toBe(TASKS);
    expect(duplicates(calls).size).toBe(calls.length - delivered);
    expect(late.min).toBeGreaterThanOrEqual(0);
    for (const recovery of recoveries) {
      expect(recovery.killed).toBeGreaterThanOrEqual(2); // the pool and the LISTEN connection
      expect(recovery.listenerBackMs).toBeLessThan(3000);
      expect(recovery.nextCallbackMs).toBeLessThan(3000);
    }
    expect(probeLate.min).toBeGreaterThanOrEqual(0);
    expect(probeLate.p99).toBeLessThan(250);
    expect(await pg.scalar<number>('SELECT count(*)::int FROM tasks')).toBe(0);
  });
});
