import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess } from '../support/service-process';
import { formatSummary, lateness, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { insertDueTasks } from './support/pg';
import { callApi, hasExited, registerHandler, replicaEnv } from './support/replicas';
import { waitFor } from './support/wait';

const MAX_ATTEMPTS = 3;
const FINE = 50;

interface TaskState {
  cate: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

describe('poison tasks', () => {
  const fixture = useFaultFixture();
  let service: ServiceProcess;

  beforeAll(async () => {
    [service] = await fixture.replicas.start(
      1,
      replicaEnv(fixture.db.url, {
        MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        RETRY_BASE_DELAY_MS: '100',
        RETRY_MAX_DELAY_MS: '500',
      }),
    );
    for (const cate of ['badsecret', 'badurl', 'nul', 'fine']) {
      await registerHandler(service, cate, fixture.receiver.url(cate === 'nul' ? 'nul' : 'ok'));
    }
  });

  it('fails them like any failed attempt, and the replica keeps delivering the rest', async () => {
    const { pg, receiver } = fixture;
    // Data the API would refuse, written behind its back: a signing secret that does not decode
    // (the request cannot be built), handler URLs the HTTP client cannot parse.
    await pg.query(`UPDATE handlers SET secrets = ARRAY['not base64!'] WHERE cate = 'badsecret'`);
    await pg.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, handler)
       SELECT 'badurl', k, now(), now(), '{}', u
       FROM unnest(ARRAY['http://[::1', 'http://exa mple.com/', 'http://', 'ht tp://x/', 'http://a:99999/'])
         WITH ORDINALITY AS x(u, k)`,
    );
    await insertDueTasks(pg, 'badsecret', 5, 0, 0);
    // A handler answering 500 with a NUL byte in its body (text columns cannot hold one).
    await insertDueTasks(pg, 'nul', 5, 0, 0);
    await insertDueTasks(pg, 'fine', FINE, 0.5, 3);

    const settledMs = await waitFor(
      'every poison task to fail for good',
      async () =>
        (await pg.scalar<number>(
          `SELECT count(*)::int FROM tasks WHERE cate <> 'fine' AND state <> 'failed'`,
        )) === 0,
      20_000,
      100,
    );
    await receiver.waitForKeys('ok', FINE, 10_000);
    await sleep(300);

    const states = await pg.query<TaskState>(
      `SELECT cate, state, attempts, last_error FROM tasks ORDER BY cate, key`,
    );
    const history = await pg.query<{ cate: string; n: number }>(
      `SELECT cate, count(*)::int AS n FROM task_attempts GROUP BY cate ORDER BY cate`,
    );
    const health = await callApi(service, 'GET', '/health/ready');
    const fineLate = summarize(lateness(receiver.callsTo('ok')));
    report('6 poison tasks', {
      'failed after ms': settledMs,
      'final states': states.map((s) => `${s.cate}:${s.state}/${s.attempts}`),
      'errors recorded': [...new Set(states.map((s) => s.last_error))],
      'attempt rows': history,
      'lateness of the healthy category': formatSummary(fineLate),
      'replica ready afterwards': health.status,
    });

    expect(hasExited(service)).toBe(false);
    expect(health.status).toBe(200);
    expect(states).toHaveLength(15);
    for (const task of states) {
      expect(task).toEqual({
        cate: task.cate,
        state: 'failed',
        attempts: MAX_ATTEMPTS,
        last_error: expect.any(String),
      });
    }
    expect(states.filter((s) => s.cate === 'nul').map((s) => s.last_error)).toEqual(
      Array(5).fill(expect.stringContaining('HTTP 500')),
    );
    expect(history).toEqual(
      ['badsecret', 'badurl', 'fine', 'nul'].map((cate) => ({
        cate,
        n: cate === 'fine' ? FINE : 5 * MAX_ATTEMPTS,
      })),
    );
    expect(fineLate.n).toBe(FINE); // each delivered once: their outcomes were not held back
    expect(fineLate.min).toBeGreaterThanOrEqual(0);
    expect(fineLate.p99).toBeLessThan(250);
  });
});
