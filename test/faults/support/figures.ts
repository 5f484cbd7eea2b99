import { ReportedCall } from '../../support/receiver';

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return { n: sorted.length, min: at(0), p50: at(50), p99: at(99), max: at(100) };
}

export function formatSummary(summary: Summary, unit = 'ms'): string {
  const f = (v: number): string => v.toFixed(1);
  return (
    `n ${summary.n}, min ${f(summary.min)}, p50 ${f(summary.p50)}, p99 ${f(summary.p99)}, ` +
    `max ${f(summary.max)} ${unit}`
  );
}

/** Callback arrival − due time, per call (negative: early). */
export function lateness(calls: ReportedCall[]): number[] {
  return calls.map((c) => c.arrivedAtMs - c.dueMs);
}

/** Delivery ids received more than once, with how many times. */
export function duplicates(calls: ReportedCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.deliveryId, (counts.get(call.deliveryId) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}

/** One line per scenario figure, prefixed so that they can be grepped out of the test output. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const text = Object.entries(figures)
    .map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ');
  console.log(`[faults] ${scenario} — ${text}`);
}
