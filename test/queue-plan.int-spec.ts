import { escapeLiteral, PoolClient } from 'pg';
import { DispatchPool } from '../src/database/dispatch-pool';
import {
  CLAIM_DUE,
  CLAIM_RATED,
  LOCK_EXPIRED_LEASES,
  NEXT_DUE_DELAY,
} from '../src/modules/dispatch/queue.sql';
import { createTestDatabase, TestDatabase } from './support/database';

/**
 * The dispatcher's hot path must cost its batch, not the backlog. This fills `tasks` with a
 * million rows, mostly pending tasks due later, and a backlog of 10,000 due tasks, 5,000 running
 * ones (3,000 with expired leases) and 5,000 failed ones, then runs EXPLAIN ANALYZE of the
 * queue's own statements on a connection of the dispatcher's own pool (its session settings),
 * in a transaction that is rolled back. Each must read its partial index in order under a Limit:
 * no sequential or bitmap scan of tasks, no sort, and no more rows read than its batch needs.
 *
 * The dispatcher runs named prepared statements, so after five executions PostgreSQL may switch
 * to a generic plan (parameters unknown): both the custom and the generic plan are checked.
 */
const TASKS = 1_000_000;
/** Ids g with g % 100 = 0: due, spread over the categories in turn. */
const DUE = 10_000;
/** Ids g with g % 1000 in (1, 201, 401), among the running ones (g % 200 = 1). */
const EXPIRED_LEASES = 3_000;
const CATEGORIES = 20;
const CLAIM_BATCH = 100;
/** Categories a worker at its concurrency cap passes over: a tenth of the due rows. */
const SKIPPED = ['c1', 'c2'];
const LEASE_BATCH = 1_000;

const DUE_INDEX = 'tasks_pending_run_at_idx';
const PARKED_INDEX = 'tasks_parked_idx';
const LEASE_INDEX = 'tasks_running_lease_idx';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  'Subplan Name'?: string;
  'Join Type'?: string;
  'Plan Rows': number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Index Cond'?: string;
  Filter?: string;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** The nodes from `node` down to the first one that `match` accepts; undefined if none. */
function pathTo(node: PlanNode, match: (n: PlanNode) => boolean): PlanNode[] | undefined {
  if (match(node)) return [node];
  for (const child of node.Plans ?? []) {
    const path = pathTo(child, match);
    if (path) return [node, ...path];
  }
  return undefined;
}

/** Rows a scan took from its relation: those it returned and those its filters dropped. */
function rowsRead(scan: PlanNode): number {
  return (
    (scan['Actual Rows'] ?? 0) * (scan['Actual Loops'] ?? 1) +
    (scan['Rows Removed by Filter'] ?? 0) +
    (scan['Rows Removed by Index Recheck'] ?? 0)
  );
}

function describeNode(node: PlanNode): string {
  const name = [
    node['Subplan Name'] && `[${node['Subplan Name']}]`,
    node['Join Type'] && node['Join Type'] !== 'Inner' && node['Join Type'],
    node['Node Type'],
    node['Index Name'] && `using ${node['Index Name']}`,
    node['Relation Name'] && `on ${node['Relation Name']}`,
  ];
  const details = [
    `rows=${node['Plan Rows']}`,
    node['Actual Rows'] !== undefined && `actual=${node['Actual Rows']}x${node['Actual Loops']}`,
    node['Rows Removed by Filter'] && `removed=${node['Rows Removed by Filter']}`,
    node['Index Cond'] && `cond: ${node['Index Cond']}`,
    node.Filter && `filter: ${node.Filter}`,
    node['Sort Key'] && `key: ${node['Sort Key'].join(', ')}`,
  ];
  return `${name.filter(Boolean).join(' ')} (${details.filter(Boolean).join('; ')})`;
}

function renderPlan(node: PlanNode, depth = 0): string {
  return [
    `${'  '.repeat(depth)}${describeNode(node)}`,
    ...(node.Plans ?? []).map((child) => renderPlan(child, depth + 1)),
  ].join('\n');
}

interface PlanExpectation {
  /** The one index the statement reads tasks through, in its order. */
  index: string;
  scanTypes: string[];
  /** Rows the Limit over that scan returns. */
  returnedRows: number;
  /** The Limit's row estimate must not exceed this (custom plans, where the limit is known). */
  estimatedRows?: number;
  /** No scan of tasks may read more rows than this. */
  maxRowsRead: number;
}

