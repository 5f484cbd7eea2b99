import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess } from '../support/service-process';
import { formatSummary, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { callApi, registerHandler, replicaEnv } from './support/replicas';

const REPLICAS = 3;
const RUN_MS = 30_000;

/**
 * A schedule firing every second, on three real service processes sharing one database: each
 * occurrence is created and delivered once (a unique index and the schedule row's lock, not
 * timing), each with its own delivery id, none early. Figures are printed (grep "[figures]").
 */
describe('schedules with three replicas', () => {
  const fixture = useFaultFixture();
  let services: ServiceProcess[];

  beforeAll(async () => {
    services = await fixture.replicas.start(REPLICAS, replicaEnv(fixture.db.url));
  });

  it('an every-second schedule delivers each occurrence exactly once for 30 s, distinct delivery ids, never early', async () => {
    const { receiver, pg } = fixture;
    const cate = 'ticks';
    await registerHandler(services[0], cate, receiver.url('ok'));
    const created = await callApi(services[1], 'POST', `/schedule/${cate}`, {
      key: 1,
      cron: '* * * * * *',
      params: { every: 'second' },
    });
    expect(created.status).toBe(200);
    const fromS = Math.ceil(Date.now() / 1000) + 1;
    await sleep(RUN_MS);
    const toS = Math.floor(Date.now() / 1000) - 1;
    const deleted = await callApi(services[2], 'DELETE', `/schedule/${cate}/1`);
    expect(deleted.status).toBe(200);
    await sleep(1500); // deliveries of occurrences already due finish

    const calls = receiver.callsTo('ok');
    const window = calls.filter(
      (c) => c.scheduleTime !== undefined && c.scheduleTime >= fromS && c.scheduleTime <= toS,
    );
    const perSecond = new Map<number, number>();
    for (const call of window) {
      perSecond.set(call.scheduleTime!, (perSecond.get(call.scheduleTime!) ?? 0) + 1);
    }
    const seconds = Array.from({ length: toS - fromS + 1 }, (_, i) => fromS + i);
    const missing = seconds.filter((s) => !perSecond.has(s));
    const repeated = seconds.filter((s) => (perSecond.get(s) ?? 0) > 1);
    const ids = new Set(calls.map((c) => c.deliveryId));
    const lateness = window.map((c) => c.arrivedAtMs - c.scheduleTime! * 1000);
    const creators = await pg.scalar<number>(`SELECT count(*)::int FROM tasks WHERE cate = $1`, [
      cate,
    ]);
    report('schedules: every second on 3 replicas', {
      seconds: seconds.length,
      delivered: window.length,
      missing: missing.length,
      repeated: repeated.length,
      distinctDeliveryIds: ids.size,
      calls: calls.length,
      occurrenceLateness: formatSummary(summarize(lateness)),
      occurrenceTasksLeft: creators,
    });
    expect(seconds.length).toBeGreaterThanOrEqual(28);
    expect(missing).toEqual([]);
    expect(repeated).toEqual([]);
    expect(ids.size).toBe(calls.length);
    expect(
      calls.every((c) => c.scheduleTime !== undefined && c.dueMs === c.scheduleTime * 1000),
    ).toBe(true);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(creators).toBe(0);
  });
});
