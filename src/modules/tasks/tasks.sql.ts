import { DUE_CHANNEL } from '../../database/due-channel';

/**
 * The API's statements against `tasks` and `task_attempts`; the queue's (claim, complete,
 * release, rescue) are in dispatch/queue.sql.ts. Parameters are numbered and cast; times are
 * compared with the database clock (now()), never a replica's. Only TasksRepository uses these.
 */

/**
 * Columns a reader needs, with key/params/times as exact text, from a task `t` and its
 * category's URL.
 */
function taskColumns(categoryUrl: string): string {
  return `
  t.id::text AS id, t.cate, t.key::text AS key, extract(epoch FROM t.due_at)::text AS due_epoch,
  t.params::text AS params, t.handler, ${categoryUrl} AS category_handler, t.in_advance, t.state,
  t.attempts, t.last_error, t.delivery_id::text AS delivery_id,
  extract(epoch FROM t.run_at)::text AS run_epoch`;
}

const TASK_COLUMNS = taskColumns('h.url');

/**
 * A task's identity is (cate, key) among the rows that are neither handed over (in_advance) nor
 * occurrences of a schedule (schedule_id): tasks_identity_uq. Every statement below that names a
 * task by (cate, key) says both.
 *
 * An upsert of an existing (cate, key) with anything changed makes a new occurrence: new version,
 * new delivery id, attempts reset, lease dropped (a delivery of the old occurrence still in flight
 * can no longer complete it: the row is pending again). A re-POST that changes nothing (same due
 * time, params text and handler as stored, the task pending or running) writes nothing and keeps
 * the delivery id, so a client retrying its POST after a timeout causes no second delivery. A
 * failed task is revived by any re-POST.
 */
const UPSERT_CONFLICT = `
  ON CONFLICT (cate, key) WHERE NOT in_advance AND schedule_id IS NULL DO UPDATE SET
    due_at = excluded.due_at, run_at = excluded.run_at, params = excluded.params,
    handler = excluded.handler, in_advance = false, state = 'pending', version = t.version + 1,
    attempts = 0, snoozes = 0, delivery_id = gen_random_uuid(), lease_owner = NULL,
    lease_expires_at = NULL, leased_at = NULL, last_error = NULL, updated_at = now()
  WHERE t.state = 'failed' OR t.due_at IS DISTINCT FROM excluded.due_at
    OR t.params::text IS DISTINCT FROM excluded.params::text
    OR t.handler IS DISTINCT FROM excluded.handler`;

/**
 * Create or replace (cate, key) (see UPSERT_CONFLICT). The WHERE refuses times more than 60 s in
 * the past by the database clock: no row, no write (too_old). An unchanged re-POST writes no row
 * either (written false); due_in_ms is then the stored task's (the outer SELECT sees the table as
 * it was before the statement).
 * $1 cate, $2 key, $3 due (unix seconds), $4 params json, $5 handler.
 */
export const UPSERT_TASK = `
  WITH written AS (
    INSERT INTO tasks AS t (cate, key, due_at, run_at, params, handler)
    SELECT $1::text, $2::numeric, to_timestamp($3::float8), to_timestamp($3::float8), $4::json,
      $5::text
    WHERE to_timestamp($3::float8) >= now() - interval '60 seconds'
    ${UPSERT_CONFLICT}
    RETURNING t.run_at
  )
  SELECT to_timestamp($3::float8) < now() - interval '60 seconds' AS too_old,
    EXISTS (SELECT 1 FROM written) AS written,
    (extract(epoch FROM (coalesce((SELECT run_at FROM written), (
      SELECT s.run_at FROM tasks s
      WHERE s.cate = $1::text AND s.key = $2::numeric AND NOT s.in_advance
        AND s.schedule_id IS NULL)) - now())) * 1000
    )::float8 AS due_in_ms`;

/**
 * Group commit of single-task upserts (POST /task/:cate requests that arrived together): each item
 * as UPSERT_TASK would do it, in one statement, each answered on its own row (in input order):
 * too_old (not written), written (false: identical to the stored task), due_in_ms. The (cate, key)
 * pairs must be distinct (ON CONFLICT cannot touch a row twice): the caller splits repeats into
 * later statements of one transaction, in arrival order. Rows are written in (cate, key) order,
 * as batches are, so that concurrent groups and batches lock shared keys in the same order.
 * $1 cates, $2 keys, $3 dues (unix seconds), $4 params json, $5 handlers.
 */
