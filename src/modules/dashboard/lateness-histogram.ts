/**
 * First-attempt lateness (start − due, as DispatchMetrics' dispatch lag) kept as counts per fixed
 * bucket, so that replicas' histograms of one 10-second bucket can be summed and quantiles taken
 * from the sum (quantiles themselves cannot be merged).
 *
 * Upper bounds in milliseconds, about four per decade from 1 ms to 5 minutes; a count at index i
 * is of values in (LATENESS_BOUNDS_MS[i-1], LATENESS_BOUNDS_MS[i]] (the first from 0), and the
 * last index, LATENESS_BOUNDS_MS.length, counts everything above the last bound. Stored as
 * dispatch_stats.lateness: changing the bounds misreads the rows of the last day.
 */
export const LATENESS_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000,
  5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000,
];

/** Counts per bucket: LATENESS_BOUNDS_MS.length + 1 entries (the last: above every bound). */
export const LATENESS_BUCKETS = LATENESS_BOUNDS_MS.length + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(LATENESS_BUCKETS).fill(0);
}

/** The index of the bucket a lateness falls in; negatives (clock skew) count as 0. */
export function bucketOf(latenessMs: number): number {
  const value = Math.max(0, latenessMs);
  let low = 0;
  let high = LATENESS_BOUNDS_MS.length; // the overflow bucket
  while (low < high) {
    const middle = (low + high) >> 1;
    if (value <= LATENESS_BOUNDS_MS[middle]) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, as Prometheus' histogram_quantile estimates it: find
 * the bucket holding the value of rank q × total and interpolate linearly inside it (values are
 * assumed spread evenly over the bucket). The first bucket starts at 0. A rank in the overflow
 * bucket answers the last bound (all that is known: the value is at least that). null when the
 * histogram is empty.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i];
    if (count > 0 && below + count >= rank) {
      if (i >= LATENESS_BOUNDS_MS.length) return LATENESS_BOUNDS_MS[LATENESS_BOUNDS_MS.length - 1];
      const lower = i === 0 ? 0 : LATENESS_BOUNDS_MS[i - 1];
      const upper = LATENESS_BOUNDS_MS[i];
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return LATENESS_BOUNDS_MS[LATENESS_BOUNDS_MS.length - 1];
}
