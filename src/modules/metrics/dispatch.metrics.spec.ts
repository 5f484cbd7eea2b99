import { ClaimedTask } from '../dispatch/queue.types';
import { AttemptOutcome, AttemptRecord } from '../tasks/tasks.types';
import { ATTEMPT_OUTCOMES } from '../tasks/tasks.types';
import { DispatchMetrics } from './dispatch.metrics';
import { MetricsRegistry } from './metrics.registry';

const DUE_MS = 1_800_000_000_000;

function claimed(overrides: Partial<ClaimedTask> = {}): ClaimedTask {
  return {
    id: '1',
    claim_token: 1,
    attempts: 1,
    cate: 'c',
    key: '42',
    params: 'null',
    in_advance: false,
    delivery_id: '00000000-0000-4000-8000-000000000000',
    due_epoch: String(DUE_MS / 1000),
    handler_url: 'http://127.0.0.1:1/',
    max_attempts: null,
    timeout_ms: null,
    secrets: [],
    ...overrides,
  };
}

function attempt(overrides: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    taskId: '1',
    cate: 'c',
    key: '42',
    deliveryId: '00000000-0000-4000-8000-000000000000',
    attempt: 1,
    startedAtMs: DUE_MS + 3,
    durationMs: 250,
    statusCode: 200,
    outcome: 'success',
    error: null,
    ...overrides,
  };
}

describe('DispatchMetrics', () => {
  let registry: MetricsRegistry;
  let metrics: DispatchMetrics;

  beforeEach(() => {
    registry = new MetricsRegistry();
    metrics = new DispatchMetrics(registry);
  });

  afterEach(() => {
    registry.clear();
  });

  async function values(name: string) {
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    return (await metric.get()).values;
  }

  async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
    const found = (await values(name)).find((v) =>
      Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l),
    );
    if (!found) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
    return found.value;
  }

  it('lists every attempt outcome once', () => {
    const all: AttemptOutcome[] = [
      'success',
      'http_4xx',
      'http_5xx',
      'http_other',
      'timeout',
      'connection_error',
      'blocked',
      'no_handler',
      'error',
      'lease_expired',
      'gone',
      'snoozed',
    ];
    expect([...ATTEMPT_OUTCOMES].sort()).toStrictEqual([...all].sort());
  });

  it('exposes every outcome at 0 before the first attempt', async () => {
    const samples = await values('delay_tasks_attempts_total');
    expect(samples.map((s) => s.labels.outcome).sort()).toStrictEqual([...ATTEMPT_OUTCOMES].sort());
    expect(samples.every((s) => s.value === 0)).toBe(true);
  });

  it('counts attempts by outcome and observes their duration in seconds', async () => {
    metrics.attemptFinished(claimed(), attempt({ outcome: 'success', durationMs: 250 }));
    metrics.attemptFinished(claimed(), attempt({ outcome: 'timeout', durationMs: 5000 }));
    metrics.attemptFinished(claimed(), attempt({ outcome: 'timeout', durationMs: 5000 }));
    await expect(sample('delay_tasks_attempts_total', { outcome: 'success' })).resolves.toBe(1);
    await expect(sample('delay_tasks_attempts_total', { outcome: 'timeout' })).resolves.toBe(2);
    await expect(sample('delay_tasks_attempts_total', { outcome: 'http_5xx' })).resolves.toBe(0);
    const duration = 'delay_tasks_attempt_duration_seconds';
    await expect(sample(`${duration}`, { le: '0.25' })).resolves.toBe(1);
    await expect(sample(`${duration}`, { le: '+Inf' })).resolves.toBe(3);
  });

  it("observes the lag of first attempts: start minus the task's due time", async () => {
    metrics.attemptFinished(claimed(), attempt({ startedAtMs: DUE_MS + 3 }));
    const lag = 'delay_tasks_dispatch_lag_seconds';
    await expect(sample(lag, { le: '0.0025' })).resolves.toBe(0);
    await expect(sample(lag, { le: '0.005' })).resolves.toBe(1);
    const sum = (await values(lag)).find(
      (v) => (v as { metricName?: string }).metricName === `${lag}_sum`,
    );
    expect(sum?.value).toBeCloseTo(0.003, 6);
  });

  it('leaves retries and tasks run in advance out of the lag', async () => {
    metrics.attemptFinished(claimed({ attempts: 2 }), attempt({ attempt: 2 }));
    metrics.attemptFinished(
      claimed({ in_advance: true }),
      attempt({ startedAtMs: DUE_MS - 60_000 }),
    );
    await expect(sample('delay_tasks_dispatch_lag_seconds', { le: '+Inf' })).resolves.toBe(0);
    await expect(sample('delay_tasks_attempts_total', { outcome: 'success' })).resolves.toBe(2);
  });

  it('counts a start before the due time (clock skew) as no lag', async () => {
    metrics.attemptFinished(claimed(), attempt({ startedAtMs: DUE_MS - 2 }));
    await expect(sample('delay_tasks_dispatch_lag_seconds', { le: '0.001' })).resolves.toBe(1);
  });

  it('tells its attempt observers of every attempt, with the lateness of first attempts', () => {
    const seen: Array<[string, number | null]> = [];
    const counted: Array<[string, number]> = [];
    metrics.observeAttempts({
      attemptFinished: (outcome, latenessMs) => seen.push([outcome, latenessMs]),
      attemptsCounted: (outcome, count) => counted.push([outcome, count]),
    });
    metrics.attemptFinished(claimed(), attempt({ startedAtMs: DUE_MS + 3 }));
    metrics.attemptFinished(claimed({ attempts: 2 }), attempt({ attempt: 2, outcome: 'timeout' }));
    metrics.leasesRescued(0);
    metrics.leasesRescued(3);
    expect(seen.map(([outcome]) => outcome)).toStrictEqual(['success', 'timeout']);
    expect(seen[0][1]).toBeCloseTo(3, 6);
    expect(seen[1][1]).toBeNull();
    expect(counted).toStrictEqual([['lease_expired', 3]]);
  });

  it('times claims', async () => {
    const done = metrics.claimTimer();
    await new Promise((resolve) => setTimeout(resolve, 5));
    done();
    await expect(sample('delay_tasks_claim_duration_seconds', { le: '+Inf' })).resolves.toBe(1);
    await expect(sample('delay_tasks_claim_duration_seconds', { le: '0.0025' })).resolves.toBe(0);
  });

  it('reads the in-flight count from its source when collected', async () => {
    await expect(sample('delay_tasks_in_flight')).resolves.toBe(0);
    let inFlight = 3;
    metrics.trackInFlight(() => inFlight);
    await expect(sample('delay_tasks_in_flight')).resolves.toBe(3);
    inFlight = 1;
    await expect(sample('delay_tasks_in_flight')).resolves.toBe(1);
  });

  it('adds up rescued leases', async () => {
    metrics.leasesRescued(0);
    metrics.leasesRescued(3);
    metrics.leasesRescued(2);
    await expect(sample('delay_tasks_leases_rescued_total')).resolves.toBe(5);
  });
});