/** What is wrong with `plan`, one line per problem; empty when it is the plan we want. */
function planProblems(plan: PlanNode, expected: PlanExpectation): string[] {
  const problems: string[] = [];
  const nodes = nodesOf(plan);
  for (const node of nodes) {
    const scansTasks = node['Relation Name'] === 'tasks';
    if ((scansTasks && node['Node Type'] === 'Seq Scan') || node['Node Type'].startsWith('Bitmap'))
      problems.push(`reads tasks without its index order: ${describeNode(node)}`);
    if (scansTasks && rowsRead(node) > expected.maxRowsRead)
      problems.push(`reads more than ${expected.maxRowsRead} rows: ${describeNode(node)}`);
  }
  const scans = nodes.filter((node) => node['Index Name'] === expected.index);
  if (scans.length !== 1) return [...problems, `expected one scan of ${expected.index}`];
  const [scan] = scans;
  if (!expected.scanTypes.includes(scan['Node Type']) || scan['Scan Direction'] !== 'Forward')
    problems.push(`expected a forward ${expected.scanTypes.join(' or ')}: ${describeNode(scan)}`);
  const limit = (pathTo(plan, (node) => node === scan) ?? [])
    .reverse()
    .find((node) => node['Node Type'] === 'Limit');
  if (!limit) return [...problems, `no Limit over ${expected.index}`];
  for (const sort of nodesOf(limit).filter((node) => node['Node Type'].includes('Sort')))
    problems.push(`sorts below the Limit: ${describeNode(sort)}`);
  if (limit['Actual Rows'] !== expected.returnedRows)
    problems.push(`expected the Limit to return ${expected.returnedRows} rows`);
  if (expected.estimatedRows !== undefined && limit['Plan Rows'] > expected.estimatedRows)
    problems.push(`expected the Limit to estimate at most ${expected.estimatedRows} rows`);
  return problems;
}

type PlanMode = 'custom' | 'generic';
type Param = number | string | string[] | number[];

/** A parameter as an SQL literal, for EXECUTE (which takes no bind parameters). */
function literal(value: Param): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return escapeLiteral(value);
  return escapeLiteral(`{${value.map((item) => JSON.stringify(item)).join(',')}}`);
  // (number arrays print as {1,2}, which PostgreSQL reads as int[] too)
}

/**
 * EXPLAIN ANALYZE of `text` as the dispatcher would run it, in a rolled-back transaction, after
 * the `setup` statements (in the same transaction).
 */
