/**
 * Every statement of the events outbox's sender; only EventsRepository runs these, on the
 * dispatcher's pool. Rows are written by the state changes they report (RECORD_FAILURES,
 * UPDATE_CIRCUITS, UPSERT_HANDLER, RESUME_HANDLER; see database/events-outbox.sql.ts) and leave
 * the table when delivered or dropped.
 */

/**
 * Claims up to $1 due events. FOR UPDATE SKIP LOCKED keeps concurrent senders (every replica)
 * on disjoint rows; the claim is a lease (visibility timeout): run_at moves past the attempt's
 * end, the category's timeout (else $2 ms) plus a margin of $3 ms, so that the event goes again
 * if this replica dies while sending it. attempts counts claims and fences the write that
 * follows (RETRY_EVENT). The category's events handler, secrets and timeout are read now, at
 * send time; events_handler NULL: the category or its events handler is gone. age_ms and
 * claimed_at_ms are by the database clock.
 */
export const CLAIM_EVENTS = `
  WITH due AS (
    SELECT e.id, e.cate FROM events e
    WHERE e.run_at <= now()
    ORDER BY e.run_at, e.id
    LIMIT $1::int
    FOR UPDATE SKIP LOCKED
  )
  UPDATE events e SET attempts = e.attempts + 1,
    run_at = now() + (coalesce(h.timeout_ms, $2::int) + $3::int) * interval '1 millisecond'
  FROM due LEFT JOIN handlers h ON h.cate = due.cate
  WHERE e.id = due.id
  RETURNING e.id::text AS id, e.webhook_id::text AS webhook_id, e.cate, e.type, e.body,
    e.attempts, h.events_handler, coalesce(h.secrets, '{}') AS secrets, h.timeout_ms,
    (extract(epoch FROM now() - e.created_at) * 1000)::float8 AS age_ms,
    (extract(epoch FROM now()) * 1000)::float8 AS claimed_at_ms`;

/** Delivered, or dropped: the event leaves the outbox. $1 id. */
export const DELETE_EVENT = `DELETE FROM events WHERE id = $1::bigint`;

/**
 * A failed attempt: the event goes again after $3 ms, with its error kept. Only while the claim
 * ($2, the attempts it set) is the current one: a send that outlived its lease changes nothing.
 * $1 id, $2 attempts, $3 delay ms, $4 error.
 */
export const RETRY_EVENT = `
  UPDATE events SET run_at = now() + $3::int * interval '1 millisecond', last_error = $4::text
  WHERE id = $1::bigint AND attempts = $2::int`;

/**
 * A claim never answered (cut off at shutdown): due again now, for any replica. $1 id,
 * $2 attempts of the claim.
 */
export const RELEASE_EVENT = `
  UPDATE events SET run_at = now() WHERE id = $1::bigint AND attempts = $2::int`;

/** Events waiting to be delivered, counted up to $1 (a scrape must stay cheap). */
export const COUNT_EVENTS = `
  SELECT count(*)::int AS pending FROM (SELECT 1 FROM events LIMIT $1::int) e`;
