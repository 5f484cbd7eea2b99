import { bucketOf } from './lateness-histogram';
import { BUCKET_MS, DispatchStatsBuckets } from './dispatch-stats.buckets';

const T0 = 1_800_000_000_000; // a multiple of 10 s

describe('DispatchStatsBuckets', () => {
  it('counts attempts by outcome and first-attempt lateness per 10-second bucket', () => {
    const buckets = new DispatchStatsBuckets();
    buckets.attempt('success', 12, T0 + 1);
    buckets.attempt('success', null, T0 + 9_999);
    buckets.attempt('http_5xx', 400, T0 + 2_000);
    buckets.attempt('success', 3, T0 + BUCKET_MS);
    buckets.attempts('lease_expired', 2, T0 + BUCKET_MS + 5);

    const rows = buckets.unflushed();
    expect(rows.map((row) => [row.bucketStartMs, row.outcomes])).toStrictEqual([
      [T0, { success: 2, http_5xx: 1 }],
      [T0 + BUCKET_MS, { success: 1, lease_expired: 2 }],
    ]);
    expect(rows[0].lateness[bucketOf(12)]).toBe(1);
    expect(rows[0].lateness[bucketOf(400)]).toBe(1);
    expect(rows[0].lateness.reduce((a, b) => a + b, 0)).toBe(2);
    expect(rows[1].lateness.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('keeps the running bucket after a flush and drops buckets that are over and written', () => {
    const buckets = new DispatchStatsBuckets();
    buckets.attempt('success', 1, T0);
    buckets.attempt('success', 1, T0 + BUCKET_MS);
    buckets.flushed(buckets.unflushed(), T0 + BUCKET_MS + 1);
    expect(buckets.unflushed()).toStrictEqual([]);

    // The running bucket goes on from its totals: the next flush re-writes them, not a delta.
    buckets.attempt('timeout', null, T0 + BUCKET_MS + 2);
    expect(buckets.unflushed().map((row) => row.outcomes)).toStrictEqual([
      { success: 1, timeout: 1 },
    ]);
  });

  it('flushes a bucket again when it changed while being written', () => {
    const buckets = new DispatchStatsBuckets();
    buckets.attempt('success', 1, T0);
    const writing = buckets.unflushed();
    buckets.attempt('success', 1, T0 + 5); // arrives during the write
    buckets.flushed(writing, T0 + 6);
    expect(buckets.unflushed().map((row) => row.outcomes)).toStrictEqual([{ success: 2 }]);
  });

  it('keeps every unwritten bucket after a failed flush (nothing marked written)', () => {
    const buckets = new DispatchStatsBuckets();
    buckets.attempt('success', 1, T0);
    buckets.unflushed(); // the write fails: flushed() is not called
    buckets.attempt('success', 1, T0 + 3 * BUCKET_MS);
    expect(buckets.unflushed().map((row) => row.bucketStartMs)).toStrictEqual([
      T0,
      T0 + 3 * BUCKET_MS,
    ]);
  });

  it('hands out copies: later counts do not change rows being written', () => {
    const buckets = new DispatchStatsBuckets();
    buckets.attempt('success', 1, T0);
    const [row] = buckets.unflushed();
    buckets.attempt('success', 1, T0 + 1);
    expect(row.outcomes).toStrictEqual({ success: 1 });
    expect(row.lateness.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
