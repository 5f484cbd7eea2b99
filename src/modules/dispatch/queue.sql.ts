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

import {
  circuitClosedData,
  eventBody,
  isoTime,
  jsonObject,
  jsonString,
} from '../../database/events-outbox.sql';

/** What a claim returns of each task (ClaimedTask), `due` being the claim's CTE. */
const CLAIMED_COLUMNS = `
  t.id::text AS id, t.claim_token, t.cate, t.key::text AS key, t.params::text AS params,
  t.in_advance, t.attempts, t.snoozes, t.delivery_id::text AS delivery_id,
  extract(epoch FROM t.due_at)::text AS due_epoch,
  coalesce(t.handler, due.category_url) AS handler_url,
  due.max_attempts, due.timeout_ms, due.concurrency, coalesce(due.secrets, '{}') AS secrets,
  (extract(epoch FROM now()) * 1000)::float8 AS claimed_at_ms,
  t.schedule_id IS NOT NULL AS from_schedule`;

/**
 * The task's category is not held back (paused, circuit not closed) and not rate-limited (its
 * tasks go through CLAIM_RATED, which takes tokens from the category's bucket). A per-row
 * subquery, not a filter on a join: with the filter, the prepared claim's plan under a burst
 * halved the claim rate (1,440 → 890/s in bench/probe-burst.ts).
 */
const NOT_HELD = `NOT coalesce((SELECT held.paused OR held.circuit_state <> 'closed'
    OR held.rate_per_second IS NOT NULL
  FROM handlers held WHERE held.cate = t.cate), false)`;

/**
 * For the next-due read: as NOT_HELD, except that a rate-limited category's tasks count until
 * they are due (the worker wakes at their due time and runs CLAIM_RATED); a due one is left to
 * the rate-limited claim's own timing, so that a backlog waiting for tokens never makes a
 * worker spin.
 */
const NOT_HELD_OR_WAITING = `NOT coalesce((SELECT held.paused OR held.circuit_state <> 'closed'
    OR (held.rate_per_second IS NOT NULL AND t.run_at <= now())
  FROM handlers held WHERE held.cate = t.cate), false)`;

/**
 * Leases the rows of the claim's `due` CTE to worker `owner` for the category's timeout (else
 * `timeout` ms) plus `margin` ms, counting the attempt and bumping the claim token.
 */
function leaseDue(owner: string, timeout: string, margin: string): string {
  return `UPDATE tasks t SET
    state = 'running', attempts = t.attempts + 1, claim_token = t.claim_token + 1,
    lease_owner = ${owner}::text, leased_at = now(),
    lease_expires_at = now()
      + (coalesce(due.timeout_ms, ${timeout}::int) + ${margin}::int) * interval '1 millisecond'
  FROM due WHERE t.id = due.id`;
}

/**
 * Claim up to $1 due tasks for worker $2. FOR UPDATE SKIP LOCKED lets concurrent claimers take
 * disjoint rows without waiting on each other; the due rows are read in (run_at, id) order from
 * tasks_pending_run_at_idx, so a claim costs its batch, not the backlog. The lease is how long
 * the claimer owns the row before the sweeper hands it back: the category's timeout (else $3 ms)
 * plus a margin of $4 ms. attempts counts attempts (a release gives one back); claim_token
 * counts claims and fences this one (see above). The handler and the category's settings are
 * read now, at delivery time: the task's own handler, else the category's current one.
 * $5: categories this worker is at the concurrency cap of; their due rows are read from the
 * index and passed over. A category paused or with its circuit open is never claimed: NOT_HELD
 * reads its current state, so a pause is obeyed from the claim that follows its commit (held
 * backlogs are parked out of the index, PARK_HELD). claimed_at_ms is the database clock at the
 * claim: the worker dates attempts and webhook signatures by it, not by its own clock.
 */
export const CLAIM_DUE = `
  WITH picked AS MATERIALIZED (
    SELECT t.id, t.cate FROM tasks t
    WHERE t.state = 'pending' AND t.run_at <= now() AND t.cate <> ALL($5::text[])
      AND ${NOT_HELD}
    ORDER BY t.run_at, t.id
    LIMIT $1::int
    FOR UPDATE OF t SKIP LOCKED
  ), due AS (
    SELECT p.id, h.url AS category_url, h.max_attempts, h.timeout_ms, h.concurrency, h.secrets
    FROM picked p LEFT JOIN handlers h ON h.cate = p.cate
  )
  ${leaseDue('$2', '$3', '$4')}
  RETURNING ${CLAIMED_COLUMNS}`;

