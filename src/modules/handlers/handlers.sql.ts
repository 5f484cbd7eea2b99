import { DUE_CHANNEL, FLOW_CHANGED } from '../../database/due-channel';
import { circuitClosedData, eventBody } from '../../database/events-outbox.sql';

/** Every statement against `handlers`; only HandlersRepository uses these. */

const HANDLER_COLUMNS = `
  cate, url, max_attempts, timeout_ms, concurrency, secrets, created_at, updated_at, paused,
  circuit_enabled, circuit_threshold, circuit_cooldown_ms, circuit_state, circuit_failures,
  circuit_opened_at, circuit_next_probe_at, rate_per_second, rate_burst, events_handler`;

/** Tells every replica's dispatcher (on commit) that a category's flow state changed. */
const NOTIFY_FLOW_CHANGED = `pg_notify('${DUE_CHANNEL}', '${FLOW_CHANGED}')`;

/**
 * The category's flow state before a change, its row locked for the transaction that makes it,
 * so that what the change reports (a circuit_closed event, a NOTIFY) is exact. $1 cate.
 */
export const LOCK_HANDLER = `
  SELECT circuit_state, rate_per_second, rate_burst FROM handlers
  WHERE cate = $1::text
  FOR UPDATE`;

/**
 * Register or replace a category. The URL is always replaced; each setting only when its flag is
 * set (omitted in the request: kept), and then to the value given (NULL: the service default).
 * A new secret becomes the first and keeps the previous first as the second, so receivers
 * verifying with either pass during a rotation; posting the current secret again changes nothing;
 * a NULL secret removes both.
 * $1 cate, $2 url, then (flag, value) pairs: $3/$4 max_attempts, $5/$6 timeout_ms,
 * $7/$8 concurrency, $9/$10 secret; $11 circuit breaker given, then its $12 enabled,
 * $13 threshold, $14 cooldown ms (NULL: the defaults). Turning the breaker off closes the
 * circuit. $15 rate limit given, then $16 per second and $17 burst (both NULL: no limit); a
 * limit set or changed starts with a full bucket, one posted again unchanged keeps its bucket.
 * $18/$19 events handler. Decided by the caller from the row locked by LOCK_HANDLER: $20 the
 * circuit closes here (was not closed, breaker turned off), which writes a circuit_closed event
 * when the category has an events handler; $21 notify the dispatchers (flow state changed).
 * Returns the number of events written.
 */
