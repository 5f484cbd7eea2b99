import { Client } from 'pg';
import {
  FORECAST,
  LIST_CATEGORY_ATTEMPTS,
  OVERVIEW,
  REFRESH_SNAPSHOT,
  SNAPSHOT_AGE,
  SNAPSHOT_LOCK_ID,
} from '../src/modules/dashboard/dashboard.sql';
import { FORECAST_CAP } from '../src/modules/dashboard/dashboard.service';
import { SERIES } from '../src/modules/dashboard/dispatch-stats.sql';
import { SNAPSHOT_MAX_AGE_MS } from '../src/modules/dashboard/overview.service';
import { createTestDatabase, TestDatabase } from './support/database';
import { fillDashboardAttempts, fillDashboardTasks } from './support/dashboard-fill';

/**
 * The dashboard's statements at its scale: a million tasks in 1,000 categories, a million
 * attempts, a day of statistics from 10 replicas. EXPLAIN ANALYZE of each: the request-path
 * reads (overview, forecast, a category's attempts, the series) never read tasks or attempts
 * beyond what they answer (no sequential or bitmap scan, no sort of the backlog); the
 * snapshot's recount is the one statement that reads every task, once, and reads none when
 * another session holds its lock.
 */
const TASKS = 1_000_000;
const CATEGORIES = 1000;
const ATTEMPTS = 1_000_000;
const REPLICAS = 10;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Heap Fetches'?: number;
  Plans?: PlanNode[];
}