/**
 * Milliseconds (database clock) until the earliest pending task may run; null when none. Reads
 * tasks_pending_run_at_idx from its start, passing over the entries of the categories left out
 * ($1: those at this worker's cap; a finished delivery wakes the worker for them), of those
 * held back (paused, circuit not closed: a resume or a probe wakes the workers) and the due ones
 * of rate-limited categories (the worker times their claims by the bucket), so that a held
 * category's due backlog never makes a worker spin. Parked tasks (run_at = 'infinity') are not
 * waited for (their release wakes the workers), and 'infinity' minus now() would be an error.
 */
export const NEXT_DUE_DELAY = `
  SELECT (extract(epoch FROM (t.run_at - now())) * 1000)::float8 AS delay_ms
  FROM tasks t
  WHERE t.state = 'pending' AND t.run_at < 'infinity' AND t.cate <> ALL($1::text[])
    AND ${NOT_HELD_OR_WAITING}
  ORDER BY t.run_at, t.id
  LIMIT 1`;

/** The claim fence (see the top of this file). */
const CLAIM_FENCE = `t.id = c.id AND t.claim_token = c.token AND t.state = 'running'`;

/** Delivered: the row leaves the hot table. $1 ids, $2 claim tokens. */
export const COMPLETE_DELIVERED = `
  DELETE FROM tasks t
  USING unnest($1::bigint[], $2::int[]) AS c(id, token)
  WHERE ${CLAIM_FENCE}`;

/** data of a task.failed event, from the failed row `r` as the fenced update returned it. */
const TASK_FAILED_DATA = jsonObject([
  ['cate', jsonString('r.cate')],
  ['key', 'r.key::text'],
  ['params', 'r.params::text'],
  ['deliveryId', jsonString('r.delivery_id')],
  ['attempts', 'r.attempts::text'],
  ['lastError', jsonString('r.last_error')],
]);

/**
 * Failed attempt (or lost lease): back to pending after a delay, or failed for good when final.
 * A task that failed for good gets a task.failed event in the outbox, in this same statement,
 * when its category has an events handler: only rows the fence let through (RETURNING) do, so a
 * late or replayed write reports nothing. Returns how many rows were recorded and events written.
 * $1 ids, $2 claim tokens, $3 final flags, $4 delays (ms), $5 errors.
 */
