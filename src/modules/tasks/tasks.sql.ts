/**
 * Every statement against `tasks`. Parameters are numbered and cast; times are compared with the
 * database clock (now()), never a replica's. Only TasksRepository uses these.
 */

/** Columns a reader needs, with key/params/times as exact text. */
const TASK_COLUMNS = `
  t.id::text AS id, t.cate, t.key::text AS key, extract(epoch FROM t.due_at)::text AS due_epoch,
  t.params::text AS params, t.handler, h.url AS category_handler, t.in_advance, t.state,
  t.attempts, t.last_error, t.delivery_id::text AS delivery_id,
  extract(epoch FROM t.run_at)::text AS run_epoch`;

/**
 * Create or replace (cate, key). A replaced task is a new occurrence: new version (which fences
 * any delivery of the old one still in flight), new delivery id, attempts reset, lease dropped.
 * The WHERE refuses times more than 60 s in the past by the database clock: no row, no write.
 * $1 cate, $2 key, $3 due (unix seconds), $4 params json, $5 handler.
 */
export const UPSERT_TASK = `
  INSERT INTO tasks AS t (cate, key, due_at, run_at, params, handler)
  SELECT $1::text, $2::numeric, to_timestamp($3::float8), to_timestamp($3::float8), $4::json, $5::text
  WHERE to_timestamp($3::float8) >= now() - interval '60 seconds'
  ON CONFLICT (cate, key) WHERE NOT in_advance DO UPDATE SET
    due_at = excluded.due_at, run_at = excluded.run_at, params = excluded.params,
    handler = excluded.handler, in_advance = false, state = 'pending', version = t.version + 1,
    attempts = 0, delivery_id = gen_random_uuid(), lease_owner = NULL, lease_expires_at = NULL,
    last_error = NULL, updated_at = now()
  RETURNING (extract(epoch FROM (t.run_at - now())) * 1000)::float8 AS due_in_ms`;

/** $3: optional due time; when given it must match the task's to the second. */
const MATCH_TASK = `
  t.cate = $1::text AND t.key = $2::numeric AND NOT t.in_advance
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
    delivery_id = gen_random_uuid(), lease_owner = NULL, lease_expires_at = NULL,
    last_error = NULL, updated_at = now()
  WHERE ${MATCH_TASK}
  RETURNING t.id`;

/**
 * Keyset page in id order. Absent filters are NULL; PostgreSQL plans each call with its actual
 * values, so the `IS NULL OR` arms fold away and the (cate, id) / (state, id) indexes are used.
 * $1 cate, $2 state, $3 after id, $4 limit.
 */
export const LIST_TASKS = `
  SELECT ${TASK_COLUMNS}
  FROM tasks t LEFT JOIN handlers h ON h.cate = t.cate
  WHERE ($1::text IS NULL OR t.cate = $1::text)
    AND ($2::text IS NULL OR t.state = $2::text)
    AND ($3::bigint IS NULL OR t.id > $3::bigint)
  ORDER BY t.id
  LIMIT $4`;

/**
 * Claim up to $1 due tasks for worker $2. FOR UPDATE SKIP LOCKED lets concurrent claimers take
 * disjoint rows without waiting on each other. The lease is how long the claimer owns the row
 * before the sweeper hands it back: the category's timeout (else $3 ms) plus a margin of $4 ms.
 * attempts counts claims, so (id, version, attempts) names this claim and fences its completion.
 * The handler and the category's settings are read now, at delivery time: the task's own
 * handler, else the category's current one.
 */
export const CLAIM_DUE = `
  WITH due AS (
    SELECT t.id, h.url AS category_url, h.max_attempts, h.timeout_ms, h.secrets
    FROM tasks t LEFT JOIN handlers h ON h.cate = t.cate
    WHERE t.state = 'pending' AND t.run_at <= now()
    ORDER BY t.run_at, t.id
    LIMIT $1
    FOR UPDATE OF t SKIP LOCKED
  )
  UPDATE tasks t SET
    state = 'running', attempts = t.attempts + 1, lease_owner = $2::text,
    lease_expires_at = now() + (coalesce(due.timeout_ms, $3::int) + $4::int) * interval '1 millisecond'
  FROM due WHERE t.id = due.id
  RETURNING t.id::text AS id, t.cate, t.key::text AS key, t.params::text AS params,
    t.in_advance, t.version, t.attempts, t.delivery_id::text AS delivery_id,
    extract(epoch FROM t.due_at)::text AS due_epoch,
    coalesce(t.handler, due.category_url) AS handler_url,
    due.max_attempts, due.timeout_ms, coalesce(due.secrets, '{}') AS secrets`;

