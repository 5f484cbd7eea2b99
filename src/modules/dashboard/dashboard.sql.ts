/**
 * The dashboard's reads (overview, forecast, a category's attempts) and the overview snapshot's
 * refresh. Only DashboardRepository uses these. Times are the database clock's.
 */

/** Arbitrary constant naming the overview refresh's advisory lock (next to the migrations'). */
export const SNAPSHOT_LOCK_ID = 7_080_000_002;

/**
 * Recounts the overview's task counts per category into dashboard_snapshots (one row, id 1), if
 * this session gets the refresh lock and the stored counts are older than $2 ms; answers
 * `refreshed`. One statement (its own transaction), so the lock is held exactly while it runs.
 *
 * The count is one sequential scan of tasks with a hash aggregate by category (a few hundred ms
 * at a million rows): it is the reason for the snapshot, and it must not run on the request path
 * or on every replica at once. `lock` is a materialized CTE, evaluated once before anything
 * else; the scan's `WHERE (SELECT taken FROM lock)` is a one-time filter, so a session without
 * the lock reads no row of tasks. Counts go in as arrays in cate order (COLLATE "C": code
 * points, as JavaScript sorts). Due now: pending with run_at reached, and parked (held back,
 * run_at = 'infinity'), which are due and held. statement_timestamp() is when the statement's
 * snapshot was taken, hence the counts' time. The guard on the update keeps a slower refresh that
 * started earlier from overwriting newer counts.
 */
export const REFRESH_SNAPSHOT = `
  WITH lock AS MATERIALIZED (
    SELECT pg_try_advisory_xact_lock($1::bigint) AS taken
  ), fresh AS MATERIALIZED (
    SELECT EXISTS (SELECT 1 FROM dashboard_snapshots
      WHERE id = 1 AND taken_at > statement_timestamp() - $2::int * interval '1 millisecond')
      AS fresh
  ), counts AS (
    SELECT t.cate COLLATE "C" AS cate,
      count(*) FILTER (WHERE t.state = 'pending')::int AS pending,
      count(*) FILTER (WHERE t.state = 'pending'
        AND (t.run_at <= statement_timestamp() OR t.run_at = 'infinity'))::int AS due_now,
      count(*) FILTER (WHERE t.state = 'running')::int AS running,
      count(*) FILTER (WHERE t.state = 'failed')::int AS failed
    FROM tasks t
    WHERE (SELECT taken FROM lock) AND NOT (SELECT fresh FROM fresh)
    GROUP BY t.cate
  ), written AS (
    INSERT INTO dashboard_snapshots AS s (id, taken_at, cates, pending, due_now, running, failed)
    SELECT 1, statement_timestamp(),
      coalesce(array_agg(c.cate ORDER BY c.cate), '{}'),
      coalesce(array_agg(c.pending ORDER BY c.cate), '{}'),
      coalesce(array_agg(c.due_now ORDER BY c.cate), '{}'),
      coalesce(array_agg(c.running ORDER BY c.cate), '{}'),
      coalesce(array_agg(c.failed ORDER BY c.cate), '{}')
    FROM counts c
    HAVING (SELECT taken FROM lock) AND NOT (SELECT fresh FROM fresh)
    ON CONFLICT (id) DO UPDATE SET taken_at = excluded.taken_at, cates = excluded.cates,
      pending = excluded.pending, due_now = excluded.due_now, running = excluded.running,
      failed = excluded.failed
    WHERE s.taken_at < excluded.taken_at
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM written) AS refreshed`;

/** How old the stored counts are (ms, database clock); no row: never taken. */
export const SNAPSHOT_AGE = `
  SELECT (extract(epoch FROM now() - taken_at) * 1000)::float8 AS age_ms
  FROM dashboard_snapshots WHERE id = 1`;

