/** Every statement against `audit_log`; only AuditRepository uses these. */

/**
 * One entry, timed by the database clock (the column's default). $1 key id, $2 action,
 * $3 method, $4 route, $5 cate, $6 target, $7 changes (JSON text), $8 count, $9 request id.
 */
export const INSERT_AUDIT_ENTRY = `
  INSERT INTO audit_log (key_id, action, method, route, cate, target, changes, count, request_id)
  VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::int,
    $9::text)
  RETURNING id::text`;

/**
 * GET /audit: keyset pages newest first, one statement per filter, each read in the order of the
 * index that serves it, as GET /tasks does (tasks.sql.ts listPage): the page is the first $limit
 * rows of an index scan that starts right after the cursor, so it costs about its own rows.
 *
 * A page is also cut by size: rows are kept while the bytes of the rows before them are under
 * $maxBytes (so the first is always kept); `fetched` (how many rows the limit took) tells the
 * caller that the page was cut and needs a cursor. `changes` is returned as its text, so that
 * the numbers in it are served exactly as stored.
 */
function listPage(where: string, order: string, limit: string, maxBytes: string): string {
  return `
  SELECT a.id::text AS id, a.at, a.key_id, a.action, a.method, a.route, a.cate, a.target,
    a.changes::text AS changes, a.count, a.request_id, a.fetched
  FROM (
    SELECT a.*, row_number() OVER w AS position, (count(*) OVER ())::int AS fetched,
      coalesce(sum(${ENTRY_BYTES}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
        AS bytes_before
    FROM (SELECT * FROM audit_log a WHERE ${where} ORDER BY ${order} LIMIT ${limit}) a
    WINDOW w AS (ORDER BY ${order})
  ) a
  WHERE a.bytes_before < ${maxBytes}
  ORDER BY a.position`;
}

/** Bytes of an entry in the answer: its variable fields, and 256 for the rest. */
const ENTRY_BYTES = `(octet_length(a.changes::text) + coalesce(octet_length(a.cate), 0)
      + coalesce(octet_length(a.target), 0) + octet_length(a.route) + 256)`;

/** No filter: the primary key, backwards. $1 before id, $2 limit, $3 max bytes. */
export const LIST_AUDIT = listPage('a.id < $1::bigint', 'a.id DESC', '$2::int', '$3::bigint');

/**
 * ?cate=: audit_log_cate_id_idx, backwards. Written `cate >= $1 AND (cate, id) < ($1, $before)`
 * so that the scan starts at the cursor and the planner keeps `ORDER BY cate DESC, id DESC`,
 * which only that index yields in order. $1 cate, $2 before id, $3 limit, $4 max bytes.
 */
export const LIST_AUDIT_OF_CATE = listPage(
  'a.cate >= $1::text AND (a.cate, a.id) < ($1::text, $2::bigint)',
  'a.cate DESC, a.id DESC',
  '$3::int',
  '$4::bigint',
);
