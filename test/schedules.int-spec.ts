import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { useTestApp, useTestDatabase } from './support/fixtures';
import { uniqueName } from './support/names';
import { metricValue, parseMetrics } from './support/prometheus';
import { CallbackReceiver, ReceivedCall } from './support/receiver';
import { header, postTask, registerHandler, unixSeconds, waitFor } from './support/tasks-api';

interface ScheduleBody {
  cate: string;
  key: number | bigint;
  cron: string;
  timezone: string;
  missed: string;
  paused: boolean;
  nextRuns: number[];
  startAt: number | null;
  endAt: number | null;
}

const send = (app: INestApplication, method: 'post' | 'delete' | 'get', path: string) =>
  request(app.getHttpServer())[method](path).set('Content-Type', 'application/json');

async function postSchedule(
  app: INestApplication,
  cate: string,
  body: object | string,
): Promise<ScheduleBody> {
  const res = await send(app, 'post', `/schedule/${cate}`).send(
    typeof body === 'string' ? body : JSON.stringify(body),
  );
  if (res.status !== 200) throw new Error(`POST /schedule/${cate}: ${res.status} ${res.text}`);
  return (res.body as { result: ScheduleBody }).result;
}

async function action(app: INestApplication, path: string): Promise<void> {
  const res = await send(app, 'post', path);
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
}

/** X-Schedule-Time of the calls to `path`, Unix seconds, in arrival order. */
function scheduleTimes(receiver: CallbackReceiver, path: string): number[] {
  return receiver.calls
    .filter((c) => c.path === path)
    .map((c) => Number(header(c, 'x-schedule-time')));
}

/**
 * What the three missed policies delivered over one gap (schedules firing every second, the
 * same gap for each, judged in the same statement): `all` every second of the window, `skip` a
 * tail of it (the late occurrences, after the cutoff), `once` that tail plus exactly one
 * earlier occurrence, which is before all of the tail.
 */
function expectMissedPolicies(
  times: { skip: number[]; once: number[]; all: number[] },
  fromS: number,
  toS: number,
  missedAtLeast: number,
): void {
  const inWindow = (list: number[]) => [...new Set(list.filter((t) => t >= fromS && t <= toS))];
  const all = inWindow(times.all).sort((a, b) => a - b);
  const skip = inWindow(times.skip).sort((a, b) => a - b);
  const once = inWindow(times.once).sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: toS - fromS + 1 }, (_, i) => fromS + i));
  expect(all.length - skip.length).toBeGreaterThanOrEqual(missedAtLeast);
  expect(once.length).toBe(skip.length + 1);
  const extra = once.filter((t) => !skip.includes(t));
  expect(extra).toHaveLength(1);
  expect(extra[0]).toBeLessThan(Math.min(...skip));
  // Each of skip's is one of all's tail: nothing of the gap's beginning.
  expect(skip[0]).toBe(all[all.length - skip.length]);
  for (const list of [times.skip, times.once, times.all]) {
    expect(new Set(list).size).toBe(list.length); // each occurrence once
  }
}