export const UPSERT_TASK_GROUP = `
  WITH input AS (
    SELECT i.cate, i.key, to_timestamp(i.due) AS due_at, i.params, i.handler, i.n
    FROM unnest($1::text[], $2::numeric[], $3::float8[], $4::json[], $5::text[]) WITH ORDINALITY
      AS i(cate, key, due, params, handler, n)
  ), written AS (
    INSERT INTO tasks AS t (cate, key, due_at, run_at, params, handler)
    SELECT input.cate, input.key, input.due_at, input.due_at, input.params, input.handler
    FROM input WHERE input.due_at >= now() - interval '60 seconds'
    ORDER BY input.cate, input.key
    ${UPSERT_CONFLICT}
    RETURNING t.cate, t.key, t.run_at
  )
  SELECT input.due_at < now() - interval '60 seconds' AS too_old,
    written.run_at IS NOT NULL AS written,
    (extract(epoch FROM (coalesce(written.run_at, (
      SELECT s.run_at FROM tasks s
      WHERE s.cate = input.cate AND s.key = input.key AND NOT s.in_advance
        AND s.schedule_id IS NULL)) - now())) * 1000)::float8 AS due_in_ms
  FROM input LEFT JOIN written ON written.cate = input.cate AND written.key = input.key
  ORDER BY input.n`;

/**
 * Batch upsert of tasks of category $1, all or nothing, in one statement: when any item is more
 * than 60 s in the past (database clock) nothing is written and too_old_item names the first
 * (0-based). Items identical to their stored task are accepted without a write (UPSERT_CONFLICT);
 * earliest_due_in_ms covers the rows written (null: none). Keys must be distinct (the caller checks: ON CONFLICT cannot touch a row twice).
 * Rows are written in key order so that concurrent batches lock shared keys in the same order
 * and cannot deadlock. $2 keys, $3 dues (unix seconds), $4 params json, $5 handlers (NULL: the
 * category's).
 */
export const UPSERT_TASKS = `
  WITH input AS (
    SELECT i.key, to_timestamp(i.due) AS due_at, i.params, i.handler, i.n
    FROM unnest($2::numeric[], $3::float8[], $4::json[], $5::text[]) WITH ORDINALITY
      AS i(key, due, params, handler, n)
  ), too_old AS (
    SELECT min(n) - 1 AS item FROM input WHERE due_at < now() - interval '60 seconds'
  ), written AS (
    INSERT INTO tasks AS t (cate, key, due_at, run_at, params, handler)
    SELECT $1::text, input.key, input.due_at, input.due_at, input.params, input.handler
    FROM input WHERE (SELECT item FROM too_old) IS NULL
    ORDER BY input.key
    ${UPSERT_CONFLICT}
    RETURNING t.run_at
  )
  SELECT (SELECT item FROM too_old)::int AS too_old_item,
    (SELECT count(*) FROM input)::int AS accepted,
    (extract(epoch FROM (min(written.run_at) - now())) * 1000)::float8 AS earliest_due_in_ms
  FROM written`;

/** $3: optional due time; when given it must match the task's to the second. */
const MATCH_TASK = `
  t.cate = $1::text AND t.key = $2::numeric AND NOT t.in_advance AND t.schedule_id IS NULL
  AND ($3::float8 IS NULL OR floor(extract(epoch FROM t.due_at)) = floor($3::float8))`;

export const FIND_TASK = `
  SELECT ${TASK_COLUMNS}
  FROM tasks t LEFT JOIN handlers h ON h.cate = t.cate
  WHERE ${MATCH_TASK}`;

export const DELETE_TASK = `DELETE FROM tasks t WHERE ${MATCH_TASK} RETURNING t.id`;

/**
 * DELETE {exec:true}: the task leaves its (cate, key) identity (in_advance) and is due now, as a
 * new occurrence, so it is delivered durably with retries while a new task may take the key.
 */
export const EXEC_TASK = `
  UPDATE tasks t SET
    in_advance = true, run_at = now(), state = 'pending', version = t.version + 1, attempts = 0,
    snoozes = 0,
    delivery_id = gen_random_uuid(), lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL,
    last_error = NULL, updated_at = now()
  WHERE ${MATCH_TASK}
  RETURNING t.id`;

