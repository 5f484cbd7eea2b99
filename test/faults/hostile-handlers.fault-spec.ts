import { setTimeout as sleep } from 'node:timers/promises';
import { ReportedCall } from '../support/receiver';
import { ServiceProcess } from '../support/service-process';
import { formatSummary, lateness, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks } from './support/pg';
import { hasExited, registerHandler, replicaEnv, rssMiB } from './support/replicas';
import { waitFor } from './support/wait';

const TIMEOUT_MS = 2000;
const RETRY_CAP_MS = 3000;
const RETRY_AFTER_S = 2;
/** How far an attempt may end from its timeout: timer and scheduling jitter on a busy machine. */
const END_TOLERANCE_MS = 1000;
const EACH = 10;
const STEADY = 100;
const STEADY_SPREAD_S = 6;

/** Category → handler path (see receiver-process.ts); `steady` is the well-behaved one. */
const HANDLERS: Record<string, string> = {
  hang: 'hang',
  drip: 'drip',
  huge: 'huge',
  reset: 'reset',
  slowdown: `status/429?retryAfter=${RETRY_AFTER_S}`,
  backoff: 'status/429?retryAfter=3600', // asks for an hour: the cap applies
  steady: 'ok',
};
const HOSTILE = Object.keys(HANDLERS).filter((c) => c !== 'steady');

interface AttemptRow {
  cate: string;
  attempt: number;
  duration_ms: number;
  outcome: string;
}

