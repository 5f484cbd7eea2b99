import { listTasksQuery } from '../src/modules/tasks/tasks.repository';
import { LIST_PAGE_BYTES } from '../src/modules/tasks/tasks.service';
import { ListTasksFilter } from '../src/modules/tasks/tasks.types';
import { useTestDatabase } from './support/fixtures';

/**
 * GET /tasks must stay fast with millions of rows. This fills `tasks` with 200,000 rows laid out
 * the way that fools a planner (a category whose rows all sit at the far end of the id range, a
 * burst of failures in one stretch of it), then runs EXPLAIN ANALYZE of the repository's own
 * statement for every filter combination: each page must come from the index that serves its
 * filter, never a sequential scan, and read only a small part of the table.
 */
const ROWS = 200_000;
const PAGE = 100;
/** Rows a page may read: its own, plus rows of its index that the other filter rejects. */
const MAX_ROWS_READ = 5_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

const PKEY = 'tasks_pkey';
const BY_CATE = 'tasks_cate_id_idx';
const BY_STATE = 'tasks_state_id_idx';
const FAILED_BY_CATE = 'tasks_failed_cate_id_idx';
const FAILED_BY_AGE = 'tasks_failed_updated_at_idx';

describe('GET /tasks query plans on 200,000 tasks', () => {
  const fixture = useTestDatabase();

  beforeAll(async () => {
    // c0…c49 spread over the first 180,000 ids; 'new' holds the last 20,000 (created lately).
    // Failed: a burst of 4,000 in ids 100,001…104,000; running: one in a hundred; else pending.
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
         lease_expires_at, last_error)
       SELECT c.cate, g, now() + interval '1 day', now() + interval '1 day', '{"n":1}'::json,
         s.state, CASE WHEN s.state = 'pending' THEN 0 ELSE 1 END,
         CASE WHEN s.state = 'running' THEN 'worker' END,
         CASE WHEN s.state = 'running' THEN now() + interval '1 hour' END,
         CASE WHEN s.state = 'failed' THEN 'HTTP 500' END
       FROM generate_series(1, $1::int) g,
         LATERAL (SELECT CASE WHEN g > $1::int * 9 / 10 THEN 'new' ELSE 'c' || (g % 50) END
           AS cate) c,
         LATERAL (SELECT CASE WHEN g BETWEEN 100001 AND 104000 THEN 'failed'
           WHEN g % 100 = 1 THEN 'running' ELSE 'pending' END AS state) s`,
      [ROWS],
    );
    await fixture.db.query(
      `INSERT INTO handlers (cate, url) SELECT 'c' || g, 'http://cb.example/' || g
       FROM generate_series(0, 49) g`,
    );
    await fixture.db.query('ANALYZE tasks');
    await fixture.db.query('ANALYZE handlers');
  });

  /** The same page by the plainest possible query: the ids the statement must return. */
  async function expectedIds(filter: ListTasksFilter): Promise<string[]> {
    const rows = await fixture.db.query<{ id: string }>(
      `SELECT id::text AS id FROM tasks
       WHERE ($1::text IS NULL OR cate = $1::text) AND ($2::text IS NULL OR state = $2::text)
         AND id > $3::bigint
       ORDER BY tasks.id LIMIT $4::int`,
      [filter.cate ?? null, filter.state ?? null, filter.afterId ?? 0, filter.limit],
    );
    return rows.map((row) => row.id);
  }

  it.each<[string, Omit<ListTasksFilter, 'limit' | 'maxBytes'>, string[]]>([
    ['no filter', {}, [PKEY]],
    ['no filter, a later page', { afterId: '150000' }, [PKEY]],
    ['a category spread over the table', { cate: 'c7' }, [BY_CATE]],
    [
      'a category spread over the table, a later page',
      { cate: 'c7', afterId: '150000' },
      [BY_CATE],
    ],
    ['a category at the far end of the table', { cate: 'new' }, [BY_CATE]],
    ['a category with no tasks', { cate: 'absent' }, [BY_CATE]],
    ['pending', { state: 'pending' }, [BY_STATE]],
    ['running', { state: 'running' }, [BY_STATE]],
    ['failed', { state: 'failed' }, [BY_STATE]],
    ['failed, a later page', { state: 'failed', afterId: '103000' }, [BY_STATE]],
    ['a category, pending', { cate: 'new', state: 'pending' }, [BY_CATE]],
    ['a category, running', { cate: 'new', state: 'running' }, [BY_STATE]],
    [
      'a category, running, a later page',
      { cate: 'c7', state: 'running', afterId: '90000' },
      [BY_STATE],
    ],
    ['a category, failed', { cate: 'c7', state: 'failed' }, [FAILED_BY_CATE, FAILED_BY_AGE]],
    [
      'a category without failures, failed',
      { cate: 'new', state: 'failed' },
      [FAILED_BY_CATE, FAILED_BY_AGE],
    ],
  ])('reads %s through its index', async (_name, given, indexes) => {
    const filter: ListTasksFilter = { ...given, limit: PAGE, maxBytes: LIST_PAGE_BYTES };
    const { text, params } = listTasksQuery(filter);

    const [{ 'QUERY PLAN': plan }] = await fixture.db.query<{
      'QUERY PLAN': Array<{ Plan: PlanNode }>;
    }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
    const scans = nodesOf(plan[0].Plan).filter((node) => node['Relation Name'] === 'tasks');
    expect(scans.map((node) => node['Node Type'])).toStrictEqual(['Index Scan']);
    const [scan] = scans;
    expect(indexes).toContain(scan['Index Name']);
    const rowsRead =
      scan['Actual Rows'] * scan['Actual Loops'] +
      (scan['Rows Removed by Filter'] ?? 0) +
      (scan['Rows Removed by Index Recheck'] ?? 0);
    expect(rowsRead).toBeLessThanOrEqual(MAX_ROWS_READ);

    const page = await fixture.db.query<{ id: string }>(text, params);
    expect(page.map((row) => row.id)).toStrictEqual(await expectedIds(filter));
  });
});