/**
 * The SET clause that re-queues a failed task `t` as a retry of the same occurrence, shared by the
 * single retry (RETRY_TASK) and the bulk one (RETRY_FAILED_CHUNK): due now with attempts from
 * zero and the same delivery id, so receivers still de-duplicate; last_error stays until the next
 * attempt. The version moves on (the claim token, which fences completions, is never lowered).
 * A task of a category held back (paused, circuit not closed, rate-limited) goes straight to
 * the parked end of the queue (run_at = 'infinity', as the dispatchers' parking would put it):
 * a bulk retry of 100,000 tasks into a paused category must not sit in front of every claim
 * until it is parked. The dispatchers release (or, rate-limited, claim) it from there; one
 * whose category is resumed meanwhile is released at their next look.
 */
const RETRY_SET = `
  state = 'pending', attempts = 0, snoozes = 0, version = t.version + 1,
  run_at = CASE WHEN EXISTS (SELECT 1 FROM handlers held WHERE held.cate = t.cate
      AND (held.paused OR held.circuit_state <> 'closed' OR held.rate_per_second IS NOT NULL))
    THEN 'infinity'::timestamptz ELSE now() END,
  lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL, updated_at = now()`;

/**
 * Re-queues a failed task (RETRY_SET). Answers the task's state before the call (no row: no task)
 * and whether it was re-queued. $1 cate, $2 key.
 */
export const RETRY_TASK = `
  WITH target AS (
    SELECT t.id, t.state FROM tasks t
    WHERE t.cate = $1::text AND t.key = $2::numeric AND NOT t.in_advance
      AND t.schedule_id IS NULL
    FOR UPDATE
  ), retried AS (
    UPDATE tasks t SET ${RETRY_SET}
    FROM target WHERE t.id = target.id AND target.state = 'failed'
    RETURNING t.id
  )
  SELECT target.state, EXISTS (SELECT 1 FROM retried) AS retried FROM target`;

/**
 * Bulk actions by filter (POST /tasks/:cate/retry and /delete) run as a series of chunks, each one
 * statement in autocommit (its own short transaction). A chunk reads the next $3 rows of category
 * $1 after id $2 through an index in (…, id) order — the scan, so that a statement costs at most
 * $3 rows whatever the filter (a narrow due window over a category of millions of rows is many
 * cheap statements, never one long one) — and acts on those of them that match the filter. The
 * caller goes on from last_id while a chunk scanned $3 rows. Every chunk answers
 * {scanned, last_id, count}; count is the rows changed (or, for a dry run, matching).
 *
 * The matching rows are locked in id order and waited for (no SKIP LOCKED): a row being claimed
 * or written at that moment is acted on once that write commits, and only if it still matches:
 * FOR UPDATE re-checks the filter on the row version it locked. Locks in id order cannot deadlock
 * with another bulk action. The API pool's lock_timeout bounds the wait; the repository runs a
 * chunk again after a lock timeout or deadlock (a chunk that failed changed nothing).
 *
 * `range` and `order` pick the index: as in listPage, `cate <= $1 AND (cate, id) > ($1, $2)`
 * with ORDER BY cate, id can only be read from a (cate, id) index, in order, from the cursor on.
 */
function bulkChunk(range: string, order: string, filter: string, action: string): string {
  return `
  WITH scan AS (
    SELECT t.id, (${filter}) AS matches FROM tasks t
    WHERE ${range}
    ORDER BY ${order}
    LIMIT $3::int
  ), target AS (
    SELECT t.id FROM tasks t JOIN scan ON scan.id = t.id
    WHERE scan.matches AND ${filter}
    ORDER BY t.id
    FOR UPDATE OF t
  ), changed AS (
    ${action}
    RETURNING t.id
  )
  SELECT (SELECT count(*) FROM scan)::int AS scanned, (SELECT max(id) FROM scan)::text AS last_id,
    (SELECT count(*) FROM changed)::int AS count`;
}

/** The dry run of bulkChunk: how many of the chunk's rows match, nothing locked or changed. */
function bulkCount(range: string, order: string, filter: string): string {
  return `
  SELECT count(*)::int AS scanned, max(t.id)::text AS last_id,
    (count(*) FILTER (WHERE ${filter}))::int AS count
  FROM (
    SELECT t.id, t.state, t.due_at, t.updated_at FROM tasks t
    WHERE ${range}
    ORDER BY ${order}
    LIMIT $3::int
  ) t`;
}

