/** Runs one statement and answers its rows (a test database's query). */
export type RunStatement = (sql: string, params?: unknown[]) => Promise<unknown>;

/**
 * The dashboard's scale: `tasks` tasks in `categories` categories (c0 …), for its plan test and
 * its benchmark. 90% of the categories are registered; c0…c9 paused (their due tasks parked),
 * c10…c14 with an open circuit, c15…c19 rate-limited. Per task g: running when g % 200 = 1,
 * failed when g % 200 = 3, else pending: a tenth due (up to an hour ago), four tenths due within
 * the next hour, the rest over the following week. The table's indexes are built after the rows
 * (several times faster), then it is vacuumed and analyzed, as autovacuum would leave it.
 */
export async function fillDashboardTasks(
  run: RunStatement,
  tasks = 1_000_000,
  categories = 1000,
): Promise<void> {
  await run(
    `INSERT INTO handlers (cate, url, paused, circuit_state, rate_per_second, rate_burst)
     SELECT 'c' || g, 'http://cb.example/' || g, g < 10,
       CASE WHEN g BETWEEN 10 AND 14 THEN 'open' ELSE 'closed' END,
       CASE WHEN g BETWEEN 15 AND 19 THEN 10 END, CASE WHEN g BETWEEN 15 AND 19 THEN 10 END
     FROM generate_series(0, $1::int * 9 / 10 - 1) g`,
    [categories],
  );
  const indexes = (await run(
    `SELECT pg_get_indexdef(i.indexrelid) AS definition, i.indexrelid::regclass::text AS name
     FROM pg_index i
     WHERE i.indrelid = 'tasks'::regclass
       AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
  )) as Array<{ name: string; definition: string }>;
  for (const { name } of indexes) await run(`DROP INDEX ${name}`);
  await run(
    `INSERT INTO tasks (cate, key, due_at, run_at, params, state, attempts, lease_owner,
       leased_at, lease_expires_at, last_error)
     SELECT 'c' || (g % $2::int), g, d.due_at,
       CASE WHEN k.state = 'pending' AND g % $2::int < 10 AND d.due_at <= now()
         THEN 'infinity'::timestamptz ELSE d.due_at END,
       '{"n":1}'::json, k.state, CASE WHEN k.state = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN k.state = 'running' THEN 'worker' END,
       CASE WHEN k.state = 'running' THEN now() END,
       CASE WHEN k.state = 'running' THEN now() + interval '1 hour' END,
       CASE WHEN k.state = 'failed' THEN 'HTTP 500' END
     FROM generate_series(1, $1::int) g,
       LATERAL (SELECT CASE WHEN g % 200 = 1 THEN 'running' WHEN g % 200 = 3 THEN 'failed'
         ELSE 'pending' END AS state) k,
       LATERAL (SELECT CASE
         WHEN k.state <> 'pending' OR g % 10 = 0 THEN now() - (g % 3600) * interval '1 second'
         WHEN g % 10 < 5 THEN now() + (1 + g % 3599) * interval '1 second'
         ELSE now() + interval '1 hour' + (g % 604800) * interval '1 second' END AS due_at) d`,
    [tasks, categories],
  );
  for (const { definition } of indexes) await run(definition);
  await run('VACUUM ANALYZE tasks');
  await run('ANALYZE handlers');
}

/** `count` attempt rows spread over the categories (c0 …), oldest first. */
export async function fillDashboardAttempts(
  run: RunStatement,
  count = 1_000_000,
  categories = 1000,
): Promise<void> {
  await run(
    `INSERT INTO task_attempts (task_id, cate, key, delivery_id, attempt, started_at,
       duration_ms, status_code, outcome, error)
     SELECT g, 'c' || (g % $2::int), g, gen_random_uuid(), 1,
       now() - ($1::int - g) * interval '10 ms', 12, 200, 'success', NULL
     FROM generate_series(1, $1::int) g`,
    [count, categories],
  );
  await run('VACUUM ANALYZE task_attempts');
}
