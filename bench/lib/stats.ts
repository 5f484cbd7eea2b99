/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface LatenessSummary {
  count: number;
  early: number;
  p50: number;
  p99: number;
  max: number;
}

/** Lateness in ms = arrival − due; negative values are early arrivals. */
export function summarizeLateness(latenessMs: number[]): LatenessSummary {
  const sorted = [...latenessMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    early: sorted.filter((l) => l < 0).length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