/** A category's rows after the cursor, from tasks_cate_id_idx. */
const CATE_RANGE = 't.cate <= $1::text AND (t.cate, t.id) > ($1::text, $2::bigint)';
/** A category's failed rows after the cursor, from tasks_failed_cate_id_idx. */
const FAILED_RANGE = `${CATE_RANGE} AND t.state = 'failed'`;
/**
 * Running rows after the cursor, of the category, from tasks_state_id_idx: running rows are only
 * the deliveries in flight across the replicas, where a category may hold millions of rows.
 */
const RUNNING_RANGE = `t.state <= 'running' AND (t.state, t.id) > ('running', $2::bigint)
      AND t.cate = $1::text`;

/**
 * When a task failed is its updated_at: RECORD_FAILURES stamps it when the last attempt makes the
 * row failed (also for a lost lease and for 410 Gone), and no statement writes a failed row without
 * making it pending (upsert, retry, exec). Retention ages failed tasks by it too.
 * $4 failedAfter (inclusive), $5 failedBefore (exclusive): Unix seconds, NULL for no bound.
 */
const FAILED_FILTER = `t.state = 'failed'
      AND ($4::float8 IS NULL OR t.updated_at >= to_timestamp($4::float8))
      AND ($5::float8 IS NULL OR t.updated_at < to_timestamp($5::float8))`;

/**
 * Re-queues the failed tasks of a chunk (RETRY_SET, as POST /task/:cate/:key/retry), exec: true
 * deliveries included. $1 cate, $2 after id ('0' first), $3 chunk size, $4 failedAfter,
 * $5 failedBefore.
 */
export const RETRY_FAILED_CHUNK = bulkChunk(
  FAILED_RANGE,
  't.cate, t.id',
  FAILED_FILTER,
  `UPDATE tasks t SET ${RETRY_SET} FROM target WHERE t.id = target.id`,
);

/** The dry run of RETRY_FAILED_CHUNK, with the same parameters. */
export const COUNT_RETRY_CHUNK = bulkCount(FAILED_RANGE, 't.cate, t.id', FAILED_FILTER);

/**
 * $4 state (NULL: any), $5 dueAfter (inclusive), $6 dueBefore (exclusive): Unix seconds against
 * due_at (the task's time, not run_at, which moves with backoff, snoozes and parking).
 */
const DELETE_FILTER = `($4::text IS NULL OR t.state = $4::text)
      AND ($5::float8 IS NULL OR t.due_at >= to_timestamp($5::float8))
      AND ($6::float8 IS NULL OR t.due_at < to_timestamp($6::float8))`;

/**
 * Deletes the matching tasks of a chunk, exec: true deliveries included. A running task's
 * delivery finishes, but its claim's completion, failure or release no longer finds the row
 * (the claim fence, dispatch/queue.sql.ts): nothing is retried or recorded on it afterwards.
 */
const DELETE_ACTION = 'DELETE FROM tasks t USING target WHERE t.id = target.id';

/**
 * Bulk delete chunks by the index that serves the state filter: any state and pending through
 * tasks_cate_id_idx, failed through tasks_failed_cate_id_idx, running through tasks_state_id_idx.
 * $1 cate, $2 after id ('0' first), $3 chunk size, $4 state, $5 dueAfter, $6 dueBefore.
 */
export const DELETE_CHUNK = bulkChunk(CATE_RANGE, 't.cate, t.id', DELETE_FILTER, DELETE_ACTION);
export const DELETE_FAILED_CHUNK = bulkChunk(
  FAILED_RANGE,
  't.cate, t.id',
  DELETE_FILTER,
  DELETE_ACTION,
);
export const DELETE_RUNNING_CHUNK = bulkChunk(
  RUNNING_RANGE,
  't.state, t.id',
  DELETE_FILTER,
  DELETE_ACTION,
);

/** The dry runs of the DELETE_…CHUNK statements, with the same parameters. */
export const COUNT_DELETE_CHUNK = bulkCount(CATE_RANGE, 't.cate, t.id', DELETE_FILTER);
export const COUNT_DELETE_FAILED_CHUNK = bulkCount(FAILED_RANGE, 't.cate, t.id', DELETE_FILTER);
export const COUNT_DELETE_RUNNING_CHUNK = bulkCount(RUNNING_RANGE, 't.state, t.id', DELETE_FILTER);

/**
 * Attempt history of (cate, key), newest first, across occurrences (it outlives the task).
 * Keyset on id through task_attempts_cate_key_idx. $1 cate, $2 key, $3 before id, $4 limit.
 */
