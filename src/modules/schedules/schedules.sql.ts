/**
 * Statements on `schedules` and on the occurrence tasks they create (tasks rows with
 * schedule_id set, due_at the occurrence). Only SchedulesRepository runs these. Times are
 * compared with the database clock (now()), never a replica's; the occurrence arithmetic is in
 * JS (schedule-occurrences.ts) on the database clock's `now_ms` these statements return.
 *
 * Changing a schedule (replace, pause, delete) locks its row first, in a statement of its own,
 * then withdraws its occurrences not yet due: a later statement of the same transaction sees the
 * occurrences the materializer committed while it waited for the lock (one statement's snapshot
 * would not).
 */

/** Columns of a schedule `s` for reads, times as epoch numbers. */
const SCHEDULE_COLUMNS = `
  s.id::text AS id, s.cate, s.key::text AS key, s.cron, s.timezone, s.params::text AS params,
  s.handler, s.missed, extract(epoch FROM s.start_at)::float8 AS start_at,
  extract(epoch FROM s.end_at)::float8 AS end_at, s.paused,
  (extract(epoch FROM s.next_run_at) * 1000)::float8 AS next_run_ms, s.created_at, s.updated_at,
  (extract(epoch FROM now()) * 1000)::float8 AS now_ms`;

/** The schedule (cate $1, key $2) locked for a change, and the database clock. */
export const LOCK_SCHEDULE = `
  SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms, (
    SELECT s.id::text FROM schedules s WHERE s.cate = $1::text AND s.key = $2::numeric
    FOR UPDATE
  ) AS id`;

/**
 * Withdraws the occurrences of schedule $1 not yet due (created ahead by the materializer, never
 * attempted: an occurrence's due_at is its time and a retry moves only run_at). Answers the
 * earliest withdrawn, epoch ms (null: none).
 */
export const WITHDRAW_OCCURRENCES = `
  WITH withdrawn AS (
    DELETE FROM tasks t
    WHERE t.schedule_id = $1::bigint AND t.state = 'pending' AND t.due_at > now()
    RETURNING t.due_at
  )
  SELECT (extract(epoch FROM min(due_at)) * 1000)::float8 AS earliest_ms FROM withdrawn`;

/**
 * Creates or replaces (cate $1, key $2): $3 cron, $4 timezone, $5 params json, $6 handler,
 * $7 missed, $8 start_at and $9 end_at (Unix seconds or null), $10 next_run_at (epoch ms or null:
 * never fires again). A replaced schedule keeps its id (its occurrences' identity) and its paused
 * state.
 */
export const UPSERT_SCHEDULE = `
  INSERT INTO schedules AS s
    (cate, key, cron, timezone, params, handler, missed, start_at, end_at, next_run_at)
  VALUES ($1::text, $2::numeric, $3::text, $4::text, $5::json, $6::text, $7::text,
    to_timestamp($8::float8), to_timestamp($9::float8), to_timestamp($10::float8 / 1000))
  ON CONFLICT (cate, key) DO UPDATE SET
    cron = excluded.cron, timezone = excluded.timezone, params = excluded.params,
    handler = excluded.handler, missed = excluded.missed, start_at = excluded.start_at,
    end_at = excluded.end_at, next_run_at = excluded.next_run_at, updated_at = now()
  RETURNING ${SCHEDULE_COLUMNS}`;

export const FIND_SCHEDULE = `
  SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE s.cate = $1::text AND s.key = $2::numeric`;

/**
 * Pauses schedule $1; its next occurrence goes back to the earliest withdrawn one ($2, epoch ms;
 * null: none withdrawn), so that the gap until resume starts there.
 */
export const PAUSE_SCHEDULE = `
  UPDATE schedules s SET paused = true, updated_at = now(),
    next_run_at = least(s.next_run_at, to_timestamp($2::float8 / 1000))
  WHERE s.id = $1::bigint
  RETURNING ${SCHEDULE_COLUMNS}`;

/** Resumes (cate $1, key $2); the materializer applies the missed policy to the gap. */
export const RESUME_SCHEDULE = `
  UPDATE schedules s SET paused = false,
    updated_at = CASE WHEN s.paused THEN now() ELSE s.updated_at END
  WHERE s.cate = $1::text AND s.key = $2::numeric
  RETURNING ${SCHEDULE_COLUMNS}`;

export const DELETE_SCHEDULE = `DELETE FROM schedules s WHERE s.id = $1::bigint`;

/** Schedules in id order: $1 after id, $2 limit. */
export const LIST_SCHEDULES = `
  SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE s.id > $1::bigint ORDER BY s.id LIMIT $2::int`;

/** ?cate=: $1 cate, $2 after id, $3 limit (the (cate, key) index, then id order in memory). */
export const LIST_SCHEDULES_OF_CATE = `
  SELECT ${SCHEDULE_COLUMNS} FROM schedules s
  WHERE s.cate = $1::text AND s.id > $2::bigint ORDER BY s.id LIMIT $3::int`;