export const UPSERT_HANDLER = `
  WITH saved AS (
    INSERT INTO handlers AS h (cate, url, max_attempts, timeout_ms, concurrency, secrets,
      circuit_enabled, circuit_threshold, circuit_cooldown_ms, rate_per_second, rate_burst,
      rate_tokens, events_handler)
    VALUES ($1::text, $2::text, $4::int, $6::int, $8::int,
      CASE WHEN $10::text IS NULL THEN '{}'::text[] ELSE ARRAY[$10::text] END,
      coalesce($12::boolean, true), $13::int, $14::int, $16::float8, $17::int,
      coalesce($17::int, 0), $19::text)
    ON CONFLICT (cate) DO UPDATE SET
      circuit_enabled = CASE WHEN $11::boolean THEN excluded.circuit_enabled
        ELSE h.circuit_enabled END,
      circuit_threshold = CASE WHEN $11::boolean THEN excluded.circuit_threshold
        ELSE h.circuit_threshold END,
      circuit_cooldown_ms = CASE WHEN $11::boolean THEN excluded.circuit_cooldown_ms
        ELSE h.circuit_cooldown_ms END,
      circuit_state = CASE WHEN $11::boolean AND NOT excluded.circuit_enabled THEN 'closed'
        ELSE h.circuit_state END,
      circuit_failures = CASE WHEN $11::boolean AND NOT excluded.circuit_enabled THEN 0
        ELSE h.circuit_failures END,
      circuit_opened_at = CASE WHEN $11::boolean AND NOT excluded.circuit_enabled THEN NULL
        ELSE h.circuit_opened_at END,
      circuit_open_ms = CASE WHEN $11::boolean AND NOT excluded.circuit_enabled THEN NULL
        ELSE h.circuit_open_ms END,
      circuit_next_probe_at = CASE WHEN $11::boolean AND NOT excluded.circuit_enabled THEN NULL
        ELSE h.circuit_next_probe_at END,
      url = excluded.url,
      max_attempts = CASE WHEN $3::boolean THEN excluded.max_attempts ELSE h.max_attempts END,
      timeout_ms = CASE WHEN $5::boolean THEN excluded.timeout_ms ELSE h.timeout_ms END,
      concurrency = CASE WHEN $7::boolean THEN excluded.concurrency ELSE h.concurrency END,
      secrets = CASE
        WHEN NOT $9::boolean THEN h.secrets
        WHEN $10::text IS NULL THEN '{}'::text[]
        WHEN $10::text = h.secrets[1] THEN h.secrets
        ELSE ARRAY[$10::text] || h.secrets[1:1]
      END,
      rate_tokens = CASE WHEN $15::boolean AND excluded.rate_burst IS NOT NULL
          AND (h.rate_per_second IS DISTINCT FROM excluded.rate_per_second
            OR h.rate_burst IS DISTINCT FROM excluded.rate_burst)
        THEN excluded.rate_burst ELSE h.rate_tokens END,
      rate_refilled_at = CASE WHEN $15::boolean
          AND (h.rate_per_second IS DISTINCT FROM excluded.rate_per_second
            OR h.rate_burst IS DISTINCT FROM excluded.rate_burst)
        THEN now() ELSE h.rate_refilled_at END,
      rate_per_second = CASE WHEN $15::boolean THEN excluded.rate_per_second
        ELSE h.rate_per_second END,
      rate_burst = CASE WHEN $15::boolean THEN excluded.rate_burst ELSE h.rate_burst END,
      events_handler = CASE WHEN $18::boolean THEN excluded.events_handler
        ELSE h.events_handler END,
      updated_at = now()
    RETURNING h.cate, h.events_handler
  ), closed_events AS (
    INSERT INTO events (cate, type, body)
    SELECT s.cate, 'category.circuit_closed',
      ${eventBody('category.circuit_closed', circuitClosedData('s.cate', 'disabled'))}
    FROM saved s
    WHERE $20::boolean AND s.events_handler IS NOT NULL
    RETURNING 1
  ), notified AS (
    SELECT ${NOTIFY_FLOW_CHANGED} WHERE $21::boolean
  )
  SELECT (SELECT count(*) FROM closed_events)::int AS events,
    (SELECT count(*) FROM notified)::int AS notified
  FROM saved`;

export const FIND_HANDLER = `SELECT ${HANDLER_COLUMNS} FROM handlers WHERE cate = $1::text`;

/** Keyset page in cate order (the primary key). $1 after cate, $2 limit. */
export const LIST_HANDLERS = `
  SELECT ${HANDLER_COLUMNS} FROM handlers
  WHERE $1::text IS NULL OR cate > $1::text
  ORDER BY cate
  LIMIT $2::int`;

export const DELETE_HANDLER = `DELETE FROM handlers WHERE cate = $1::text RETURNING cate`;

/**
 * Pause: the category's due tasks are no longer claimed (CLAIM_DUE reads this flag); the
 * dispatchers are told (NOTIFY on commit) to park its due backlog. $1 cate.
 */
export const PAUSE_HANDLER = `
  WITH paused AS (
    UPDATE handlers SET paused = true, updated_at = now() WHERE cate = $1::text RETURNING cate
  )
  SELECT cate, ${NOTIFY_FLOW_CHANGED} FROM paused`;

/**
 * Resume: claims start again, and the circuit closes (an operator's word overrides the breaker).
 * Every replica's dispatcher is woken (NOTIFY on commit) to release the parked backlog, which
 * then goes at once. $1 cate; $2 the circuit was not closed (read under LOCK_HANDLER): a
 * circuit_closed event is written when the category has an events handler. Returns the number
 * of events written.
 */
export const RESUME_HANDLER = `
  WITH resumed AS (
    UPDATE handlers SET paused = false, circuit_state = 'closed', circuit_failures = 0,
      circuit_opened_at = NULL, circuit_open_ms = NULL, circuit_next_probe_at = NULL,
      updated_at = now()
    WHERE cate = $1::text
    RETURNING cate, events_handler
  ), closed_events AS (
    INSERT INTO events (cate, type, body)
    SELECT r.cate, 'category.circuit_closed',
      ${eventBody('category.circuit_closed', circuitClosedData('r.cate', 'resumed'))}
    FROM resumed r
    WHERE $2::boolean AND r.events_handler IS NOT NULL
    RETURNING 1
  )
  SELECT cate, ${NOTIFY_FLOW_CHANGED}, (SELECT count(*) FROM closed_events)::int AS events
  FROM resumed`;