export const LIST_ATTEMPTS = `
  SELECT a.id::text AS id, a.delivery_id::text AS delivery_id, a.attempt, a.started_at,
    a.duration_ms, a.status_code, a.outcome, left(a.error, 500) AS error
  FROM task_attempts a
  WHERE a.cate = $1::text AND a.key = $2::numeric AND ($3::bigint IS NULL OR a.id < $3::bigint)
  ORDER BY a.id DESC
  LIMIT $4::int`;

/**
 * Retention: attempt rows older than $1 days, at most $2 per call. Reads by the BRIN index on
 * created_at; SKIP LOCKED lets every replica prune at once, each taking other rows.
 */
export const PRUNE_ATTEMPTS = `
  WITH old AS (
    SELECT id FROM task_attempts
    WHERE created_at < now() - $1::int * interval '1 day'
    LIMIT $2::int
    FOR UPDATE SKIP LOCKED
  )
  DELETE FROM task_attempts a USING old WHERE a.id = old.id`;

/**
 * Retention: tasks failed for good more than $1 days ago, at most $2 per call, oldest first from
 * the partial index on failed tasks. The lock re-checks the row, so a task retried or re-posted
 * meanwhile (pending again) is not deleted; SKIP LOCKED keeps replicas apart.
 */
export const PRUNE_FAILED_TASKS = `
  WITH old AS (
    SELECT id FROM tasks
    WHERE state = 'failed' AND updated_at < now() - $1::int * interval '1 day'
    ORDER BY updated_at
    LIMIT $2::int
    FOR UPDATE SKIP LOCKED
  )
  DELETE FROM tasks t USING old WHERE t.id = old.id`;

/**
 * GET /tasks: keyset pages in id order, one statement per filter combination, each read in the
 * order of the index that serves its filter, so a page costs about its own rows whatever the
 * table holds. The page is taken from `tasks` first and joined to handlers after, so the join
 * cannot turn the ordered index scan into a read-everything-then-sort plan.
 *
 * A filter `col = $v` is written `col <= $v AND (col, id) > ($v, $after)`: the row comparison
 * starts the index scan right after the cursor, and without an `=` the planner cannot drop col
 * from `ORDER BY col, id`, so the (col, id) index is the only one that yields the page in order.
 * Given `cate = $1 … ORDER BY id` it may instead walk the primary key and filter on cate, which
 * reads nearly the whole table when the category's rows sit at its far end (a new category).
 * $after is 0 on the first page.
 *
 * A page is also cut by size: items are kept while the bytes of the items before them are under
 * $maxBytes (so the first is always kept), counted by a running sum over the rows the limit
 * fetched. The output columns are computed after the cut, so the rows past it are neither
 * converted nor sent (their params are only measured); `fetched` (how many rows the limit took)
 * tells the caller that the page was cut and needs a cursor.
 */
function listPage(where: string, order: string, limit: string, maxBytes: string): string {
  return `
  SELECT ${taskColumns('t.category_url')}, t.fetched FROM (
    SELECT t.*, h.url AS category_url, row_number() OVER w AS position,
      (count(*) OVER ())::int AS fetched,
      coalesce(sum(${ITEM_BYTES}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
        AS bytes_before
    FROM (SELECT * FROM tasks t WHERE ${where} ORDER BY ${order} LIMIT ${limit}) t
    LEFT JOIN handlers h ON h.cate = t.cate
    WINDOW w AS (ORDER BY ${order})
  ) t
  WHERE t.bytes_before < ${maxBytes}
  ORDER BY t.position`;
}

/**
 * The bytes an item of GET /tasks takes, estimated from its variable fields: params (the response
 * carries its stored text), handler, last error, cate, and 256 for the rest (names, key, times,
 * state, delivery id). Measuring params reads (and decompresses) each fetched row's value: about
 * 20 ms for 1,000 rows of 60 KB, against seconds to send and serialize them.
 */
const ITEM_BYTES = `(octet_length(t.params::text) + octet_length(t.cate)
      + coalesce(octet_length(coalesce(t.handler, h.url)), 0)
      + coalesce(octet_length(t.last_error), 0) + 256)`;

/** No filter: the primary key. $1 after id, $2 limit, $3 max bytes. */
export const LIST_TASKS = listPage('t.id > $1::bigint', 't.id', '$2::int', '$3::bigint');