describe('schedules', () => {
  const fixture = useTestApp({ pollIntervalMs: 200 });
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await fixture.receiver();
  });

  const callsTo = (path: string): ReceivedCall[] => receiver.calls.filter((c) => c.path === path);

  describe('validation', () => {
    const cases: Array<[string, object, RegExp]> = [
      ['no key', { cron: '0 9 * * *' }, /^key is required/],
      ['key 0', { key: 0, cron: '0 9 * * *' }, /^key must be an integer from 1/],
      ['no cron', { key: 1 }, /^cron is required/],
      ['4 fields', { key: 1, cron: '* * * *' }, /^cron must have 5 fields/],
      ['7 fields', { key: 1, cron: '0 0 9 * * * 2027' }, /^cron must have 5 fields/],
      ['minute 61', { key: 1, cron: '61 * * * *' }, /^cron is not a valid expression/],
      ['not cron', { key: 1, cron: 'every day' }, /^cron /],
      ['never fires', { key: 1, cron: '0 0 30 2 *' }, /^cron never fires/],
      ['unknown zone', { key: 1, cron: '0 9 * * *', timezone: 'Mars/Olympus' }, /^timezone /],
      ['offset zone', { key: 1, cron: '0 9 * * *', timezone: '+02:00' }, /^timezone /],
      [
        'endAt before startAt',
        { key: 1, cron: '0 9 * * *', startAt: 1900000000, endAt: 1800000000 },
        /^endAt must be after startAt/,
      ],
      [
        'nothing between startAt and endAt',
        { key: 1, cron: '0 9 * * *', startAt: 1900000000, endAt: 1900000060 },
        /^the schedule has no occurrence between startAt and endAt/,
      ],
      ['negative startAt', { key: 1, cron: '0 9 * * *', startAt: -5 }, /^startAt must be/],
      ['fractional endAt', { key: 1, cron: '0 9 * * *', endAt: 1900000000.5 }, /^endAt must be/],
      ['unknown missed', { key: 1, cron: '0 9 * * *', missed: 'sometimes' }, /^missed must be/],
      ['bad handler', { key: 1, cron: '0 9 * * *', handler: 'ftp://x/y' }, /^handler must be/],
    ];

    it.each(cases)('answers 400 naming the field: %s, and writes nothing', async (_, body, msg) => {
      const cate = uniqueName('invalid');
      const res = await send(fixture.app, 'post', `/schedule/${cate}`).send(JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
      const rows = await fixture.db.query(`SELECT 1 FROM schedules WHERE cate = $1`, [cate]);
      expect(rows).toHaveLength(0);
    });

    it('answers 404 for a schedule that is not there', async () => {
      for (const [method, path] of [
        ['get', '/schedule/none/1'],
        ['post', '/schedule/none/1/pause'],
        ['post', '/schedule/none/1/resume'],
      ] as const) {
        const res = await send(fixture.app, method, path);
        expect(res.status).toBe(404);
      }
      const res = await send(fixture.app, 'delete', '/schedule/none/1');
      expect(res.status).toBe(200);
      expect((res.body as { result: unknown }).result).toStrictEqual({ deleted: false });
    });
  });

  it('creates, reads with the next 5 runs in its time zone across a DST gap, lists, replaces and deletes', async () => {
    const cate = uniqueName('crud');
    const startAt = Date.UTC(2027, 2, 27) / 1000;
    const created = await postSchedule(
      fixture.app,
      cate,
      `{"key":18446744073709551615,"cron":"30 2 * * *","timezone":"Europe/Berlin",` +
        `"startAt":${startAt},"params":{"n":12345678901234567890}}`,
    );
    // 02:30 CET, then 02:30 on the day of the gap is 03:30 CEST (01:30Z), then 02:30 CEST.
    const expected = [
      Date.UTC(2027, 2, 27, 1, 30),
      Date.UTC(2027, 2, 28, 1, 30),
      Date.UTC(2027, 2, 29, 0, 30),
      Date.UTC(2027, 2, 30, 0, 30),
      Date.UTC(2027, 2, 31, 0, 30),
    ].map((ms) => ms / 1000);
    expect(created).toMatchObject({
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      missed: 'once',
      paused: false,
      startAt,
      endAt: null,
      nextRuns: expected,
    });
    const read = await send(fixture.app, 'get', `/schedule/${cate}/18446744073709551615`);
    expect(read.status).toBe(200);
    expect(read.text).toContain('"key":18446744073709551615');
    expect(read.text).toContain('"params":{"n":12345678901234567890}');
    expect((read.body as { result: ScheduleBody }).result.nextRuns).toEqual(expected);

    await postSchedule(fixture.app, cate, { key: 2, cron: '0 12 * * *' });
    const first = await send(fixture.app, 'get', `/schedules?cate=${cate}&limit=1`);
    const page1 = (first.body as { result: { items: ScheduleBody[]; nextCursor: string } }).result;
    expect(page1.items).toHaveLength(1);
    const second = await send(
      fixture.app,
      'get',
      `/schedules?cate=${cate}&limit=1&cursor=${page1.nextCursor}`,
    );
    const page2 = (second.body as { result: { items: ScheduleBody[] } }).result;
    expect(page2.items.map((s) => s.cron)).toEqual(['0 12 * * *']);

    const replaced = await postSchedule(fixture.app, cate, {
      key: 2,
      cron: '0 6 * * *',
      timezone: 'America/New_York',
      missed: 'all',
    });
    expect(replaced).toMatchObject({ cron: '0 6 * * *', missed: 'all' });
    const rows = await fixture.db.query(`SELECT 1 FROM schedules WHERE cate = $1`, [cate]);
    expect(rows).toHaveLength(2);

    const deleted = await send(fixture.app, 'delete', `/schedule/${cate}/2`);
    expect((deleted.body as { result: unknown }).result).toStrictEqual({ deleted: true });
    const again = await send(fixture.app, 'delete', `/schedule/${cate}/2`);
    expect((again.body as { result: unknown }).result).toStrictEqual({ deleted: false });
    expect((await send(fixture.app, 'get', `/schedule/${cate}/2`)).status).toBe(404);

    const audit = await send(fixture.app, 'get', `/audit?cate=${cate}&limit=100`);
    const entries = (audit.body as { result: { items: Array<Record<string, unknown>> } }).result
      .items;
    // Newest first; a DELETE of what was already gone succeeds, so it is recorded too.
    expect(entries.map((e) => [e.action, e.target])).toEqual([
      ['schedule.delete', '2'],
      ['schedule.delete', '2'],
      ['schedule.upsert', null],
      ['schedule.upsert', null],
      ['schedule.upsert', null],
    ]);
    expect(entries[2].changes).toMatchObject({ key: 2, cron: '0 6 * * *', missed: 'all' });
  });

  it('delivers each occurrence once, on time, with the original body, X-Schedule-Time and a delivery id of its own; a task of the same key is apart', async () => {
    const cate = uniqueName('every');
    await registerHandler(fixture.app, cate, receiver.url(`/${cate}`));
    const taskDue = Math.floor(unixSeconds(3_600_000));
    await postTask(fixture.app, cate, { timestamp: taskDue, key: 7, params: '{"task":true}' });
    await postSchedule(
      fixture.app,
      cate,
      `{"key":7,"cron":"* * * * * *","params":{"n":12345678901234567890}}`,
    );
    await waitFor('3 occurrences', () => callsTo(`/${cate}`).length >= 3, 6000);
    const calls = callsTo(`/${cate}`);
    for (const call of calls) {
      expect(call.body).toBe(
        `{"cate":"${cate}","inAdvance":false,"key":7,"params":{"n":12345678901234567890}}`,
      );
      const time = Number(header(call, 'x-schedule-time'));
      expect(Number.isInteger(time)).toBe(true);
      expect(header(call, 'x-task-due')).toBe(String(time));
      expect(call.arrivedAtMs).toBeGreaterThanOrEqual(time * 1000); // never early
    }
    const ids = calls.map((c) => header(c, 'x-delivery-id'));
    expect(new Set(ids).size).toBe(ids.length);
    const times = scheduleTimes(receiver, `/${cate}`);
    expect(new Set(times).size).toBe(times.length);

    // The task (cate, 7) is untouched by the schedule (cate, 7), and the other way round.
    const task = await send(fixture.app, 'get', `/task/${cate}/7`);
    expect(task.status).toBe(200);
    expect((task.body as { result: { timeToRun: number } }).result.timeToRun).toBe(taskDue);
    const removed = await send(fixture.app, 'delete', `/task/${cate}`).send('{"key":7}');
    expect((removed.body as { result: unknown }).result).toStrictEqual({ deleted: true });
    const before = callsTo(`/${cate}`).length;
    await waitFor('an occurrence after the task went', () => callsTo(`/${cate}`).length > before);

    // Delivery ids are derived from the schedule and the occurrence: a replacement withdraws the
    // occurrences made ahead and makes them again, with the same ids.
    const ahead = () =>
      fixture.db.query<{ due: string; id: string }>(
        `SELECT extract(epoch FROM due_at)::text AS due, delivery_id::text AS id FROM tasks
         WHERE cate = $1 AND schedule_id IS NOT NULL AND due_at > now() + interval '2 s'
         ORDER BY due_at`,
        [cate],
      );
    const aheadBefore = await ahead();
    expect(aheadBefore.length).toBeGreaterThanOrEqual(5);
    await postSchedule(
      fixture.app,
      cate,
      `{"key":7,"cron":"* * * * * *","params":{"n":12345678901234567890}}`,
    );
    const aheadAfter = await waitFor('the occurrences made again', async () => {
      const rows = await ahead();
      return rows.length >= aheadBefore.length - 1 ? rows : undefined;
    });
    const idOf = new Map(aheadBefore.map((r) => [r.due, r.id]));
    const common = aheadAfter.filter((r) => idOf.has(r.due));
    expect(common.length).toBeGreaterThanOrEqual(3);
    for (const row of common) expect(row.id).toBe(idOf.get(row.due));

    // Deleting the schedule withdraws what is not due; nothing is delivered after it.
    const deleted = await send(fixture.app, 'delete', `/schedule/${cate}/7`);
    expect((deleted.body as { result: unknown }).result).toStrictEqual({ deleted: true });
    const deletedAtS = Date.now() / 1000;
    await sleep(2500);
    expect(scheduleTimes(receiver, `/${cate}`).filter((t) => t > deletedAtS)).toEqual([]);
    const left = await fixture.db.query(
      `SELECT 1 FROM tasks WHERE cate = $1 AND schedule_id IS NOT NULL`,
      [cate],
    );
    expect(left).toHaveLength(0);
  });

  it('pause withdraws and holds; resume fires the gap as each missed policy says', async () => {
    const cate = uniqueName('pause');
    await registerHandler(fixture.app, cate, receiver.url(`/${cate}`));
    const policies = ['skip', 'once', 'all'] as const;
    for (const [index, missed] of policies.entries()) {
      await registerHandler(fixture.app, `${cate}-${missed}`, receiver.url(`/${cate}/${missed}`));
      await postSchedule(fixture.app, `${cate}-${missed}`, {
        key: index + 1,
        cron: '* * * * * *',
        missed,
      });
    }
    await waitFor('every schedule firing', () =>
      policies.every((m) => callsTo(`/${cate}/${m}`).length >= 1),
    );
    for (const [index, missed] of policies.entries()) {
      await action(fixture.app, `/schedule/${cate}-${missed}/${index + 1}/pause`);
    }
    const pausedAtS = Date.now() / 1000;
    const paused = await send(fixture.app, 'get', `/schedule/${cate}-once/2`);
    expect((paused.body as { result: ScheduleBody }).result).toMatchObject({
      paused: true,
      nextRuns: [],
    });
    const future = await fixture.db.query(
      `SELECT 1 FROM tasks WHERE cate LIKE $1 AND schedule_id IS NOT NULL AND due_at > now()`,
      [`${cate}-%`],
    );
    expect(future).toHaveLength(0);
    await sleep(6000);
    const gapFromS = Math.ceil(pausedAtS) + 1;
    for (const missed of policies) {
      expect(scheduleTimes(receiver, `/${cate}/${missed}`).filter((t) => t >= gapFromS)).toEqual(
        [],
      );
    }
    const resumedAtS = Date.now() / 1000;
    for (const [index, missed] of policies.entries()) {
      await action(fixture.app, `/schedule/${cate}-${missed}/${index + 1}/resume`);
    }
    await sleep(3500);
    const times = {
      skip: scheduleTimes(receiver, `/${cate}/skip`),
      once: scheduleTimes(receiver, `/${cate}/once`),
      all: scheduleTimes(receiver, `/${cate}/all`),
    };
    expectMissedPolicies(times, gapFromS, Math.floor(resumedAtS) + 2, 3);
  });
});