describe('hostile handlers', () => {
  const fixture = useFaultFixture();
  let service: ServiceProcess;

  beforeAll(async () => {
    [service] = await fixture.replicas.start(
      1,
      replicaEnv(fixture.db.url, {
        CALLBACK_TIMEOUT_MS: String(TIMEOUT_MS),
        MAX_ATTEMPTS: '2',
        RETRY_BASE_DELAY_MS: '200',
        RETRY_MAX_DELAY_MS: String(RETRY_CAP_MS),
      }),
    );
    for (const [cate, path] of Object.entries(HANDLERS)) {
      // The breaker off: this scenario is about each attempt's bounds, not about holding back.
      await registerHandler(service, cate, fixture.receiver.url(path), { circuitBreaker: false });
    }
  });

  /** Every hostile task has ended: delivered (gone) or failed for good. */
  const allSettled = async (): Promise<boolean> =>
    (await fixture.pg.scalar<number>(
      `SELECT count(*)::int FROM tasks WHERE state <> 'failed' AND cate <> 'steady'`,
    )) === 0;

  it('ends each attempt by its timeout, honours Retry-After up to the cap, keeps memory flat and others on time', async () => {
    const { pg, receiver } = fixture;
    // Warm-up, so that the memory measured after is compared with a process that ran this code.
    for (const cate of HOSTILE) await insertDueTasks(pg, cate, 2, 0, 0);
    await insertDueTasks(pg, 'steady', 20, 0, 1);
    await waitFor('the warm-up to settle', allSettled, 20_000, 100);
    await pg.query(`DELETE FROM tasks`);
    await pg.query(`DELETE FROM task_attempts`);
    receiver.calls.length = 0;
    await sleep(500);
    const rssBefore = rssMiB(service);

    for (const cate of HOSTILE) await insertDueTasks(pg, cate, EACH, 0.5, 0.5);
    await insertDueTasks(pg, 'steady', STEADY, 0.5, 0.5 + STEADY_SPREAD_S);
    const settleMs = await waitFor('every hostile task to settle', allSettled, 30_000, 100);
    await receiver.waitForKeys('ok', STEADY, 10_000);
    await sleep(1000);
    const rssAfter = rssMiB(service);

    const attempts = await pg.query<AttemptRow>(
      `SELECT cate, attempt, duration_ms, outcome FROM task_attempts ORDER BY id`,
    );
    const durations = (cate: string) =>
      summarize(attempts.filter((a) => a.cate === cate).map((a) => a.duration_ms));
    const byCate = (cate: string): ReportedCall[] => receiver.calls.filter((c) => c.cate === cate);
    const heldOpen = (cate: string) => summarize(byCate(cate).map(openFor));
    const steadyLate = summarize(lateness(byCate('steady')));
    const hugeBytes = byCate('huge').map((c) => c.closed?.bytesSent ?? Infinity);
    const gaps = (cate: string): number[] => retryGaps(byCate(cate));
    const states = await pg.query<{
      cate: string;
      state: string;
      attempts: number;
      n: number;
    }>(`SELECT cate, state, attempts, count(*)::int AS n FROM tasks GROUP BY 1, 2, 3 ORDER BY 1`);
    report('5 hostile handlers', {
      'hang attempt ms': formatSummary(durations('hang')),
      'drip attempt ms': formatSummary(durations('drip')),
      'huge attempt ms': formatSummary(durations('huge')),
      'reset attempt ms': formatSummary(durations('reset')),
      'hang/drip connection held open ms': formatSummary(
        summarize([...byCate('hang'), ...byCate('drip')].map(openFor)),
      ),
      'huge body MiB sent before the cut-off (max)': (Math.max(...hugeBytes) / 2 ** 20).toFixed(1),
      'retry gap with Retry-After 2 s': formatSummary(summarize(gaps('slowdown'))),
      'retry gap with Retry-After 3600 s (cap 3 s)': formatSummary(summarize(gaps('backoff'))),
      'RSS MiB before/after': `${rssBefore.toFixed(0)} / ${rssAfter.toFixed(0)}`,
      'all hostile settled after ms': settleMs,
      'steady lateness': formatSummary(steadyLate),
      'final states': states.map((s) => `${s.cate}:${s.state}x${s.n}(attempts ${s.attempts})`),
    });

    expect(hasExited(service)).toBe(false);
    // A handler that never answers: each attempt is cut off by the timeout and fails.
    const hang = durations('hang');
    expect(hang.n).toBe(EACH * 2);
    expect(hang.min).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(hang.max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(heldOpen('hang').max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(attempts.filter((a) => a.cate === 'hang').every((a) => a.outcome === 'timeout')).toBe(
      true,
    );
    // A 200 whose body drips: the status says delivered, and the body read ends at the timeout.
    const drip = durations('drip');
    expect(drip.n).toBe(EACH);
    expect(drip.min).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(drip.max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(heldOpen('drip').max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(durations('huge').max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(durations('reset').max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    expect(
      attempts.filter((a) => a.cate === 'reset').every((a) => a.outcome === 'connection_error'),
    ).toBe(true);
    // The body is read up to a small cap, then the connection is dropped.
    expect(Math.max(...hugeBytes)).toBeLessThan(64 * 2 ** 20);
    expect(heldOpen('huge').max).toBeLessThanOrEqual(TIMEOUT_MS + END_TOLERANCE_MS);
    // Retry-After is a floor over the backoff, capped at RETRY_MAX_DELAY_MS.
    expect(gaps('slowdown')).toHaveLength(EACH);
    for (const gap of gaps('slowdown')) {
      expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 50);
      expect(gap).toBeLessThanOrEqual(RETRY_AFTER_S * 1000 + END_TOLERANCE_MS);
    }
    expect(gaps('backoff')).toHaveLength(EACH);
    for (const gap of gaps('backoff')) {
      expect(gap).toBeGreaterThanOrEqual(RETRY_CAP_MS - 50);
      expect(gap).toBeLessThanOrEqual(RETRY_CAP_MS + END_TOLERANCE_MS);
    }
    // Failed for good after two attempts, kept and visible; the huge and dripping bodies came
    // with a 200: delivered.
    for (const cate of ['hang', 'reset', 'slowdown', 'backoff']) {
      expect(states.filter((s) => s.cate === cate)).toEqual([
        { cate, state: 'failed', attempts: 2, n: EACH },
      ]);
    }
    expect(states.filter((s) => ['drip', 'huge', 'steady'].includes(s.cate))).toEqual([]);
    expect(rssAfter - rssBefore).toBeLessThan(48);
    expect(steadyLate.n).toBe(STEADY);
    expect(steadyLate.min).toBeGreaterThanOrEqual(0);
    expect(steadyLate.p99).toBeLessThan(250);
  });
});

function openFor(call: ReportedCall): number {
  return (call.closed?.closedAtMs ?? Infinity) - call.arrivedAtMs;
}

/** Per delivery id, the time from attempt 1's arrival to attempt 2's. */
function retryGaps(calls: ReportedCall[]): number[] {
  const first = new Map<string, number>();
  const gaps: number[] = [];
  for (const call of calls) {
    if (call.attempt === 1) first.set(call.deliveryId, call.arrivedAtMs);
    const start = first.get(call.deliveryId);
    if (call.attempt === 2 && start !== undefined) gaps.push(call.arrivedAtMs - start);
  }
  return gaps;
}