async function explain(
  client: PoolClient,
  text: string,
  params: Param[],
  mode: PlanMode,
  setup: string[] = [],
): Promise<PlanNode> {
  type Explained = { 'QUERY PLAN': Array<{ Plan: PlanNode }> };
  await client.query('BEGIN');
  try {
    for (const statement of setup) await client.query(statement);
    if (mode === 'custom') {
      const { rows } = await client.query<Explained>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
        params,
      );
      return rows[0]['QUERY PLAN'][0].Plan;
    }
    await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE queue_plan_test AS ${text}`);
    const { rows } = await client.query<Explained>(
      `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE queue_plan_test(${params.map(literal).join(', ')})`,
    );
    return rows[0]['QUERY PLAN'][0].Plan;
  } finally {
    await client.query('ROLLBACK');
    // Prepared statements outlive the transaction.
    if (mode === 'generic') await client.query('DEALLOCATE queue_plan_test');
  }
}

async function expectPlan(
  client: PoolClient,
  name: string,
  text: string,
  params: Param[],
  mode: PlanMode,
  expected: PlanExpectation,
): Promise<void> {
  const plan = await explain(client, text, params, mode);
  const problems = planProblems(plan, expected);
  if (problems.length > 0) {
    throw new Error(
      `${name} (${mode} plan, parameters ${JSON.stringify(params)}):\n  ` +
        `${problems.join('\n  ')}\n\n${renderPlan(plan)}`,
    );
  }
}

/** A connection of the dispatcher's own pool, so that EXPLAIN runs under its session settings. */
interface DispatchConnection {
  client: PoolClient;
  close(): Promise<void>;
}

async function dispatchConnection(url: string): Promise<DispatchConnection> {
  const dispatchPool = new DispatchPool(url, 1);
  const client = await dispatchPool.pool.connect();
  return {
    client,
    close: async () => {
      client.release();
      await dispatchPool.onApplicationShutdown();
    },
  };
}

describe('queue statement plans on 1,000,000 tasks', () => {
  let db: TestDatabase;
  let connection: DispatchConnection | undefined;
  let client: PoolClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(
      `INSERT INTO handlers (cate, url) SELECT 'c' || g, 'http://cb.example/' || g
       FROM generate_series(0, $1::int - 1) g`,
      [CATEGORIES],
    );
    // A million rows go in several times faster into the bare table, with its indexes built
    // afterwards from their own definitions (those that back constraints stay).
    const indexes = await db.query<{ name: string; definition: string }>(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       WHERE i.indrelid = 'tasks'::regclass
         AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
    );
    for (const { name } of indexes) await db.query(`DROP INDEX ${name}`);
    // Categories come in runs of 100 ids, so consecutive due rows (every 100th id) take turns.
    // Due rows: an hour and more ago; later rows are due earlier. Future rows: an hour and more
    // from now, so none becomes due while the test runs.
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
         leased_at, lease_expires_at, last_error)
       SELECT 'c' || (g / 100 % $2::int), g, r.run_at, r.run_at, '{"n":1}'::json, k.state,
         CASE WHEN k.state = 'pending' THEN 0 ELSE 1 END,
         CASE WHEN k.state = 'running' THEN 'worker-' || g % 7 END,
         CASE WHEN k.state = 'running' THEN now() - interval '1 hour' END,
         CASE WHEN k.state <> 'running' THEN NULL
           WHEN g % 1000 IN (1, 201, 401) THEN now() - interval '1 minute' - g * interval '10 ms'
           ELSE now() + interval '1 hour' + g * interval '1 ms' END,
         CASE WHEN k.state = 'failed' THEN 'HTTP 500' END
       FROM generate_series(1, $1::int) g,
         LATERAL (SELECT CASE WHEN g % 200 = 1 THEN 'running' WHEN g % 200 = 3 THEN 'failed'
           ELSE 'pending' END AS state) k,
         LATERAL (SELECT CASE WHEN k.state = 'pending' AND g % 100 <> 0
           THEN now() + interval '1 hour' + g * interval '1 second'
           ELSE now() - interval '1 hour' - g * interval '10 ms' END AS run_at) r`,
      [TASKS, CATEGORIES],
    );
    for (const { definition } of indexes) await db.query(definition);
    await db.query('ANALYZE tasks');
    await db.query('ANALYZE handlers');
    connection = await dispatchConnection(db.url);
    client = connection.client;
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await db?.drop();
  });

  it('holds the backlog the plans are measured against', async () => {
    const [counts] = await db.query<{ due: number; expired: number; total: number }>(
      `SELECT count(*) FILTER (WHERE state = 'pending' AND run_at <= now())::int AS due,
         count(*) FILTER (WHERE state = 'running' AND lease_expires_at < now())::int AS expired,
         count(*)::int AS total
       FROM tasks`,
    );
    expect(counts).toStrictEqual({ due: DUE, expired: EXPIRED_LEASES, total: TASKS });
  });

  describe.each<PlanMode>(['custom', 'generic'])('%s plan', (mode) => {
    it.each<[string, string[]]>([
      ['no category skipped', []],
      ['two categories skipped', SKIPPED],
    ])(
      `CLAIM_DUE claims ${CLAIM_BATCH} due tasks in tasks_pending_run_at_idx order, with %s`,
      async (_name, skipped) => {
        await expectPlan(
          client,
          'CLAIM_DUE',
          CLAIM_DUE,
          [CLAIM_BATCH, 'worker', 30_000, 5_000, skipped],
          mode,
          {
            index: DUE_INDEX,
            scanTypes: ['Index Scan'],
            returnedRows: CLAIM_BATCH,
            estimatedRows: mode === 'custom' ? CLAIM_BATCH : undefined,
            // Its batch and the skipped categories' rows among them; never all 10,000 due rows.
            maxRowsRead: DUE / 10,
          },
        );
      },
    );

    it.each<[string, string[]]>([
      ['no category skipped', []],
      ['two categories skipped', SKIPPED],
    ])(
      'NEXT_DUE_DELAY reads the first entries of tasks_pending_run_at_idx, with %s',
      async (_name, skipped) => {
        await expectPlan(client, 'NEXT_DUE_DELAY', NEXT_DUE_DELAY, [skipped], mode, {
          index: DUE_INDEX,
          scanTypes: ['Index Only Scan', 'Index Scan'],
          returnedRows: 1,
          estimatedRows: 1,
          maxRowsRead: 100,
        });
      },
    );

    it('CLAIM_RATED takes parked tasks through tasks_parked_idx and due ones through tasks_pending_run_at_idx, without a sort or a scan of the backlog', async () => {
      // c0 rate-limited with tokens for 100; 60 of its 500 due tasks parked.
      const setup = [
        `UPDATE handlers SET rate_per_second = 10, rate_burst = 100, rate_tokens = 100,
           rate_refilled_at = now() WHERE cate = 'c0'`,
        `UPDATE tasks SET run_at = 'infinity' WHERE id IN (SELECT id FROM tasks
           WHERE cate = 'c0' AND state = 'pending' AND run_at <= now() ORDER BY id LIMIT 60)`,
        'ANALYZE tasks',
      ];
      const plan = await explain(
        client,
        CLAIM_RATED,
        [['c0'], [100], 'worker', 30_000, 5_000],
        mode,
        setup,
      );
      const nodes = nodesOf(plan);
      const problems: string[] = [];
      for (const node of nodes) {
        if (node['Relation Name'] === 'tasks' && node['Node Type'] === 'Seq Scan')
          problems.push(`reads tasks without an index: ${describeNode(node)}`);
        // (The handler rows are sorted, by cate: that is the lock order.)
        const sortsTasks =
          node['Node Type'].includes('Sort') &&
          nodesOf(node).some((n) => n['Relation Name'] === 'tasks');
        if (node['Node Type'].startsWith('Bitmap') || sortsTasks)
          problems.push(`bitmap scan or sort of tasks: ${describeNode(node)}`);
        // The due part walks the due entries of every category until it has its share: the due
        // backlog at most, never the million rows.
        if (node['Relation Name'] === 'tasks' && rowsRead(node) > DUE)
          problems.push(`reads more than the due backlog: ${describeNode(node)}`);
      }
      const parked = nodes.filter((n) => n['Index Name'] === PARKED_INDEX);
      if (parked.length !== 1 || parked[0]['Actual Rows'] !== 60)
        problems.push(`expected one scan of ${PARKED_INDEX} returning the 60 parked tasks`);
      if (!nodes.some((n) => n['Index Name'] === DUE_INDEX))
        problems.push(`expected a scan of ${DUE_INDEX} for the due tasks not parked`);
      // One row per task claimed (the bucket's row joined to each).
      if (plan['Actual Rows'] !== 100) problems.push('expected 100 tasks claimed');
      if (problems.length > 0)
        throw new Error(
          `CLAIM_RATED (${mode} plan):\n  ${problems.join('\n  ')}\n\n${renderPlan(plan)}`,
        );
    });

    it(`LOCK_EXPIRED_LEASES locks the oldest ${LEASE_BATCH} of ${EXPIRED_LEASES} expired leases in tasks_running_lease_idx order`, async () => {
      await expectPlan(client, 'LOCK_EXPIRED_LEASES', LOCK_EXPIRED_LEASES, [LEASE_BATCH], mode, {
        index: LEASE_INDEX,
        scanTypes: ['Index Scan'],
        returnedRows: LEASE_BATCH,
        estimatedRows: mode === 'custom' ? LEASE_BATCH : undefined,
        maxRowsRead: LEASE_BATCH * 1.1,
      });
    });
  });
});

