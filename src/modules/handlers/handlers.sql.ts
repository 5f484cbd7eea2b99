import { DUE_CHANNEL, FLOW_CHANGED } from '../../database/due-channel';

/** Every statement against `handlers`; only HandlersRepository uses these. */

const HANDLER_COLUMNS = `
  cate, url, max_attempts, timeout_ms, concurrency, secrets, created_at, updated_at, paused,
  circuit_enabled, circuit_threshold, circuit_cooldown_ms, circuit_state, circuit_failures,
  circuit_opened_at, circuit_next_probe_at`;

/**
 * Register or replace a category. The URL is always replaced; each setting only when its flag is
 * set (omitted in the request: kept), and then to the value given (NULL: the service default).
 * A new secret becomes the first and keeps the previous first as the second, so receivers
 * verifying with either pass during a rotation; posting the current secret again changes nothing;
 * a NULL secret removes both.
 * $1 cate, $2 url, then (flag, value) pairs: $3/$4 max_attempts, $5/$6 timeout_ms,
 * $7/$8 concurrency, $9/$10 secret; $11 circuit breaker given, then its $12 enabled,
 * $13 threshold, $14 cooldown ms (NULL: the defaults). Turning the breaker off closes the
 * circuit.
 */
export const UPSERT_HANDLER = `
  INSERT INTO handlers AS h (cate, url, max_attempts, timeout_ms, concurrency, secrets,
    circuit_enabled, circuit_threshold, circuit_cooldown_ms)
  VALUES ($1::text, $2::text, $4::int, $6::int, $8::int,
    CASE WHEN $10::text IS NULL THEN '{}'::text[] ELSE ARRAY[$10::text] END,
    coalesce($12::boolean, true), $13::int, $14::int)
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
    updated_at = now()`;

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
  SELECT cate, pg_notify('${DUE_CHANNEL}', '${FLOW_CHANGED}') FROM paused`;

/**
 * Resume: claims start again, and the circuit closes (an operator's word overrides the breaker).
 * Every replica's dispatcher is woken (NOTIFY on commit) to release the parked backlog, which
 * then goes at once. $1 cate.
 */
export const RESUME_HANDLER = `
  WITH resumed AS (
    UPDATE handlers SET paused = false, circuit_state = 'closed', circuit_failures = 0,
      circuit_opened_at = NULL, circuit_open_ms = NULL, circuit_next_probe_at = NULL,
      updated_at = now()
    WHERE cate = $1::text
    RETURNING cate
  )
  SELECT cate, pg_notify('${DUE_CHANNEL}', '${FLOW_CHANGED}') FROM resumed`;