/** Milliseconds (database clock) until the earliest pending task may run; null when none. */
export const NEXT_DUE_DELAY = `
  SELECT (extract(epoch FROM (min(run_at) - now())) * 1000)::float8 AS delay_ms
  FROM tasks WHERE state = 'pending'`;

/** Fence shared by completions: only the holder of this exact claim may complete it. */
const CLAIM_FENCE = `
  t.id = c.id AND t.version = c.version AND t.attempts = c.attempts AND t.state = 'running'`;

/** Delivered: the row leaves the hot table. $1 ids, $2 versions, $3 attempts. */
export const COMPLETE_DELIVERED = `
  DELETE FROM tasks t
  USING unnest($1::bigint[], $2::int[], $3::int[]) AS c(id, version, attempts)
  WHERE ${CLAIM_FENCE}`;

/**
 * Failed attempt: back to pending after a delay, or failed for good when final.
 * $1 ids, $2 versions, $3 attempts, $4 final flags, $5 delays (ms), $6 errors.
 */
export const RECORD_FAILURES = `
  UPDATE tasks t SET
    state = CASE WHEN c.final THEN 'failed' ELSE 'pending' END,
    run_at = CASE WHEN c.final THEN t.run_at ELSE now() + c.delay_ms * interval '1 millisecond' END,
    last_error = c.error, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM unnest($1::bigint[], $2::int[], $3::int[], $4::boolean[], $5::int[], $6::text[])
    AS c(id, version, attempts, final, delay_ms, error)
  WHERE ${CLAIM_FENCE}`;

/**
 * Shutdown: claims never started (or cut off) go back to the queue as they were, so attempts
 * goes down again. The next claim of the row then has this claim's (id, version, attempts), which
 * is why the owner $4 is fenced too: a release written twice (a batch retried after a partial
 * failure) must not free another worker's later claim.
 */
export const RELEASE_CLAIMS = `
  UPDATE tasks t SET
    state = 'pending', attempts = t.attempts - 1, lease_owner = NULL, lease_expires_at = NULL
  FROM unnest($1::bigint[], $2::int[], $3::int[]) AS c(id, version, attempts)
  WHERE ${CLAIM_FENCE} AND t.lease_owner = $4::text`;

/**
 * Leases that expired (their worker died, hung or lost the database) go back to pending. SKIP
 * LOCKED and the state check make it safe for every replica to sweep at once.
 */
export const RESCUE_EXPIRED_LEASES = `
  WITH expired AS (
    SELECT id FROM tasks
    WHERE state = 'running' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
  )
  UPDATE tasks t SET
    state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
    last_error = 'lease expired: the delivering replica stopped or lost the database'
  FROM expired WHERE t.id = expired.id`;

/**
 * Attempt history, written with the outcomes of the same batch.
 * $1 task ids, $2 cates, $3 keys, $4 delivery ids, $5 attempt numbers, $6 start times (epoch ms),
 * $7 durations (ms), $8 status codes (NULL when there was no response), $9 outcomes, $10 errors.
 */
export const INSERT_ATTEMPTS = `
  INSERT INTO task_attempts
    (task_id, cate, key, delivery_id, attempt, started_at, duration_ms, status_code, outcome, error)
  SELECT a.task_id, a.cate, a.key, a.delivery_id, a.attempt,
    to_timestamp(a.started_ms / 1000.0), a.duration_ms, a.status_code, a.outcome, a.error
  FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::uuid[], $5::int[], $6::float8[],
    $7::int[], $8::int[], $9::text[], $10::text[])
    AS a(task_id, cate, key, delivery_id, attempt, started_ms, duration_ms, status_code, outcome,
      error)`;

export const DUE_CHANNEL = 'delay_tasks_due';
export const NOTIFY_DUE = `SELECT pg_notify('${DUE_CHANNEL}', '')`;