/**
 * A burst arriving in a table whose statistics were taken before it (empty, or nothing due then):
 * the planner expects a handful of due rows. A claim that joined the handlers before its Limit
 * then read every due row, hash-joined and sorted them to return its batch (measured: 290 ms per
 * claim of 100 with 50,000 due, the first five claims of every such burst, until PostgreSQL
 * switched to the generic plan). The claim must take its batch from the index whatever the
 * statistics say.
 */
describe('CLAIM_DUE on a burst the statistics have not seen', () => {
  const BURST = 20_000;
  let db: TestDatabase;
  let connection: DispatchConnection | undefined;
  let client: PoolClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query(`INSERT INTO handlers (cate, url) VALUES ('b', 'http://cb.example/b')`);
    // Statistics of the empty table; the handlers table never analyzed (as on a server without
    // autovacuum, or before its first run): the planner takes it for a few hundred rows.
    await db.query('VACUUM ANALYZE tasks');
    await db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'b', g, now() - interval '1 minute', now() - interval '1 minute', '{}'::json
       FROM generate_series(1, $1::int) g`,
      [BURST],
    );
    connection = await dispatchConnection(db.url);
    client = connection.client;
  }, 60_000);

  afterAll(async () => {
    await connection?.close();
    await db?.drop();
  });

  it.each<PlanMode>(['custom', 'generic'])(
    `claims ${CLAIM_BATCH} of ${BURST} due tasks in index order, reading no more (%s plan)`,
    async (mode) => {
      await expectPlan(
        client,
        'CLAIM_DUE',
        CLAIM_DUE,
        [CLAIM_BATCH, 'w', 30_000, 5_000, []],
        mode,
        {
          index: DUE_INDEX,
          scanTypes: ['Index Scan'],
          returnedRows: CLAIM_BATCH,
          maxRowsRead: CLAIM_BATCH,
        },
      );
    },
  );
});