describe('schedules across a stop of the service', () => {
  const fixture = useTestDatabase();

  it('fires what every replica missed as each policy says, created ahead or not', async () => {
    const receiver = await fixture.receiver();
    const app = await fixture.startApp({ pollIntervalMs: 200 });
    const policies = ['skip', 'once', 'all'] as const;
    for (const [index, missed] of policies.entries()) {
      await registerHandler(app, `stop-${missed}`, receiver.url(`/${missed}`));
      await postSchedule(app, `stop-${missed}`, { key: index + 1, cron: '* * * * * *', missed });
    }
    await waitFor(
      'every schedule firing',
      () => policies.every((m) => receiver.calls.some((c) => c.path === `/${m}`)),
      5000,
    );
    await app.close();
    const stoppedAtS = Date.now() / 1000;
    // Occurrences of the next 10 s were created ahead, as tasks: they are what is missed now.
    const ahead = await fixture.db.query(
      `SELECT 1 FROM tasks WHERE schedule_id IS NOT NULL AND due_at > now() + interval '5 s'`,
    );
    expect(ahead.length).toBeGreaterThanOrEqual(9);
    await sleep(6000);
    const restartedAtS = Date.now() / 1000;
    const again = await fixture.startApp({ pollIntervalMs: 200 });
    await sleep(3500);
    const times = {
      skip: scheduleTimes(receiver, '/skip'),
      once: scheduleTimes(receiver, '/once'),
      all: scheduleTimes(receiver, '/all'),
    };
    expectMissedPolicies(times, Math.ceil(stoppedAtS) + 1, Math.floor(restartedAtS) + 2, 3);
    const metrics = parseMetrics((await request(again.getHttpServer()).get('/metrics')).text);
    expect(metricValue(metrics, 'delay_tasks_schedule_occurrences_skipped_total')).toBeGreaterThan(
      0,
    );
  });
});

