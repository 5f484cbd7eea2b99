import {
  bucketOf,
  emptyHistogram,
  histogramQuantile,
  LATENESS_BOUNDS_MS,
  LATENESS_BUCKETS,
} from './lateness-histogram';

/** A histogram of `values` (ms). */
function histogramOf(values: number[]): number[] {
  const counts = emptyHistogram();
  for (const value of values) counts[bucketOf(value)] += 1;
  return counts;
}

describe('lateness histogram', () => {
  it('has increasing bounds and one overflow bucket', () => {
    for (let i = 1; i < LATENESS_BOUNDS_MS.length; i++) {
      expect(LATENESS_BOUNDS_MS[i]).toBeGreaterThan(LATENESS_BOUNDS_MS[i - 1]);
    }
    expect(emptyHistogram()).toHaveLength(LATENESS_BUCKETS);
  });

  it.each([
    [-5, 0],
    [0, 0],
    [1, 0],
    [1.5, 1],
    [2, 1],
    [100, 11],
    [100.1, 12],
    [300_000, LATENESS_BOUNDS_MS.length - 1],
    [300_001, LATENESS_BOUNDS_MS.length],
    [1e12, LATENESS_BOUNDS_MS.length],
  ])('puts %p ms in bucket %p (upper bounds inclusive, negatives as 0)', (value, index) => {
    expect(bucketOf(value)).toBe(index);
  });

  it('answers null for an empty histogram', () => {
    expect(histogramQuantile(emptyHistogram(), 0.5)).toBeNull();
  });

  it('interpolates inside the bucket that holds the rank', () => {
    // 100 values in (10, 15]: the median is halfway through that bucket.
    const counts = emptyHistogram();
    counts[bucketOf(12)] = 100;
    expect(histogramQuantile(counts, 0.5)).toBeCloseTo(12.5, 10);
    expect(histogramQuantile(counts, 0.99)).toBeCloseTo(14.95, 10);
    expect(histogramQuantile(counts, 1)).toBeCloseTo(15, 10);
  });

  it('starts the first bucket at 0', () => {
    const counts = emptyHistogram();
    counts[0] = 4;
    expect(histogramQuantile(counts, 0.5)).toBeCloseTo(0.5, 10);
  });

  it('skips empty buckets and finds the tail', () => {
    // 98 fast (≤ 1 ms), 2 slow in (1000, 1500]: p50 is fast, p99 inside the slow bucket.
    const counts = histogramOf([...new Array<number>(98).fill(0.4), 1200, 1300]);
    expect(histogramQuantile(counts, 0.5)).toBeLessThanOrEqual(1);
    const p99 = histogramQuantile(counts, 0.99) as number;
    expect(p99).toBeGreaterThan(1000);
    expect(p99).toBeLessThanOrEqual(1500);
    expect(p99).toBeCloseTo(1250, 10); // rank 99 is the first of the 2 in (1000, 1500]
  });

  it('answers the last bound for a rank in the overflow bucket', () => {
    const counts = histogramOf([10, 400_000, 500_000, 600_000]);
    expect(histogramQuantile(counts, 0.99)).toBe(300_000);
  });

  it('stays within one bucket of the exact quantile', () => {
    const values = Array.from({ length: 1000 }, (_unused, i) => (i * 7919) % 2500);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      const estimate = histogramQuantile(histogramOf(values), q) as number;
      const index = bucketOf(exact);
      const lower = index === 0 ? 0 : LATENESS_BOUNDS_MS[index - 1];
      expect(estimate).toBeGreaterThanOrEqual(lower);
      expect(estimate).toBeLessThanOrEqual(LATENESS_BOUNDS_MS[index]);
    }
  });

  it('answers quantiles of all values of histograms summed bucket by bucket (replicas merged)', () => {
    const fast = histogramOf(new Array<number>(90).fill(3));
    const slow = histogramOf(new Array<number>(10).fill(1800));
    const merged = fast.map((count, i) => count + slow[i]);
    expect(histogramQuantile(merged, 0.5)).toBeLessThanOrEqual(3);
    expect(histogramQuantile(merged, 0.99) as number).toBeGreaterThan(1500);
    // Neither replica alone has that p50 and p99.
    expect(histogramQuantile(slow, 0.5) as number).toBeGreaterThan(1500);
    expect(histogramQuantile(fast, 0.99) as number).toBeLessThanOrEqual(3);
  });
});