/** ?cate=: tasks_cate_id_idx. $1 cate, $2 after id, $3 limit, $4 max bytes. */
export const LIST_TASKS_OF_CATE = listPage(
  't.cate <= $1::text AND (t.cate, t.id) > ($1::text, $2::bigint)',
  't.cate, t.id',
  '$3::int',
  '$4::bigint',
);

/** ?state=: tasks_state_id_idx. $1 state, $2 after id, $3 limit, $4 max bytes. */
export const LIST_TASKS_IN_STATE = listPage(
  't.state <= $1::text AND (t.state, t.id) > ($1::text, $2::bigint)',
  't.state, t.id',
  '$3::int',
  '$4::bigint',
);

/**
 * ?cate=&state=pending|failed: the category's rows in id order, from tasks_failed_cate_id_idx
 * for failed tasks, else tasks_cate_id_idx (nearly all of a category's rows are pending).
 * $1 cate, $2 state, $3 after id, $4 limit, $5 max bytes.
 */
export const LIST_TASKS_OF_CATE_IN_STATE = listPage(
  't.cate <= $1::text AND (t.cate, t.id) > ($1::text, $3::bigint) AND t.state = $2::text',
  't.cate, t.id',
  '$4::int',
  '$5::bigint',
);

/**
 * ?cate=&state=running: running rows in id order, filtered by category; there are only as many
 * as deliveries in flight across the replicas, where a category may hold millions of rows.
 * $1 cate, $2 state ('running'), $3 after id, $4 limit, $5 max bytes.
 */
export const LIST_TASKS_IN_STATE_OF_CATE = listPage(
  't.state <= $2::text AND (t.state, t.id) > ($2::text, $3::bigint) AND t.cate = $1::text',
  't.state, t.id',
  '$4::int',
  '$5::bigint',
);

/**
 * Parked tasks (held back: run_at = 'infinity', read through tasks_parked_idx) of categories in
 * the given state, counted up to $1 like the states above.
 */
function heldCount(condition: string, name: string): string {
  return `(SELECT count(*) FROM (SELECT 1 FROM tasks t JOIN handlers h ON h.cate = t.cate
      WHERE t.state = 'pending' AND t.run_at = 'infinity' AND ${condition} LIMIT $1) c)::int
      AS ${name}`;
}

/**
 * Task counts and the oldest due age for /metrics, run on every scrape, so it must stay cheap
 * with millions of rows: count(*) by state reads every row (50–200 ms at a million). Each state
 * is counted through its index only up to $1 rows; above that the caller uses the row count of
 * the state's partial index as of the last (auto)VACUUM/ANALYZE (pg_class.reltuples, an
 * estimate). The oldest due age reads one entry of the pending index.
 */
export const TASK_STATS = `
  SELECT
    (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'pending' LIMIT $1) c)::int AS pending,
    (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'running' LIMIT $1) c)::int AS running,
    (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE state = 'failed' LIMIT $1) c)::int AS failed,
    (SELECT reltuples FROM pg_class WHERE oid = to_regclass('tasks_pending_run_at_idx'))::float8
      AS pending_estimate,
    (SELECT reltuples FROM pg_class WHERE oid = to_regclass('tasks_running_lease_idx'))::float8
      AS running_estimate,
    (SELECT reltuples FROM pg_class WHERE oid = to_regclass('tasks_failed_updated_at_idx'))::float8
      AS failed_estimate,
    coalesce(extract(epoch FROM now() - (
      SELECT min(run_at) FROM tasks WHERE state = 'pending' AND run_at <= now())), 0)::float8
      AS oldest_due_age_seconds,
    (SELECT count(*) FROM handlers WHERE paused)::int AS paused_categories,
    (SELECT count(*) FROM handlers WHERE circuit_state = 'open')::int AS open_circuits,
    (SELECT count(*) FROM handlers WHERE circuit_state = 'half_open')::int AS half_open_circuits,
    (SELECT count(*) FROM handlers WHERE rate_per_second IS NOT NULL)::int AS rate_limited_categories,
    ${heldCount('h.paused', 'held_paused')},
    ${heldCount(`NOT h.paused AND h.circuit_state <> 'closed'`, 'held_circuit')},
    ${heldCount(
      `NOT h.paused AND h.circuit_state = 'closed' AND h.rate_per_second IS NOT NULL`,
      'held_rate_limit',
    )}`;

export const NOTIFY_DUE = `SELECT pg_notify('${DUE_CHANNEL}', '')`;
