import { SchedulerRegistry } from '@nestjs/schedule';
import { DispatchStatsRepository } from '../src/modules/dashboard/dispatch-stats.repository';
import { PRUNE_ATTEMPTS, PRUNE_FAILED_TASKS } from '../src/modules/tasks/tasks.sql';
import { TasksRepository } from '../src/modules/tasks/tasks.repository';
import { PRUNE_BATCH, RetentionJob } from '../src/modules/retention/retention.job';
import { startTestApp, testConfig } from './support/app';
import { useTestApp } from './support/fixtures';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

describe('retention', () => {
  const fixture = useTestApp({
    dispatchEnabled: false,
    retentionAttemptsDays: 7,
    retentionFailedDays: 30,
  });

  beforeEach(async () => {
    await fixture.db.query('TRUNCATE tasks, task_attempts, dispatch_stats');
  });

  /** `count` attempt rows of category `cate` created `age` ago. */
  async function insertAttempts(cate: string, count: number, age: string): Promise<void> {
    await fixture.db.query(
      `INSERT INTO task_attempts (task_id, cate, key, delivery_id, attempt, started_at,
         duration_ms, status_code, outcome, error, created_at)
       SELECT g, $1::text, g, gen_random_uuid(), 1, now() - $3::interval, 5, 500, 'http_5xx',
         'HTTP 500', now() - $3::interval
       FROM generate_series(1, $2::int) g`,
      [cate, count, age],
    );
  }

  /** A task of `cate`/`key` in `state`, last changed `age` ago. */
  async function insertTask(cate: string, key: number, state: string, age: string): Promise<void> {
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, last_error,
         lease_owner, lease_expires_at, updated_at)
       VALUES ($1, $2, now() - $4::interval, now() - $4::interval, 'null', $3::text, 3,
         CASE WHEN $3::text = 'failed' THEN 'HTTP 500' END,
         CASE WHEN $3::text = 'running' THEN 'w' END,
         CASE WHEN $3::text = 'running' THEN now() + interval '1 minute' END,
         now() - $4::interval)`,
      [cate, key, state, age],
    );
  }

  async function countsByCate(table: 'tasks' | 'task_attempts'): Promise<Record<string, number>> {
    const rows = await fixture.db.query<{ cate: string; n: number }>(
      `SELECT cate, count(*)::int AS n FROM ${table} GROUP BY cate`,
    );
    return Object.fromEntries(rows.map((row) => [row.cate, row.n]));
  }

  it('deletes attempt history older than RETENTION_ATTEMPTS_DAYS in batches and keeps the rest', async () => {
    await insertAttempts('old', PRUNE_BATCH * 2 + 7, '8 days');
    await insertAttempts('recent', 50, '6 days 23 hours');
    await insertAttempts('new', 10, '1 second');

    const counts = await fixture.app.get(RetentionJob).prune();
    expect(counts).toStrictEqual({
      attempts: PRUNE_BATCH * 2 + 7,
      failedTasks: 0,
      dispatchStats: 0,
    });
    expect(await countsByCate('task_attempts')).toStrictEqual({ recent: 50, new: 10 });
  });

  it('deletes tasks failed more than RETENTION_FAILED_DAYS ago and keeps every other task', async () => {
    await insertTask('old', 1, 'failed', '31 days');
    await insertTask('old', 2, 'failed', '400 days');
    await insertTask('recent', 1, 'failed', '29 days');
    await insertTask('waiting', 1, 'pending', '90 days');
    await insertTask('running', 1, 'running', '90 days');

    const counts = await fixture.app.get(RetentionJob).prune();
    expect(counts).toStrictEqual({ attempts: 0, failedTasks: 2, dispatchStats: 0 });
    expect(await countsByCate('tasks')).toStrictEqual({ recent: 1, waiting: 1, running: 1 });
  });

  it('deletes each row once when two replicas prune at the same time', async () => {
    const other = await startTestApp(fixture.db.url, { dispatchEnabled: false });
    try {
      await insertAttempts('old', PRUNE_BATCH * 4, '10 days');
      await insertAttempts('new', 20, '1 day');
      for (let key = 1; key <= 50; key++) await insertTask('old', key, 'failed', '60 days');

      const [mine, theirs] = await Promise.all([
        fixture.app.get(RetentionJob).prune(),
        other.get(RetentionJob).prune(),
      ]);
      expect(mine.attempts + theirs.attempts).toBe(PRUNE_BATCH * 4);
      expect(mine.failedTasks + theirs.failedTasks).toBe(50);
      expect(await countsByCate('task_attempts')).toStrictEqual({ new: 20 });
      expect(await countsByCate('tasks')).toStrictEqual({});
    } finally {
      await other.close();
    }
  });

  it('deletes the dashboard statistics of buckets over a day old', async () => {
    // Two replicas: the last 100 buckets (17 minutes), and 50 from 25 hours ago on.
    await fixture.db.query(
      `INSERT INTO dispatch_stats (bucket_start, replica_id, outcomes, lateness)
       SELECT date_bin('10 seconds', now(), TIMESTAMPTZ 'epoch') - g * interval '10 seconds',
         r, '{"success": 1}', '{1}'
       FROM (SELECT generate_series(0, 99) UNION ALL SELECT generate_series(9000, 9049)) b(g),
         unnest(ARRAY['a', 'b']) r`,
    );
    const counts = await fixture.app.get(RetentionJob).prune();
    expect(counts).toStrictEqual({ attempts: 0, failedTasks: 0, dispatchStats: 2 * 50 });
    const [left] = await fixture.db.query<{ n: number; oldest_ok: boolean }>(
      `SELECT count(*)::int AS n, min(bucket_start) >= now() - interval '1 day' AS oldest_ok
       FROM dispatch_stats`,
    );
    expect(left).toStrictEqual({ n: 2 * 100, oldest_ok: true });
  });

  it('keeps tasks and attempts when both ages are 0, and still prunes dashboard statistics', async () => {
    await insertAttempts('old', 10, '1000 days');
    await insertTask('old', 1, 'failed', '1000 days');
    await fixture.db.query(
      `INSERT INTO dispatch_stats (bucket_start, replica_id, outcomes, lateness)
       VALUES (now() - interval '2 days', 'a', '{}', '{}')`,
    );
    const scheduler = new SchedulerRegistry();
    const job = new RetentionJob(
      fixture.app.get(TasksRepository),
      fixture.app.get(DispatchStatsRepository),
      scheduler,
      { ...testConfig(fixture.db.url), retentionAttemptsDays: 0, retentionFailedDays: 0 },
    );
    job.onApplicationBootstrap();
    expect(scheduler.getIntervals()).toStrictEqual(['retention']);
    job.beforeApplicationShutdown();
    expect(await job.prune()).toStrictEqual({ attempts: 0, failedTasks: 0, dispatchStats: 1 });
    expect(await countsByCate('task_attempts')).toStrictEqual({ old: 10 });
    expect(await countsByCate('tasks')).toStrictEqual({ old: 1 });
    expect(fixture.app.get(SchedulerRegistry).getIntervals()).toContain('retention');
  });

  it('finds old rows through the indexes, not by reading the tables', async () => {
    await insertAttempts('old', 2000, '30 days');
    await insertAttempts('new', 50_000, '1 hour');
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'pending', g, now() + interval '1 day', now() + interval '1 day', 'null'
       FROM generate_series(1, 50000) g`,
    );
    for (let key = 1; key <= 20; key++) await insertTask('old', key, 'failed', '60 days');
    await fixture.db.query('ANALYZE tasks');
    await fixture.db.query('ANALYZE task_attempts');

    /** "<node type> <relation or index>" of every scan in the plan. */
    const scansOf = async (text: string, params: unknown[]) => {
      const [{ 'QUERY PLAN': plan }] = await fixture.db.query<{
        'QUERY PLAN': Array<{ Plan: PlanNode }>;
      }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
      return nodesOf(plan[0].Plan)
        .filter((node) => node['Node Type'].endsWith('Scan') && node['Node Type'] !== 'CTE Scan')
        .map((node) => `${node['Node Type']} ${node['Index Name'] ?? node['Relation Name']}`);
    };
    expect(await scansOf(PRUNE_FAILED_TASKS, [30, PRUNE_BATCH])).toStrictEqual([
      'Index Scan tasks_failed_updated_at_idx',
      'Index Scan tasks_pkey',
    ]);
    expect(await scansOf(PRUNE_ATTEMPTS, [7, PRUNE_BATCH])).toStrictEqual(
      expect.arrayContaining([
        'Bitmap Heap Scan task_attempts',
        'Bitmap Index Scan task_attempts_created_at_brin',
      ]),
    );
  });
});
