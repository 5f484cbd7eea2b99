/**
 * The queue's state machine, every statement of it: claim, next due time, complete, record
 * failures, release, lock expired leases, record attempts. Only QueueRepository runs these, on
 * the dispatcher's own pool (named prepared statements). Parameters are numbered and cast; times
 * are compared with the database clock (now()), never a replica's.
 *
 * A task row moves pending → running (claim) → deleted (delivered) | pending (retry, release,
 * lost lease) | failed (last attempt). Every claim bumps claim_token, which nothing else ever
 * changes or lowers, so (id, claim_token) names one claim for good: a completion or release is
 * applied only while that claim is the row's current one and the row is still running. An
 * upsert, retry or exec of the task in between (state back to pending), a later claim (token
 * moved on), or the sweeper (state changed) all make a late or replayed write of the old claim
 * a no-op.
 */

/**
 * Claim up to $1 due tasks for worker $2. FOR UPDATE SKIP LOCKED lets concurrent claimers take
 * disjoint rows without waiting on each other; the due rows are read in (run_at, id) order from
 * tasks_pending_run_at_idx, so a claim costs its batch, not the backlog. The lease is how long
 * the claimer owns the row before the sweeper hands it back: the category's timeout (else $3 ms)
 * plus a margin of $4 ms. attempts counts attempts (a release gives one back); claim_token
 * counts claims and fences this one (see above). The handler and the category's settings are
 * read now, at delivery time: the task's own handler, else the category's current one.
 * $5: categories this worker is at the concurrency cap of; their due rows are read from the
 * index and passed over. claimed_at_ms is the database clock at the claim: the worker dates
 * attempts and webhook signatures by it, not by its own clock.
 */
export const CLAIM_DUE = `
  WITH due AS (
    SELECT t.id, h.url AS category_url, h.max_attempts, h.timeout_ms, h.concurrency, h.secrets
    FROM tasks t LEFT JOIN handlers h ON h.cate = t.cate
    WHERE t.state = 'pending' AND t.run_at <= now() AND t.cate <> ALL($5::text[])
    ORDER BY t.run_at, t.id
    LIMIT $1::int
    FOR UPDATE OF t SKIP LOCKED
  )
  UPDATE tasks t SET
    state = 'running', attempts = t.attempts + 1, claim_token = t.claim_token + 1,
    lease_owner = $2::text, leased_at = now(),
    lease_expires_at = now() + (coalesce(due.timeout_ms, $3::int) + $4::int) * interval '1 millisecond'
  FROM due WHERE t.id = due.id
  RETURNING t.id::text AS id, t.claim_token, t.cate, t.key::text AS key, t.params::text AS params,
    t.in_advance, t.attempts, t.delivery_id::text AS delivery_id,
    extract(epoch FROM t.due_at)::text AS due_epoch,
    coalesce(t.handler, due.category_url) AS handler_url,
    due.max_attempts, due.timeout_ms, due.concurrency, coalesce(due.secrets, '{}') AS secrets,
    (extract(epoch FROM now()) * 1000)::float8 AS claimed_at_ms`;

/**
 * Milliseconds (database clock) until the earliest pending task may run; null when none. Reads
 * tasks_pending_run_at_idx from its start, passing over the entries of the categories left out
 * ($1: those at this worker's cap; a finished delivery wakes the worker for them).
 */
export const NEXT_DUE_DELAY = `
  SELECT (extract(epoch FROM (min(run_at) - now())) * 1000)::float8 AS delay_ms
  FROM tasks WHERE state = 'pending' AND cate <> ALL($1::text[])`;

/** The claim fence (see the top of this file). */
const CLAIM_FENCE = `t.id = c.id AND t.claim_token = c.token AND t.state = 'running'`;

/** Delivered: the row leaves the hot table. $1 ids, $2 claim tokens. */
export const COMPLETE_DELIVERED = `
  DELETE FROM tasks t
  USING unnest($1::bigint[], $2::int[]) AS c(id, token)
  WHERE ${CLAIM_FENCE}`;

/**
 * Failed attempt (or lost lease): back to pending after a delay, or failed for good when final.
 * $1 ids, $2 claim tokens, $3 final flags, $4 delays (ms), $5 errors.
 */
export const RECORD_FAILURES = `
  UPDATE tasks t SET
    state = CASE WHEN c.final THEN 'failed' ELSE 'pending' END,
    run_at = CASE WHEN c.final THEN t.run_at ELSE now() + c.delay_ms * interval '1 millisecond' END,
    last_error = c.error, lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL,
    updated_at = now()
  FROM unnest($1::bigint[], $2::int[], $3::boolean[], $4::int[], $5::text[])
    AS c(id, token, final, delay_ms, error)
  WHERE ${CLAIM_FENCE}`;

/**
 * Claims never started (shutdown, over a category's cap, answered too late) go back to the queue
 * as they were: the attempt is given back. The claim token is not: the next claim gets a new
 * one, so this release, replayed after a connection error, cannot free that later claim.
 * $1 ids, $2 claim tokens.
 */
export const RELEASE_CLAIMS = `
  UPDATE tasks t SET
    state = 'pending', attempts = t.attempts - 1, lease_owner = NULL, lease_expires_at = NULL,
    leased_at = NULL
  FROM unnest($1::bigint[], $2::int[]) AS c(id, token)
  WHERE ${CLAIM_FENCE}`;

/**
 * Leases that expired (their worker died, hung or lost the database), oldest first, locked for
 * the sweeper's transaction, which then writes each one's attempt row and its retry or failure
 * (RECORD_FAILURES, INSERT_ATTEMPTS) by the retry policy. Read in order from
 * tasks_running_lease_idx; the category's max_attempts is a subquery per row, not a join: the
 * planner underestimates the expired leases (it takes state and lease_expires_at as
 * independent), and with a hash join it read and sorted every expired lease before the LIMIT.
 * SKIP LOCKED and the state check make it safe for every replica to sweep at once.
 * $1 limit.
 */
export const LOCK_EXPIRED_LEASES = `
  SELECT t.id::text AS id, t.claim_token, t.cate, t.key::text AS key,
    t.delivery_id::text AS delivery_id, t.attempts, t.lease_owner,
    (SELECT h.max_attempts FROM handlers h WHERE h.cate = t.cate) AS max_attempts,
    (extract(epoch FROM coalesce(t.leased_at, t.lease_expires_at)) * 1000)::float8 AS leased_at_ms,
    (extract(epoch FROM now()) * 1000)::float8 AS now_ms
  FROM tasks t
  WHERE t.state = 'running' AND t.lease_expires_at < now()
  ORDER BY t.lease_expires_at
  LIMIT $1::int
  FOR UPDATE OF t SKIP LOCKED`;

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