/**
 * The overview, in one statement (so the counts and asOf are of one snapshot row):
 * - taken_at: when the stored counts were taken (null: never);
 * - oldest_due_age_seconds: the age of the oldest pending task that is due and not held back, as
 *   the delay_tasks_oldest_due_age_seconds gauge (the first entry of tasks_pending_run_at_idx),
 *   read now;
 * - categories: those counted in the snapshot and those registered (handlers, read now: a pause
 *   or a circuit change shows at once), in cate order (COLLATE "C"), as a JSON array.
 * Reads the snapshot's one row, handlers and one index entry of tasks; never counts tasks.
 */
export const OVERVIEW = `
  WITH counts AS (
    SELECT c.cate, c.pending, c.due_now, c.running, c.failed
    FROM dashboard_snapshots s,
      unnest(s.cates, s.pending, s.due_now, s.running, s.failed)
        AS c(cate, pending, due_now, running, failed)
    WHERE s.id = 1
  ), categories AS (
    SELECT coalesce(c.cate, h.cate) COLLATE "C" AS cate, h.cate IS NOT NULL AS registered,
      coalesce(c.pending, 0) AS pending, coalesce(c.due_now, 0) AS due_now,
      coalesce(c.running, 0) AS running, coalesce(c.failed, 0) AS failed,
      coalesce(h.paused, false) AS paused, coalesce(h.circuit_state, 'closed') AS circuit_state,
      h.rate_per_second, h.rate_burst
    FROM counts c FULL JOIN handlers h ON h.cate = c.cate
  )
  SELECT (SELECT taken_at FROM dashboard_snapshots WHERE id = 1) AS taken_at,
    coalesce(extract(epoch FROM now() - (
      SELECT min(run_at) FROM tasks WHERE state = 'pending' AND run_at <= now())), 0)::float8
      AS oldest_due_age_seconds,
    (SELECT coalesce(json_agg(c ORDER BY c.cate), '[]'::json) FROM categories c) AS categories`;

/**
 * Pending tasks falling due in each minute of the next hour, from the start of the current minute
 * (database clock): 60 range reads of tasks_pending_run_at_idx, each stopped after $1 + 1
 * entries, so the whole costs at most 60 × ($1 + 1) index entries whatever the backlog; a count
 * above $1 is answered as $1 with capped. Parked tasks (run_at = 'infinity') are outside every
 * range. run_at: when the next attempt may start (the due time, or later after a retry backoff).
 */
export const FORECAST = `
  WITH start AS (SELECT date_trunc('minute', now()) AS t)
  SELECT extract(epoch FROM m.t)::bigint::text AS t, least(c.n, $1::int)::int AS count,
    c.n > $1::int AS capped
  FROM start, generate_series(0, 59) AS i,
    LATERAL (SELECT start.t + i * interval '1 minute' AS t) m,
    LATERAL (
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM tasks
        WHERE state = 'pending' AND run_at >= m.t AND run_at < m.t + interval '1 minute'
        LIMIT $1::int + 1
      ) x
    ) c
  ORDER BY m.t`;

/**
 * GET /attempts?cate=: the category's attempts newest first, keyset on id, from
 * task_attempts_cate_id_idx read backwards from the cursor. Written
 * `cate >= $1 AND (cate, id) < ($1, $before)` so that the scan starts at the cursor and only that
 * index yields `ORDER BY cate DESC, id DESC` (as GET /audit?cate=). Columns as LIST_ATTEMPTS
 * (tasks.sql.ts), with the key as exact text. $1 cate, $2 before id, $3 limit.
 */
export const LIST_CATEGORY_ATTEMPTS = `
  SELECT a.id::text AS id, a.key::text AS key, a.delivery_id::text AS delivery_id, a.attempt,
    a.started_at, a.duration_ms, a.status_code, a.outcome, left(a.error, 500) AS error
  FROM task_attempts a
  WHERE a.cate >= $1::text AND (a.cate, a.id) < ($1::text, $2::bigint)
  ORDER BY a.cate DESC, a.id DESC
  LIMIT $3::int`;