/**
 * The materializer's claim: active schedules whose next occurrence is within $1 ms from now,
 * earliest first, at most $2, locked until its transaction ends; rows another replica holds are
 * skipped (it is creating their occurrences).
 */
export const CLAIM_DUE_SCHEDULES = `
  SELECT s.id::text AS id, s.cron, s.timezone, s.missed,
    extract(epoch FROM s.start_at)::float8 AS start_at,
    extract(epoch FROM s.end_at)::float8 AS end_at,
    (extract(epoch FROM s.next_run_at) * 1000)::float8 AS next_run_ms,
    (extract(epoch FROM now()) * 1000)::float8 AS now_ms
  FROM schedules s
  WHERE NOT s.paused AND s.next_run_at IS NOT NULL
    AND s.next_run_at <= now() + $1::float8 * interval '1 millisecond'
  ORDER BY s.next_run_at
  LIMIT $2::int
  FOR UPDATE SKIP LOCKED`;

/**
 * Creates occurrences: $1 schedule ids, $2 their times (epoch ms), as tasks of the schedule's
 * category, key, params and handler, due at the occurrence. The delivery id is derived from
 * (cate, key, occurrence second), so it is the same whoever creates it and across replacements
 * of the schedule; tasks_schedule_occurrence_uq makes a second creation a no-op. Answers how
 * many were created and the earliest due of them, in ms from now.
 */
export const INSERT_OCCURRENCES = `
  WITH created AS (
    INSERT INTO tasks (cate, key, due_at, run_at, params, handler, schedule_id, delivery_id)
    SELECT s.cate, s.key, o.due_at, o.due_at, s.params, s.handler, s.id,
      md5('schedule/' || s.cate || '/' || s.key::text || '/' || o.seconds::text)::uuid
    FROM (
      SELECT i.id, to_timestamp(i.ms / 1000) AS due_at, floor(i.ms / 1000)::bigint AS seconds
      FROM unnest($1::bigint[], $2::float8[]) AS i(id, ms)
    ) o
    JOIN schedules s ON s.id = o.id
    ORDER BY o.id, o.due_at
    ON CONFLICT (schedule_id, due_at) WHERE schedule_id IS NOT NULL DO NOTHING
    RETURNING due_at
  )
  SELECT count(*)::int AS created,
    (extract(epoch FROM (min(due_at) - now())) * 1000)::float8 AS earliest_due_in_ms
  FROM created`;

/** Moves schedules $1 on to their next occurrence $2 (epoch ms; null: none left). */
export const ADVANCE_SCHEDULES = `
  UPDATE schedules s SET next_run_at = to_timestamp(a.next_ms / 1000)
  FROM unnest($1::bigint[], $2::float8[]) AS a(id, next_ms)
  WHERE s.id = a.id`;

/**
 * Occurrences missed although created: made ahead by the materializer, then not started within
 * $1 ms of their time (every replica was down, or the dispatchers are that far behind), still
 * never attempted and not held back by flow control (a held one is parked at run_at infinity and
 * waits for its category). The schedule's missed policy decides: `all` keeps every one (they are
 * delivered late), `skip` withdraws them, `once` keeps only the latest, or none when the
 * schedule's own next occurrence is missed too (the materializer then fires the latest of the
 * whole gap). Occurrences of a deleted schedule are kept. Rows a dispatcher is claiming are
 * skipped. At most $2 of the latest are judged per call. Answers how many were withdrawn.
 */
export const WITHDRAW_MISSED_OCCURRENCES = `
  WITH stale AS (
    SELECT t.id, t.schedule_id, t.due_at FROM tasks t
    WHERE t.schedule_id IS NOT NULL AND t.state = 'pending'
      AND t.run_at < now() - $1::float8 * interval '1 millisecond'
      AND t.run_at = t.due_at AND t.attempts = 0
    ORDER BY t.run_at DESC
    LIMIT $2::int
    FOR UPDATE SKIP LOCKED
  ), judged AS (
    SELECT stale.id, stale.due_at, s.missed,
      s.next_run_at < now() - $1::float8 * interval '1 millisecond' AS gap_goes_on,
      max(stale.due_at) OVER (PARTITION BY stale.schedule_id) AS latest
    FROM stale JOIN schedules s ON s.id = stale.schedule_id
  ), withdrawn AS (
    DELETE FROM tasks t USING judged j
    WHERE t.id = j.id AND (j.missed = 'skip'
      OR (j.missed = 'once' AND (j.due_at < j.latest OR coalesce(j.gap_goes_on, false))))
    RETURNING t.id
  )
  SELECT count(*)::int AS withdrawn FROM withdrawn`;
