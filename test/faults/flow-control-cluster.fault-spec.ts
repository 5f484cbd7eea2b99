import { setTimeout as sleep } from 'node:timers/promises';
import { ReportedCall } from '../support/receiver';
import { ServiceProcess } from '../support/service-process';
import { report } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks } from './support/pg';
import { callApi, registerHandler, replicaEnv } from './support/replicas';
import { waitFor } from './support/wait';

const REPLICAS = 3;

/**
 * Flow control across three real service processes on one database: every replica obeys the
 * same pause, rate limit and circuit, which live in PostgreSQL. Figures are printed (grep
 * "[figures]") and asserted against the contract, not against this machine's speed.
 */
describe('flow control with three replicas', () => {
  const fixture = useFaultFixture();
  let services: ServiceProcess[];

  beforeAll(async () => {
    services = await fixture.replicas.start(
      REPLICAS,
      replicaEnv(fixture.db.url, {
        CALLBACK_TIMEOUT_MS: '2000',
        MAX_ATTEMPTS: '50',
        RETRY_BASE_DELAY_MS: '200',
        RETRY_MAX_DELAY_MS: '1000',
      }),
    );
  });

  const calls = (path: string): ReportedCall[] => fixture.receiver.callsTo(path);

  async function post(service: ServiceProcess, path: string, body?: unknown): Promise<void> {
    const reply = await callApi(service, 'POST', path, body);
    if (reply.status !== 200) throw new Error(`POST ${path}: ${reply.status} ${reply.text}`);
  }

  it('pause: no delivery starts 1 s after the answer, none for 10 s, no attempt spent; resume delivers the backlog at once', async () => {
    const { pg, receiver } = fixture;
    const cate = 'paused';
    await registerHandler(services[0], cate, receiver.url('ok'));
    // A steady flow: 1,500 tasks due over 15 s (100/s), on three replicas.
    await insertDueTasks(pg, cate, 1500, 0.5, 15.5);
    await receiver.waitForKeys('ok', 100, 10_000);
    await post(services[1], `/handler/${cate}/pause`);
    const pausedAt = Date.now();
    await sleep(11_000);
    const afterPause = calls('ok').filter((c) => c.arrivedAtMs > pausedAt);
    const lastStartMs = Math.max(0, ...afterPause.map((c) => c.arrivedAtMs - pausedAt));
    const heldFrom = pausedAt + 1000;
    const heldCalls = calls('ok').filter((c) => c.arrivedAtMs > heldFrom).length;
    const spent = await pg.scalar<number>(
      `SELECT coalesce(sum(attempts), 0)::int FROM tasks WHERE cate = $1 AND state = 'pending'`,
      [cate],
    );
    const backlog = await pg.scalar<number>(
      `SELECT count(*)::int FROM tasks WHERE cate = $1 AND state = 'pending' AND due_at <= now()`,
      [cate],
    );
    const resumedAt = Date.now();
    await post(services[2], `/handler/${cate}/resume`);
    await receiver.waitForKeys('ok', 1500, 30_000);
    const backlogMs = Date.now() - resumedAt;
    report('flow control: pause (3 replicas)', {
      lastDeliveryAfterPauseAnswerMs: Math.round(lastStartMs),
      deliveriesFrom1sTo11sAfterPause: heldCalls,
      attemptsSpentByHeldTasks: spent,
      dueBacklogAtResume: backlog,
      backlogDeliveredAfterResumeMs: backlogMs,
    });
    expect(lastStartMs).toBeLessThanOrEqual(1000);
    expect(heldCalls).toBe(0);
    expect(spent).toBe(0);
    expect(backlog).toBeGreaterThan(900);
  });

  it('rate limit: 50/s summed over the replicas, within burst + rate × t in every window, the backlog drained at the rate', async () => {
    const { pg, receiver } = fixture;
    const cate = 'rated';
    const perSecond = 50;
    const burst = 10;
    await registerHandler(services[0], cate, receiver.url('slow/5'), {
      rateLimit: { perSecond, burst },
    });
    await sleep(1500); // every replica has read the limit
    await insertDueTasks(pg, cate, 1200, 0, 0);
    const startedAt = Date.now();
    await sleep(12_500);
    const arrivals = calls('slow/5')
      .map((c) => c.arrivedAtMs)
      .sort((a, b) => a - b);
    const first = arrivals[0];
    // The steady rate: deliveries from 1 s to 11 s after the first one (the burst is over).
    const steady = arrivals.filter((t) => t >= first + 1000 && t < first + 11_000).length;
    let worstExcess = -Infinity;
    for (let i = 0; i < arrivals.length; i++) {
      for (let j = i; j < arrivals.length; j++) {
        const bound = burst + (perSecond * (arrivals[j] - arrivals[i])) / 1000;
        worstExcess = Math.max(worstExcess, j - i + 1 - bound);
      }
    }
    const spent = await pg.scalar<number>(
      `SELECT coalesce(sum(attempts), 0)::int FROM tasks WHERE cate = $1 AND state = 'pending'`,
      [cate],
    );
    const perReplica = await Promise.all(
      services.map(async (s) => {
        const text = (await callApi(s, 'GET', '/metrics')).text;
        const line = /^delay_tasks_attempts_total\{[^}]*outcome="success"[^}]*\} (\d+)/m.exec(text);
        return Number(line?.[1] ?? NaN);
      }),
    );
    report('flow control: rate limit 50/s (3 replicas)', {
      deliveredIn10sAfterTheFirstSecond: steady,
      expected: perSecond * 10,
      errorPercent: Number((((steady - perSecond * 10) / (perSecond * 10)) * 100).toFixed(1)),
      worstWindowExcessOverBurstPlusRateT: Number(worstExcess.toFixed(2)),
      attemptsSpentByWaitingTasks: spent,
      totalDeliveredIn12_5s: arrivals.length,
      sinceInsertMs: Date.now() - startedAt,
      successesPerReplicaSinceStart: perReplica.join(' / '),
    });
    expect(Math.abs(steady - perSecond * 10)).toBeLessThanOrEqual(perSecond * 10 * 0.1);
    // A delivery reaches the receiver a little after its claim took the token: 2 of slack.
    expect(worstExcess).toBeLessThanOrEqual(2);
    expect(spent).toBe(0);
    await post(services[0], `/handler/${cate}`, { handler: receiver.url('slow/5'), rateLimit: null });
    await receiver.waitForKeys('slow/5', 1200, 20_000);
  });

  it('circuit: opens after the threshold, one probe at a time cluster-wide, closes when the receiver recovers, no task fails', async () => {
    const { pg, receiver } = fixture;
    const cate = 'breaker';
    const threshold = 5;
    const cooldownMs = 1000;
    await registerHandler(services[0], cate, receiver.url('switch/breaker'), {
      circuitBreaker: { failureThreshold: threshold, cooldownMs },
      maxAttempts: 10,
    });
    await receiver.setStatus('breaker', 503);
    await insertDueTasks(pg, cate, 200, 0, 4);
    await waitFor(
      'the circuit to open',
      async () =>
        (await pg.scalar<string>(`SELECT circuit_state FROM handlers WHERE cate = $1`, [cate])) !==
        'closed',
      10_000,
    );
    const openedAt = Date.now();
    const failingBefore = calls('switch/breaker').length;
    await sleep(6000); // open: probes only, one at a time, the cooldown doubling (1, 2, 4 s)
    const whileOpen = calls('switch/breaker').filter((c) => c.arrivedAtMs > openedAt + 200);
    await receiver.setStatus('breaker', 200);
    const recoveredAt = Date.now();
    await waitFor(
      'every task delivered',
      async () =>
        (await pg.scalar<number>(`SELECT count(*)::int FROM tasks WHERE cate = $1`, [cate])) === 0,
      30_000,
      100,
    );
    const closedAfterMs = Date.now() - recoveredAt;
    const failed = await pg.scalar<number>(
      `SELECT count(*)::int FROM task_attempts WHERE cate = $1 AND outcome = 'http_5xx'`,
      [cate],
    );
    report('flow control: circuit breaker (3 replicas)', {
      callsBeforeOpen: failingBefore,
      callsWhileOpenIn6s: whileOpen.length,
      backlogDeliveredAfterRecoveryMs: closedAfterMs,
      failedAttemptsInAll: failed,
    });
    // Before it opened: the threshold, plus what was already in flight on three replicas.
    expect(failingBefore).toBeLessThanOrEqual(threshold + 3 * 64);
    // Open for 6 s with cooldowns of 1, 2 then 4 s: at most 3 probes (one at a time).
    expect(whileOpen.length).toBeGreaterThanOrEqual(1);
    expect(whileOpen.length).toBeLessThanOrEqual(3);
    await expect(
      pg.scalar<number>(`SELECT count(*)::int FROM tasks WHERE state = 'failed' AND cate = $1`, [
        cate,
      ]),
    ).resolves.toBe(0);
  });
});
