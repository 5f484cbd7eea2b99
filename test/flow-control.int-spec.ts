import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { useTestApp } from './support/fixtures';
import { uniqueName } from './support/names';
import { CallbackReceiver } from './support/receiver';
import { header, postTask, unixSeconds, waitFor } from './support/tasks-api';

/**
 * Pause/resume, the circuit breaker and the receiver's steering answers (410, 425), against a
 * real PostgreSQL and a real receiver. Each test has its own category.
 */
describe('flow control', () => {
  const fixture = useTestApp({
    pollIntervalMs: 200,
    retryBaseDelayMs: 100,
    retryMaxDelayMs: 400,
    maxAttempts: 100,
  });
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await fixture.receiver();
  });

  const http = () => request(fixture.app.getHttpServer());

  async function register(cate: string, settings: Record<string, unknown> = {}): Promise<void> {
    const res = await http()
      .post(`/handler/${cate}`)
      .send({ handler: receiver.url(`/${cate}`), ...settings });
    expect(res.status).toBe(200);
  }

  async function handler(cate: string) {
    const res = await http().get(`/handler/${cate}`);
    expect(res.status).toBe(200);
    return (res.body as { result: Record<string, unknown> }).result as {
      paused: boolean;
      circuitBreaker: false | { failureThreshold: number; cooldownMs: number };
      circuit: { state: string; consecutiveFailures: number; openedAt: string | null };
    };
  }

  async function tasksOf(cate: string) {
    return fixture.db.query<{ key: string; state: string; attempts: number; last_error: string }>(
      `SELECT key::text, state, attempts, last_error FROM tasks WHERE cate = $1 ORDER BY key`,
      [cate],
    );
  }

  const callsOf = (cate: string) => receiver.callsTo(`/${cate}`);

  describe('pause and resume', () => {
    it('holds a paused category’s due tasks without spending attempts, then delivers the backlog on resume', async () => {
      const cate = uniqueName('paused');
      await register(cate);
      const paused = await http().post(`/handler/${cate}/pause`);
      expect(paused.status).toBe(200);
      expect((paused.body as { result: { paused: boolean } }).result.paused).toBe(true);
      for (let key = 1; key <= 5; key++)
        await postTask(fixture.app, cate, { timestamp: unixSeconds(), key });
      await sleep(1500);
      expect(callsOf(cate)).toHaveLength(0);
      const held = await tasksOf(cate);
      expect(held.map((t) => [t.key, t.state, t.attempts])).toEqual(
        ['1', '2', '3', '4', '5'].map((key) => [key, 'pending', 0]),
      );

      const resumedAt = Date.now();
      const resumed = await http().post(`/handler/${cate}/resume`);
      expect(resumed.status).toBe(200);
      await waitFor('the backlog to be delivered', () => callsOf(cate).length === 5, 3000);
      expect(Math.max(...callsOf(cate).map((c) => c.arrivedAtMs)) - resumedAt).toBeLessThan(1000);
      await expect(handler(cate)).resolves.toMatchObject({ paused: false });
    });

    it('parks the tasks a retry re-queues into a paused category, and delivers them on resume', async () => {
      const cate = uniqueName('retrypaused');
      await register(cate);
      for (let key = 1; key <= 3; key++)
        await postTask(fixture.app, cate, { timestamp: unixSeconds() + 3600, key });
      // Failed as tasks fail: after their due time.
      await fixture.db.query(
        `UPDATE tasks SET state = 'failed', due_at = now() - interval '1 minute' WHERE cate = $1`,
        [cate],
      );
      expect((await http().post(`/handler/${cate}/pause`)).status).toBe(200);
      expect((await http().post(`/task/${cate}/1/retry`)).status).toBe(200);
      expect((await http().post(`/tasks/${cate}/retry`).send({})).status).toBe(200);
      const parked = await fixture.db.query<{ parked: boolean; attempts: number }>(
        `SELECT run_at = 'infinity' AS parked, attempts FROM tasks WHERE cate = $1`,
        [cate],
      );
      expect(parked).toEqual([1, 2, 3].map(() => ({ parked: true, attempts: 0 })));
      await sleep(300);
      expect(callsOf(cate)).toHaveLength(0);
      expect((await http().post(`/handler/${cate}/resume`)).status).toBe(200);
      await waitFor('the retried tasks to be delivered', () => callsOf(cate).length === 3, 3000);
    });

    it('releases parked tasks of a category that is not held, whoever parked them', async () => {
      const cate = uniqueName('stray');
      await register(cate);
      for (let key = 1; key <= 3; key++)
        await postTask(fixture.app, cate, { timestamp: unixSeconds() + 2, key });
      // Parked as a retry leaves them when the category was resumed between its check and its
      // commit: released at the next look, due at their due time.
      await fixture.db.query(`UPDATE tasks SET run_at = 'infinity' WHERE cate = $1`, [cate]);
      await waitFor(
        'the stray parked tasks to be delivered',
        () => callsOf(cate).length === 3,
        6000,
      );
    });

    it('is idempotent and answers 404 for an unknown category', async () => {
      const cate = uniqueName('idem');
      await register(cate);
      await expect(http().post(`/handler/${cate}/pause`)).resolves.toMatchObject({ status: 200 });
      await expect(http().post(`/handler/${cate}/pause`)).resolves.toMatchObject({ status: 200 });
      await expect(http().post(`/handler/${cate}/resume`)).resolves.toMatchObject({ status: 200 });
      await expect(http().post(`/handler/${cate}/resume`)).resolves.toMatchObject({ status: 200 });
      const missing = await http().post(`/handler/${uniqueName('nope')}/pause`);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 404 });
    });
  });

  describe('circuit breaker', () => {
    it('opens after the threshold, probes once per cooldown, closes when the receiver recovers; no task fails', async () => {
      const cate = uniqueName('breaker');
      let healthy = false;
      const previous = receiver.reply;
      receiver.reply = (call, index) =>
        call.path.startsWith(`/${cate}`)
          ? { status: healthy ? 200 : 503, body: healthy ? 'OK' : 'down' }
          : previous(call, index);
      await register(cate, { circuitBreaker: { failureThreshold: 3, cooldownMs: 600 } });
      for (let key = 1; key <= 10; key++)
        await postTask(fixture.app, cate, { timestamp: unixSeconds(), key });

      await waitFor(
        'the circuit to open',
        async () => (await handler(cate)).circuit.state === 'open',
        5000,
      );
      const opened = await handler(cate);
      expect(opened.circuit.consecutiveFailures).toBeGreaterThanOrEqual(3);
      expect(opened.circuit.openedAt).not.toBeNull();
      // While open: only probes, one per open period (600 ms, then 1.2 s: doubled after a failed probe).
      const before = callsOf(cate).length;
      await sleep(2500);
      const probes = callsOf(cate).length - before;
      expect(probes).toBeGreaterThanOrEqual(1);
      expect(probes).toBeLessThanOrEqual(3);

      healthy = true;
      await waitFor(
        'the circuit to close',
        async () => (await handler(cate)).circuit.state === 'closed',
        6000,
      );
      await waitFor(
        'every task to be delivered',
        async () => (await tasksOf(cate)).length === 0,
        5000,
      );
      const failed = await fixture.db.query(
        `SELECT 1 FROM tasks WHERE cate = $1 AND state = 'failed'`,
        [cate],
      );
      expect(failed).toEqual([]);
      receiver.reply = previous;
    });

    it('is closed by a resume, and can be turned off', async () => {
      const cate = uniqueName('manual');
      await register(cate, { circuitBreaker: { failureThreshold: 1, cooldownMs: 600_000 } });
      await fixture.db.query(
        `UPDATE handlers SET circuit_state = 'open', circuit_failures = 5, circuit_opened_at = now(),
           circuit_open_ms = 600000, circuit_next_probe_at = now() + interval '10 minutes'
         WHERE cate = $1`,
        [cate],
      );
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
      await sleep(800);
      expect(callsOf(cate)).toHaveLength(0); // open: not claimed
      await expect(tasksOf(cate)).resolves.toEqual([expect.objectContaining({ attempts: 0 })]);

      await http().post(`/handler/${cate}/resume`);
      await waitFor('the held task to be delivered', () => callsOf(cate).length === 1, 3000);
      await expect(handler(cate)).resolves.toMatchObject({
        circuit: { state: 'closed', consecutiveFailures: 0 },
      });

      await register(cate, { circuitBreaker: false });
      await expect(handler(cate)).resolves.toMatchObject({ circuitBreaker: false });
      await register(cate, { circuitBreaker: null });
      await expect(handler(cate)).resolves.toMatchObject({
        circuitBreaker: { failureThreshold: 20, cooldownMs: 30_000 },
      });
    });

    it.each([
      [{ failureThreshold: 0 }],
      [{ cooldownMs: 50 }],
      [{ cooldownMs: 600_001 }],
      [{ other: 1 }],
      [true],
      ['off'],
    ])('refuses circuitBreaker %j with a 400 naming the field', async (value) => {
      const cate = uniqueName('invalid');
      const res = await http()
        .post(`/handler/${cate}`)
        .send({ handler: receiver.url(), circuitBreaker: value });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('circuitBreaker');
      await expect(http().get(`/handler/${cate}`)).resolves.toMatchObject({ status: 404 });
    });
  });

  describe('receiver steering', () => {
    it('410 Gone fails the task at once, with no more attempts', async () => {
      const cate = uniqueName('gone');
      const previous = receiver.reply;
      receiver.reply = (call, index) =>
        call.path.startsWith(`/${cate}`)
          ? { status: 410, body: 'no such order' }
          : previous(call, index);
      await register(cate);
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
      await waitFor(
        'the task to fail',
        async () => (await tasksOf(cate))[0]?.state === 'failed',
        3000,
      );
      const [task] = await tasksOf(cate);
      expect(task.attempts).toBe(1);
      expect(task.last_error).toContain('410');
      await sleep(500);
      expect(callsOf(cate)).toHaveLength(1);
      const attempts = await http().get(`/task/${cate}/1/attempts`);
      expect(JSON.stringify(attempts.body)).toContain('"outcome":"gone"');
      receiver.reply = previous;
    });

    it('425 Too Early with Retry-After snoozes the task without spending an attempt', async () => {
      const cate = uniqueName('snooze');
      const previous = receiver.reply;
      let answered = 0;
      receiver.reply = (call, index) => {
        if (!call.path.startsWith(`/${cate}`)) return previous(call, index);
        answered += 1;
        return answered === 1
          ? { status: 425, headers: { 'Retry-After': '1' }, body: 'too early' }
          : { status: 200, body: 'OK' };
      };
      await register(cate);
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
      await waitFor('two calls', () => callsOf(cate).length === 2, 4000);
      const [first, second] = callsOf(cate);
      // Not before the time asked for, and the same attempt number: none was spent.
      expect(second.arrivedAtMs - first.arrivedAtMs).toBeGreaterThanOrEqual(950);
      expect(header(first, 'x-delivery-attempt')).toBe('1');
      expect(header(second, 'x-delivery-attempt')).toBe('1');
      expect(header(second, 'x-delivery-id')).toBe(header(first, 'x-delivery-id'));
      await waitFor(
        'the task to be delivered',
        async () => (await tasksOf(cate)).length === 0,
        3000,
      );
      const outcomes = await fixture.db.query<{ outcome: string }>(
        `SELECT outcome FROM task_attempts WHERE cate = $1 ORDER BY id`,
        [cate],
      );
      expect(outcomes.map((o) => o.outcome)).toEqual(['snoozed', 'success']);
      receiver.reply = previous;
    });

    it('425 without Retry-After is an ordinary failed attempt', async () => {
      const cate = uniqueName('early');
      const previous = receiver.reply;
      receiver.reply = (call, index) =>
        call.path.startsWith(`/${cate}`)
          ? { status: 425, body: 'too early' }
          : previous(call, index);
      await register(cate, { maxAttempts: 2 });
      await postTask(fixture.app, cate, { timestamp: unixSeconds(), key: 1 });
      await waitFor(
        'the task to fail',
        async () => (await tasksOf(cate))[0]?.state === 'failed',
        4000,
      );
      await expect(tasksOf(cate)).resolves.toEqual([expect.objectContaining({ attempts: 2 })]);
      receiver.reply = previous;
    });
  });
});