export const RECORD_FAILURES = `
  WITH recorded AS (
    UPDATE tasks t SET
      state = CASE WHEN c.final THEN 'failed' ELSE 'pending' END,
      run_at = CASE WHEN c.final THEN t.run_at
        ELSE now() + c.delay_ms * interval '1 millisecond' END,
      last_error = c.error, lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL,
      updated_at = now()
    FROM unnest($1::bigint[], $2::int[], $3::boolean[], $4::int[], $5::text[])
      AS c(id, token, final, delay_ms, error)
    WHERE ${CLAIM_FENCE}
    RETURNING t.cate, t.key, t.params, t.delivery_id, t.attempts, t.last_error, t.state
  ), failed_events AS (
    INSERT INTO events (cate, type, body)
    SELECT r.cate, 'task.failed', ${eventBody('task.failed', TASK_FAILED_DATA)}
    FROM recorded r JOIN handlers h ON h.cate = r.cate
    WHERE r.state = 'failed' AND h.events_handler IS NOT NULL
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM recorded)::int AS recorded,
    (SELECT count(*) FROM failed_events)::int AS events`;

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
 * Half-open: for each category whose circuit is open (or half-open with its probe lost) and due
 * for a probe, with a due task, flip it to half_open and claim exactly one task as the probe —
 * one per category cluster-wide: the handler row is updated under its row lock, so a second
 * replica running this at the same moment finds circuit_next_probe_at in the future. The probe is
 * any due or parked task of the category (in id order, through tasks_cate_id_idx). The probe's
 * lease, like any claim's, is the category's timeout + margin; if it is lost, the probe may go
 * again when circuit_next_probe_at (set to that lease's end) passes. Paused categories wait.
 * $1 owner, $2 default timeout ms, $3 lease margin ms. Returns rows shaped as CLAIM_DUE's.
 */
export const CLAIM_PROBES = `
  WITH probe AS (
    UPDATE handlers h SET circuit_state = 'half_open',
      circuit_next_probe_at = now()
        + (coalesce(h.timeout_ms, $2::int) + $3::int) * interval '1 millisecond',
      -- A rate-limited category's probe takes its token like any delivery (at worst the bucket
      -- goes one into debt, paid back before the next rate-limited claim).
      rate_tokens = CASE WHEN h.rate_per_second IS NULL THEN h.rate_tokens
        ELSE ${refilledTokens('h')} - 1 END,
      rate_refilled_at = CASE WHEN h.rate_per_second IS NULL THEN h.rate_refilled_at
        ELSE greatest(h.rate_refilled_at, now()) END
    WHERE h.circuit_state <> 'closed' AND h.circuit_next_probe_at <= now() AND NOT h.paused
      AND EXISTS (SELECT 1 FROM tasks p
        WHERE p.cate = h.cate AND p.state = 'pending'
          AND (p.run_at <= now() OR p.run_at = 'infinity'))
    RETURNING h.cate, h.url, h.max_attempts, h.timeout_ms, h.concurrency, h.secrets
  ), due AS (
    SELECT one.id, probe.url AS category_url, probe.max_attempts, probe.timeout_ms,
      probe.concurrency, probe.secrets
    FROM probe, LATERAL (
      SELECT t.id FROM tasks t
      WHERE t.cate = probe.cate AND t.state = 'pending'
        AND (t.run_at <= now() OR t.run_at = 'infinity')
      ORDER BY t.id
      LIMIT 1
      FOR UPDATE SKIP LOCKED) one
  )
  ${leaseDue('$1', '$2', '$3')}
  RETURNING ${CLAIMED_COLUMNS}`;

/**
 * The tokens in the bucket of handler row `h` now: what was left at rate_refilled_at plus
 * perSecond × the seconds since, at most burst. A waiter whose now() is older than the stamp the
 * lock holder wrote counts no time (greatest(0, …)); the stamp written after is the later one.
 */
function refilledTokens(h: string): string {
  return `least(${h}.rate_burst::float8, ${h}.rate_tokens + ${h}.rate_per_second
    * greatest(0, extract(epoch FROM now() - ${h}.rate_refilled_at))::float8)`;
}

/**
 * The rate-limited claim: for each category in $1 (rate-limited, not paused, circuit closed),
 * refill its token bucket by the time passed (perSecond × seconds, at most burst), claim up to
 * min(whole tokens, $2 room for it on this worker) of its due tasks — parked ones first, in due
 * order (tasks_parked_idx), then due ones not yet parked (tasks_pending_run_at_idx) — and take
 * one token per task claimed. The bucket is the handler row, locked (in cate order) for the
 * statement: claims of every replica are serialised on it, so the tasks claimed for a category
 * cluster-wide stay within burst + perSecond × t in any window t. A waiter's now() may be older
 * than the refill stamp the holder wrote: it counts no time (greatest(0, …)) and keeps the later
 * stamp, so no time is counted twice. Tasks are claimed SKIP LOCKED, never waited for, so the
 * row lock cannot deadlock with outcome writes (which lock tasks, then handlers).
 * One row per category's bucket (task columns NULL when none was claimed): cate, tokens_left,
 * per_second, allowed (what the tokens and room allowed), then the claimed task as CLAIM_DUE's.
 * $1 cates, $2 room per cate, $3 owner, $4 default timeout ms, $5 lease margin ms.
 */
export const CLAIM_RATED = `
  WITH wanted AS (
    SELECT w.cate, w.room FROM unnest($1::text[], $2::int[]) AS w(cate, room)
  ), bucket AS (
    SELECT h.cate, h.url AS category_url, h.max_attempts, h.timeout_ms, h.concurrency, h.secrets,
      h.rate_per_second, h.rate_refilled_at,
      greatest(0, least(floor(${refilledTokens('h')}), w.room))::int AS allowed,
      ${refilledTokens('h')} AS tokens
    FROM handlers h JOIN wanted w ON w.cate = h.cate
    WHERE h.rate_per_second IS NOT NULL AND NOT h.paused AND h.circuit_state = 'closed'
    ORDER BY h.cate
    FOR UPDATE OF h
  ), parked AS (
    SELECT pick.id, b.cate FROM bucket b CROSS JOIN LATERAL (
      SELECT t.id FROM tasks t
      WHERE t.cate = b.cate AND t.state = 'pending' AND t.run_at = 'infinity'
      ORDER BY t.due_at, t.id
      LIMIT b.allowed
      FOR UPDATE OF t SKIP LOCKED) pick
  ), fresh AS (
    SELECT pick.id, b.cate FROM bucket b CROSS JOIN LATERAL (
      SELECT t.id FROM tasks t
      WHERE t.cate = b.cate AND t.state = 'pending' AND t.run_at <= now()
      ORDER BY t.run_at, t.id
      LIMIT greatest(0, b.allowed - (SELECT count(*) FROM parked p WHERE p.cate = b.cate))
      FOR UPDATE OF t SKIP LOCKED) pick
  ), due AS (
    SELECT picked.id, b.cate, b.category_url, b.max_attempts, b.timeout_ms, b.concurrency,
      b.secrets
    FROM (SELECT * FROM parked UNION ALL SELECT * FROM fresh) picked
    JOIN bucket b ON b.cate = picked.cate
  ), debit AS (
    UPDATE handlers h SET
      rate_tokens = b.tokens - (SELECT count(*) FROM due WHERE due.cate = b.cate),
      rate_refilled_at = greatest(b.rate_refilled_at, now())
    FROM bucket b WHERE h.cate = b.cate
    RETURNING h.cate, h.rate_tokens AS tokens_left, h.rate_per_second AS per_second, b.allowed
  ), leased AS (
    ${leaseDue('$3', '$4', '$5')}
    RETURNING ${CLAIMED_COLUMNS}
  )
  SELECT d.cate AS bucket_cate, d.tokens_left, d.per_second, d.allowed, l.*
  FROM debit d LEFT JOIN leased l ON l.cate = d.cate`;

/**
 * Categories whose flow state is not the plain one: held back (paused, or a circuit not closed),
 * rate-limited (per_second not null; their due tasks are parked too and claimed by
 * CLAIM_RATED), and those with consecutive failures counted (a success must reset them).
 */
export const LIST_FLOW_STATES = `
  SELECT cate, (paused OR circuit_state <> 'closed') AS held, rate_per_second AS per_second
  FROM handlers
  WHERE paused OR circuit_state <> 'closed' OR circuit_failures > 0
    OR rate_per_second IS NOT NULL
  ORDER BY cate`;

/**
 * Parks the due tasks of held categories ($1) at run_at = 'infinity', up to $2 per call, so that
 * they leave the front of tasks_pending_run_at_idx: without this, every claim and next-due read
 * of every replica would walk a held category's whole due backlog (measured: 100,000 held due
 * rows made a claim of 100 take ~290 ms and the next-due read ~160 ms). They stay pending with
 * attempts unspent; RELEASE_PARKED brings them back. The claim still checks the category itself,
 * so a task due in the moment before it is parked is never claimed. ($3, $4): the (run_at, id)
 * after which to go on ('-infinity', 0 first): the index entries of rows parked by the previous
 * call are dead but still there, and starting after them keeps a look linear in the backlog.
 */
export const PARK_HELD = `
  WITH held AS (
    SELECT t.id, t.run_at FROM tasks t
    WHERE t.state = 'pending' AND t.run_at <= now() AND t.cate = ANY($1::text[])
      AND (t.run_at, t.id) > ($3::timestamptz, $4::bigint)
    ORDER BY t.run_at, t.id
    LIMIT $2::int
    FOR UPDATE SKIP LOCKED
  ), parked AS (
    UPDATE tasks t SET run_at = 'infinity' FROM held WHERE t.id = held.id
    RETURNING held.id, held.run_at
  )
  SELECT count(*)::int AS parked, max(run_at) AS last_run_at,
    (SELECT p.id FROM parked p ORDER BY p.run_at DESC, p.id DESC LIMIT 1)::text AS last_id
  FROM parked`;

/**
 * Brings parked tasks of categories no longer held nor rate-limited ($1) back to the queue, due
 * at their due time (or now, if that passed: a backoff they were waiting out when parked is
 * forgiven, the operator or the recovered receiver said go). Through tasks_parked_idx, $2 per
 * call.
 */
export const RELEASE_PARKED = `
  WITH parked AS (
    SELECT t.id FROM tasks t
    LEFT JOIN handlers h ON h.cate = t.cate
    WHERE t.cate = ANY($1::text[]) AND t.state = 'pending' AND t.run_at = 'infinity'
      AND (h.cate IS NULL
        OR (NOT h.paused AND h.circuit_state = 'closed' AND h.rate_per_second IS NULL))
    LIMIT $2::int
    FOR UPDATE OF t SKIP LOCKED
  )
  UPDATE tasks t SET run_at = greatest(t.due_at, now()) FROM parked WHERE t.id = parked.id`;

/**
 * Categories with parked tasks (run_at = 'infinity'), read at each look so that those no longer
 * held are released, whoever parked them. A loose index scan of tasks_parked_idx: one descent
 * per category (the first parked row after the previous category), not one row per parked task.
 */
export const LIST_PARKED_CATEGORIES = `
  WITH RECURSIVE parked(cate) AS (
    (SELECT t.cate FROM tasks t
      WHERE t.state = 'pending' AND t.run_at = 'infinity'
      ORDER BY t.cate LIMIT 1)
    UNION ALL
    SELECT (SELECT t.cate FROM tasks t
      WHERE t.state = 'pending' AND t.run_at = 'infinity' AND t.cate > p.cate
      ORDER BY t.cate LIMIT 1)
    FROM parked p WHERE p.cate IS NOT NULL
  )
  SELECT cate FROM parked WHERE cate IS NOT NULL`;

/**
 * Circuit state of the categories in an outcome batch, locked (in cate order, so concurrent
 * batches cannot deadlock on them) for the update that follows in the same transaction. Only
 * rows that may change: not closed, failures counted, or a failure in this batch ($2).
 * $1 cates of the batch, $2 cates with a counted failure in the batch.
 */
export const LOCK_CIRCUITS = `
  SELECT cate, circuit_enabled, circuit_threshold, circuit_cooldown_ms, circuit_state,
    circuit_failures, circuit_open_ms
  FROM handlers
  WHERE cate = ANY($1::text[])
    AND (circuit_state <> 'closed' OR circuit_failures > 0 OR cate = ANY($2::text[]))
  ORDER BY cate
  FOR UPDATE`;

/** data of category.circuit_opened, from the updated handler row `o`. */
const CIRCUIT_OPENED_DATA = jsonObject([
  ['cate', jsonString('o.cate')],
  ['consecutiveFailures', 'o.circuit_failures::text'],
  ['openedAt', jsonString(isoTime('o.circuit_opened_at'))],
  ['nextProbeAt', jsonString(isoTime('o.circuit_next_probe_at'))],
]);

/**
 * Writes circuit transitions decided for rows locked by LOCK_CIRCUITS. open_ms NULL with state
 * open keeps the current period; opened (true) stamps circuit_opened_at and the next probe time.
 * In the same statement, for categories with an events handler: category.circuit_opened when a
 * closed circuit opens (not when a failed probe re-opens it), category.circuit_closed
 * (probe_succeeded) when one that was not closed closes. Returns the number of events written.
 * $1 cates, $2 states, $3 failure counts, $4 open periods (ms), $5 opened now (bool),
 * $6 states before (as locked).
 */
export const UPDATE_CIRCUITS = `
  WITH changed AS (
    UPDATE handlers h SET
      circuit_state = c.state, circuit_failures = c.failures,
      circuit_open_ms = CASE WHEN c.state = 'closed' THEN NULL
        ELSE coalesce(c.open_ms, h.circuit_open_ms) END,
      circuit_opened_at = CASE WHEN c.state = 'closed' THEN NULL
        WHEN h.circuit_opened_at IS NULL THEN now() ELSE h.circuit_opened_at END,
      circuit_next_probe_at = CASE WHEN c.state = 'closed' THEN NULL
        WHEN c.opened THEN now() + c.open_ms * interval '1 millisecond'
        ELSE h.circuit_next_probe_at END
    FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::boolean[], $6::text[])
      AS c(cate, state, failures, open_ms, opened, from_state)
    WHERE h.cate = c.cate
    RETURNING h.cate, h.events_handler, c.from_state, h.circuit_state, h.circuit_failures,
      h.circuit_opened_at, h.circuit_next_probe_at
  ), opened_events AS (
    INSERT INTO events (cate, type, body)
    SELECT o.cate, 'category.circuit_opened',
      ${eventBody('category.circuit_opened', CIRCUIT_OPENED_DATA)}
    FROM changed o
    WHERE o.events_handler IS NOT NULL AND o.from_state = 'closed' AND o.circuit_state = 'open'
    RETURNING 1
  ), closed_events AS (
    INSERT INTO events (cate, type, body)
    SELECT o.cate, 'category.circuit_closed',
      ${eventBody('category.circuit_closed', circuitClosedData('o.cate', 'probe_succeeded'))}
    FROM changed o
    WHERE o.events_handler IS NOT NULL AND o.from_state <> 'closed' AND o.circuit_state = 'closed'
    RETURNING 1
  )
  SELECT ((SELECT count(*) FROM opened_events) + (SELECT count(*) FROM closed_events))::int
    AS events`;

/**
 * Snoozed by the receiver (425 Too Early with Retry-After): back to pending at the time asked
 * for, the attempt given back (no attempt spent), the snooze counted.
 * $1 ids, $2 claim tokens, $3 delays (ms).
 */
export const RECORD_SNOOZES = `
  UPDATE tasks t SET
    state = 'pending', attempts = t.attempts - 1, snoozes = t.snoozes + 1,
    run_at = now() + c.delay_ms * interval '1 millisecond',
    lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL, updated_at = now()
  FROM unnest($1::bigint[], $2::int[], $3::int[]) AS c(id, token, delay_ms)
  WHERE ${CLAIM_FENCE}`;

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