describe('local-time tasks', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  async function timeToRun(cate: string, key: number): Promise<number> {
    const res = await send(fixture.app, 'get', `/task/${cate}/${key}`);
    expect(res.status).toBe(200);
    return (res.body as { result: { timeToRun: number } }).result.timeToRun;
  }

  it('reads "at" in "timezone" with the DST rule: a time in the gap moves forward, a repeated one is its first instance', async () => {
    const cate = uniqueName('local');
    const post = (body: object) =>
      send(fixture.app, 'post', `/task/${cate}`).send(JSON.stringify(body));
    expect(
      (await post({ key: 1, at: '2027-03-28T02:30:00', timezone: 'Europe/Berlin' })).status,
    ).toBe(200);
    expect((await post({ key: 2, at: '2027-10-31T02:30', timezone: 'Europe/Berlin' })).status).toBe(
      200,
    );
    expect(
      (await post({ key: 3, at: '2027-03-14T02:30:00', timezone: 'America/New_York' })).status,
    ).toBe(200);
    expect((await post({ key: 4, at: '2027-07-01T09:00:00.250', timezone: 'UTC' })).status).toBe(
      200,
    );
    await expect(timeToRun(cate, 1)).resolves.toBe(Date.UTC(2027, 2, 28, 1, 30) / 1000);
    await expect(timeToRun(cate, 2)).resolves.toBe(Date.UTC(2027, 9, 31, 0, 30) / 1000);
    await expect(timeToRun(cate, 3)).resolves.toBe(Date.UTC(2027, 2, 14, 7, 30) / 1000);
    await expect(timeToRun(cate, 4)).resolves.toBe(Date.UTC(2027, 6, 1, 9, 0, 0, 250) / 1000);

    const batch = await send(fixture.app, 'post', `/tasks/${cate}`).send(
      JSON.stringify({
        tasks: [
          { key: 5, at: '2027-03-28T02:30:00', timezone: 'Europe/Berlin' },
          { key: 6, timestamp: Date.UTC(2027, 0, 1) / 1000 },
        ],
      }),
    );
    expect(batch.status).toBe(200);
    await expect(timeToRun(cate, 5)).resolves.toBe(Date.UTC(2027, 2, 28, 1, 30) / 1000);
    await expect(timeToRun(cate, 6)).resolves.toBe(Date.UTC(2027, 0, 1) / 1000);
  });

  const invalid: Array<[string, object, RegExp]> = [
    [
      'both',
      { key: 1, timestamp: 1900000000, at: '2030-01-01T00:00', timezone: 'UTC' },
      /^give either timestamp or at/,
    ],
    ['neither', { key: 1 }, /^timestamp is required$/],
    ['at without timezone', { key: 1, at: '2030-01-01T00:00' }, /^timezone is required with at/],
    [
      'timezone without at',
      { key: 1, timestamp: 1900000000, timezone: 'UTC' },
      /^timezone goes with at/,
    ],
    ['at with an offset', { key: 1, at: '2030-01-01T00:00+02:00', timezone: 'UTC' }, /^at must be/],
    ['31 February', { key: 1, at: '2030-02-31T00:00', timezone: 'UTC' }, /^at must be/],
    [
      'unknown zone',
      { key: 1, at: '2030-01-01T00:00', timezone: 'Europe/Atlantis' },
      /^timezone must be/,
    ],
    [
      'in the past',
      { key: 1, at: '2020-01-01T00:00', timezone: 'UTC' },
      /^at 2020-01-01T00:00 \(UTC\) is more than 60 seconds in the past/,
    ],
  ];

  it.each(invalid)('answers 400 naming the field: %s, and writes nothing', async (_, body, msg) => {
    const cate = uniqueName('badlocal');
    const res = await send(fixture.app, 'post', `/task/${cate}`).send(JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual({ code: 400, msg: expect.stringMatching(msg) });
    const batch = await send(fixture.app, 'post', `/tasks/${cate}`).send(
      JSON.stringify({ tasks: [{ key: 9, timestamp: 1900000000 }, body] }),
    );
    expect(batch.status).toBe(400);
    expect((batch.body as { msg: string }).msg).toMatch(/^tasks\[1\]\./);
    const rows = await fixture.db.query(`SELECT 1 FROM tasks WHERE cate = $1`, [cate]);
    expect(rows).toHaveLength(0);
  });
});
