/** Every statement against `handlers`; only HandlersRepository uses these. */

const HANDLER_COLUMNS = `
  cate, url, max_attempts, timeout_ms, concurrency, secrets, created_at, updated_at`;

/**
 * Register or replace a category. The URL is always replaced; each setting only when its flag is
 * set (omitted in the request: kept), and then to the value given (NULL: the service default).
 * A new secret becomes the first and keeps the previous first as the second, so receivers
 * verifying with either pass during a rotation; posting the current secret again changes nothing;
 * a NULL secret removes both.
 * $1 cate, $2 url, then (flag, value) pairs: $3/$4 max_attempts, $5/$6 timeout_ms,
 * $7/$8 concurrency, $9/$10 secret.
 */
export const UPSERT_HANDLER = `
  INSERT INTO handlers AS h (cate, url, max_attempts, timeout_ms, concurrency, secrets)
  VALUES ($1::text, $2::text, $4::int, $6::int, $8::int,
    CASE WHEN $10::text IS NULL THEN '{}'::text[] ELSE ARRAY[$10::text] END)
  ON CONFLICT (cate) DO UPDATE SET
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
