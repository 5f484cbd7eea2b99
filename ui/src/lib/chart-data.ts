/** Shapes the dashboard's series and forecast answers into uPlot's column arrays. */

export interface SeriesPoint {
  t: number;
  /** Attempts per outcome in the bucket; outcomes without any are absent. */
  outcomes: Partial<Record<string, number>>;
  deliveries: number;
  latenessP50Ms: number | null;
  latenessP99Ms: number | null;
}

export interface ForecastMinute {
  t: number;
  count: number;
  capped?: boolean;
}

/** Outcomes in a fixed order (success first), any the service adds later after them, by name. */
const OUTCOME_ORDER = [
  'success',
  'http_4xx',
  'http_5xx',
  'http_other',
  'timeout',
  'connection_error',
  'blocked',
  'no_handler',
  'error',
  'lease_expired',
  'gone',
  'snoozed',
];

export function outcomesOf(points: readonly SeriesPoint[]): string[] {
  const seen = new Set<string>();
  for (const p of points) for (const o of Object.keys(p.outcomes)) seen.add(o);
  const rank = (o: string): number => {
    const i = OUTCOME_ORDER.indexOf(o);
    return i < 0 ? OUTCOME_ORDER.length : i;
  };
  return [...seen].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** [t, rate of outcome 1, rate of outcome 2, …]: deliveries per second in each bucket. */
export function deliveryRates(
  points: readonly SeriesPoint[],
  bucketSeconds: number,
  outcomes: readonly string[],
): number[][] {
  const width = bucketSeconds > 0 ? bucketSeconds : 1;
  return [
    points.map((p) => p.t),
    ...outcomes.map((o) => points.map((p) => (p.outcomes[o] ?? 0) / width)),
  ];
}

export function latenessColumns(points: readonly SeriesPoint[]): (number | null)[][] {
  return [
    points.map((p) => p.t),
    points.map((p) => p.latenessP50Ms),
    points.map((p) => p.latenessP99Ms),
  ];
}

export function forecastColumns(minutes: readonly ForecastMinute[]): number[][] {
  return [minutes.map((m) => m.t), minutes.map((m) => m.count)];
}

export interface ForecastSummary {
  total: number;
  /** Some minutes were cut at the service's cap: the total is a lower bound. */
  capped: boolean;
  busiest: ForecastMinute | null;
}

export function summarizeForecast(minutes: readonly ForecastMinute[]): ForecastSummary {
  let total = 0;
  let capped = false;
  let busiest: ForecastMinute | null = null;
  for (const m of minutes) {
    total += m.count;
    capped ||= m.capped === true;
    if (!busiest || m.count > busiest.count) busiest = m;
  }
  return { total, capped, busiest };
}

/** Sum of deliveries and of each outcome over the window, for the chart's text summary. */
export function summarizeSeries(points: readonly SeriesPoint[]): {
  deliveries: number;
  byOutcome: Record<string, number>;
} {
  const byOutcome: Record<string, number> = {};
  let deliveries = 0;
  for (const p of points) {
    deliveries += p.deliveries;
    for (const [o, n] of Object.entries(p.outcomes)) byOutcome[o] = (byOutcome[o] ?? 0) + (n ?? 0);
  }
  return { deliveries, byOutcome };
}