interface Explained {
  plan: PlanNode;
  executionMs: number;
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

function rowsRead(node: PlanNode): number {
  return (
    node['Actual Rows'] * node['Actual Loops'] +
    (node['Rows Removed by Filter'] ?? 0) +
    (node['Rows Removed by Index Recheck'] ?? 0)
  );
}

function scansOf(plan: PlanNode, relation: string): PlanNode[] {
  return nodesOf(plan).filter((node) => node['Relation Name'] === relation);
}

describe('dashboard statement plans on 1,000,000 tasks in 1,000 categories', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    const run = (sql: string, params?: unknown[]) => db.query(sql, params);
    await fillDashboardTasks(run, TASKS, CATEGORIES);
    await fillDashboardAttempts(run, ATTEMPTS, CATEGORIES);
    await db.query(
      `INSERT INTO dispatch_stats (bucket_start, replica_id, outcomes, lateness)
       SELECT date_bin('10 seconds', now(), TIMESTAMPTZ 'epoch') - g * interval '10 seconds',
         'replica-' || r, '{"success": 40, "http_5xx": 1}', array_fill(1, ARRAY[31])
       FROM generate_series(0, 8639) g, generate_series(1, $1::int) r`,
      [REPLICAS],
    );
    await db.query('VACUUM ANALYZE dispatch_stats');
  }, 300_000);

  afterAll(async () => {
    await db?.drop();
  });

  async function explain(text: string, params: unknown[]): Promise<Explained> {
    const [row] = await db.query<{
      'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }>;
    }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
    const [result] = row['QUERY PLAN'];
    return { plan: result.Plan, executionMs: result['Execution Time'] };
  }

  function expectNoFullScans(plan: PlanNode): void {
    for (const node of nodesOf(plan)) {
      const type = node['Node Type'];
      expect({ type, relation: node['Relation Name'] }).not.toStrictEqual({
        type: 'Seq Scan',
        relation: expect.stringMatching(/^(tasks|task_attempts|dispatch_stats)$/),
      });
      expect(type.startsWith('Bitmap')).toBe(false);
      if (type === 'Sort' || type === 'Incremental Sort') {
        expect(rowsRead(node)).toBeLessThanOrEqual(CATEGORIES * 2);
      }
    }
  }

  it('counts every task once per recount, and none when another session is recounting', async () => {
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('SELECT pg_advisory_lock($1)', [SNAPSHOT_LOCK_ID]);
      const { plan: skipped } = await explain(REFRESH_SNAPSHOT, [SNAPSHOT_LOCK_ID, 0]);
      for (const scan of scansOf(skipped, 'tasks')) expect(rowsRead(scan)).toBe(0);
    } finally {
      await locker.end();
    }
    expect(await db.query('SELECT 1 FROM dashboard_snapshots')).toHaveLength(0);

    const { plan, executionMs } = await explain(REFRESH_SNAPSHOT, [SNAPSHOT_LOCK_ID, 0]);
    const scans = scansOf(plan, 'tasks');
    expect(scans).toHaveLength(1);
    expect(rowsRead(scans[0])).toBe(TASKS);
    const aggregates = nodesOf(plan).filter((node) => node['Node Type'] === 'Aggregate');
    expect(aggregates.length).toBeGreaterThan(0);
    const [snapshot] = await db.query<{ n: number; pending: number; due: number }>(
      `SELECT cardinality(cates) AS n, (SELECT sum(x) FROM unnest(pending) x)::int AS pending,
         (SELECT sum(x) FROM unnest(due_now) x)::int AS due FROM dashboard_snapshots`,
    );
    // Due as of the recount's own clock: tasks keep falling due while the test runs.
    const [expected] = await db.query<{ pending: number; due: number }>(
      `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
         count(*) FILTER (WHERE state = 'pending' AND (run_at = 'infinity'
           OR run_at <= (SELECT taken_at FROM dashboard_snapshots)))::int AS due FROM tasks`,
    );
    expect(snapshot).toStrictEqual({ n: CATEGORIES, ...expected });
    console.log(`dashboard recount of ${TASKS} tasks: ${Math.round(executionMs)} ms`);

    // A second recount right away finds the counts fresh and reads nothing.
    const { plan: fresh } = await explain(REFRESH_SNAPSHOT, [
      SNAPSHOT_LOCK_ID,
      SNAPSHOT_MAX_AGE_MS,
    ]);
    for (const scan of scansOf(fresh, 'tasks')) expect(rowsRead(scan)).toBe(0);
  });

  it('reads the overview from the snapshot and handlers, and one index entry of tasks', async () => {
    await db.query(REFRESH_SNAPSHOT, [SNAPSHOT_LOCK_ID, 0]);
    const { plan: age } = await explain(SNAPSHOT_AGE, []);
    expect(scansOf(age, 'tasks')).toHaveLength(0);

    const { plan, executionMs } = await explain(OVERVIEW, []);
    expectNoFullScans(plan);
    const scans = scansOf(plan, 'tasks');
    expect(scans.map((scan) => scan['Index Name'])).toStrictEqual(['tasks_pending_run_at_idx']);
    expect(rowsRead(scans[0])).toBeLessThanOrEqual(1);
    const [row] = await db.query<{ categories: unknown[] }>(OVERVIEW);
    expect(row.categories).toHaveLength(CATEGORIES);
    console.log(`dashboard overview read: ${executionMs.toFixed(1)} ms`);
  });

  it('counts the forecast through tasks_pending_run_at_idx, at most the cap per minute', async () => {
    const { plan, executionMs } = await explain(FORECAST, [FORECAST_CAP]);
    expectNoFullScans(plan);
    const scans = scansOf(plan, 'tasks');
    expect(scans).toHaveLength(1);
    const [scan] = scans;
    expect(scan['Index Name']).toBe('tasks_pending_run_at_idx');
    expect(['Index Only Scan', 'Index Scan']).toContain(scan['Node Type']);
    expect(scan['Actual Loops']).toBe(60);
    // Four tenths of the tasks fall due within the hour: those are read, no other. (Counted a
    // moment after the EXPLAIN, with a minute of slack each side: a minute may have turned.)
    const [{ hour }] = await db.query<{ hour: number }>(
      `SELECT count(*)::int AS hour FROM tasks WHERE state = 'pending'
         AND run_at >= date_trunc('minute', now()) - interval '1 minute'
         AND run_at < date_trunc('minute', now()) + interval '61 minutes'`,
    );
    expect(rowsRead(scan)).toBeLessThanOrEqual(Math.min(hour, 60 * (FORECAST_CAP + 1)));
    console.log(`dashboard forecast: ${executionMs.toFixed(1)} ms over ${rowsRead(scan)} entries`);
  });

  it("reads a category's attempts backwards through task_attempts_cate_id_idx, a page only", async () => {
    for (const before of ['9223372036854775807', String(ATTEMPTS / 2)]) {
      const { plan } = await explain(LIST_CATEGORY_ATTEMPTS, ['c7', before, 100]);
      expectNoFullScans(plan);
      const scans = scansOf(plan, 'task_attempts');
      expect(scans).toHaveLength(1);
      expect(scans[0]['Index Name']).toBe('task_attempts_cate_id_idx');
      expect(scans[0]['Scan Direction']).toBe('Backward');
      expect(rowsRead(scans[0])).toBe(100);
      expect(nodesOf(plan).some((node) => node['Node Type'].includes('Sort'))).toBe(false);
    }
  });

  it("reads the series' window of dispatch_stats through its key", async () => {
    const { plan, executionMs } = await explain(SERIES, [360]);
    const scans = scansOf(plan, 'dispatch_stats');
    expect(scans).toHaveLength(1);
    expect(scans[0]['Node Type']).not.toBe('Seq Scan');
    // An index scan of the key, or a bitmap built from it: either way the window's range only.
    const indexes = nodesOf(plan).flatMap((node) => node['Index Name'] ?? []);
    expect(indexes).toStrictEqual(['dispatch_stats_pkey']);
    expect(rowsRead(scans[0])).toBeLessThanOrEqual(360 * REPLICAS);
    console.log(
      `dashboard series, 60 minutes of ${REPLICAS} replicas: ${executionMs.toFixed(1)} ms`,
    );
  });
});
