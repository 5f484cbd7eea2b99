/**
 * Statements against dispatch_stats (the dashboard's delivery statistics, a row per replica and
 * 10-second bucket); only DispatchStatsRepository uses these.
 */

/**
 * A replica's buckets, written with their running totals (never added to: a bucket is written
 * again until it is over, and writing one twice changes nothing). One statement per flush.
 * $1 replica id, $2 bucket starts (Unix ms), $3 outcome counts (JSON objects), $4 lateness
 * histograms (int[] literals, e.g. '{0,3,1}').
 */
export const WRITE_BUCKETS = `
  INSERT INTO dispatch_stats AS s (bucket_start, replica_id, outcomes, lateness)
  SELECT to_timestamp(b.start_ms / 1000.0), $1::text, b.outcomes, b.lateness::int[]
  FROM unnest($2::float8[], $3::jsonb[], $4::text[]) AS b(start_ms, outcomes, lateness)
  ON CONFLICT (bucket_start, replica_id) DO UPDATE SET
    outcomes = excluded.outcomes, lateness = excluded.lateness, updated_at = now()`;

/**
 * The last $1 buckets of 10 seconds up to the current one (database clock; buckets aligned to
 * the Unix epoch, as the replicas cut them), oldest first, each with every replica's counts
 * summed: outcomes key by key, lateness histograms bucket by bucket. A bucket without a row has
 * outcomes null and lateness null. Reads dispatch_stats' key over the window's range.
 */
export const SERIES = `
  WITH span AS (
    SELECT date_bin('10 seconds', now(), TIMESTAMPTZ 'epoch') AS last_bucket
  ), wanted AS (
    SELECT s.bucket_start, s.outcomes, s.lateness FROM dispatch_stats s, span
    WHERE s.bucket_start > span.last_bucket - $1::int * interval '10 seconds'
      AND s.bucket_start <= span.last_bucket
  ), outcomes AS (
    SELECT o.bucket_start, jsonb_object_agg(o.outcome, o.count) AS outcomes
    FROM (
      SELECT w.bucket_start, e.key AS outcome, sum(e.value::bigint) AS count
      FROM wanted w, jsonb_each_text(w.outcomes) AS e
      GROUP BY w.bucket_start, e.key
    ) o
    GROUP BY o.bucket_start
  ), lateness AS (
    SELECT l.bucket_start, array_agg(l.count ORDER BY l.i) AS lateness
    FROM (
      SELECT w.bucket_start, h.i, sum(h.n)::int AS count
      FROM wanted w, unnest(w.lateness) WITH ORDINALITY AS h(n, i)
      GROUP BY w.bucket_start, h.i
    ) l
    GROUP BY l.bucket_start
  )
  SELECT extract(epoch FROM b.t)::bigint::text AS t, o.outcomes, l.lateness
  FROM span,
    generate_series(span.last_bucket - ($1::int - 1) * interval '10 seconds', span.last_bucket,
      interval '10 seconds') AS b(t)
    LEFT JOIN outcomes o ON o.bucket_start = b.t
    LEFT JOIN lateness l ON l.bucket_start = b.t
  ORDER BY b.t`;

/**
 * Retention: rows of buckets more than a day old, at most $1 per call, through the key's
 * leading bucket_start; SKIP LOCKED lets every replica prune at once.
 */
export const PRUNE_DISPATCH_STATS = `
  WITH old AS (
    SELECT bucket_start, replica_id FROM dispatch_stats
    WHERE bucket_start < now() - interval '1 day'
    LIMIT $1::int
    FOR UPDATE SKIP LOCKED
  )
  DELETE FROM dispatch_stats s USING old
  WHERE s.bucket_start = old.bucket_start AND s.replica_id = old.replica_id`;
