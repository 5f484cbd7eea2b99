/**
 * Small SVG charts for benchmark results, without dependencies: a line chart (linear or
 * logarithmic x axis) and, built on it, the cumulative distribution of lateness. Sized to read on
 * a GitHub page; colours from the Okabe–Ito palette, which stays distinct for colour-blind readers.
 */
import { percentile } from './stats';

export interface Series {
  label: string;
  /** A second, smaller legend line (summary figures, say). */
  note?: string;
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Logarithmic x axis, decades from xMin to xMax (both powers of ten). */
  xLog?: boolean;
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** Formats a y tick label (a percentage, say). */
  yFormat?: (value: number) => string;
  /** Formats an x tick label (on a log axis, its first decade may stand for zero, say). */
  xFormat?: (value: number) => string;
  /** A dot on each point: for series of a few measured points rather than a curve. */
  markers?: boolean;
  /** Where the x ticks go (replica counts, say), instead of round steps or decades. */
  xTicks?: number[];
}

const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];
const WIDTH = 760;
const HEIGHT = 400;
const PLOT = { left: 64, top: 36, right: 520, bottom: 340 };
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Up to ~6 round ticks between min and max. */
function linearTicks(min: number, max: number): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  // Multiples of the step rather than a running sum, whose rounding errors would reach the labels.
  for (let k = Math.ceil(min / step); k * step <= max + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

function formatNumber(value: number): string {
  return value >= 1 || value === 0
    ? value.toLocaleString('en-US', { maximumFractionDigits: 1 })
    : String(value);
}

function axes(
  o: LineChartOptions,
  xs: number[],
  ys: number[],
  x: (v: number) => number,
  y: (v: number) => number,
): string[] {
  const parts: string[] = [];
  const xFormat = o.xFormat ?? formatNumber;
  for (const t of xs) {
    parts.push(
      `<line x1="${x(t)}" y1="${PLOT.top}" x2="${x(t)}" y2="${PLOT.bottom}" stroke="#ddd"/>`,
      `<text x="${x(t)}" y="${PLOT.bottom + 16}" text-anchor="middle">${escapeXml(xFormat(t))}</text>`,
    );
  }
  const yFormat = o.yFormat ?? formatNumber;
  for (const t of ys) {
    parts.push(
      `<line x1="${PLOT.left}" y1="${y(t)}" x2="${PLOT.right}" y2="${y(t)}" stroke="#ddd"/>`,
      `<text x="${PLOT.left - 6}" y="${y(t) + 4}" text-anchor="end">${escapeXml(yFormat(t))}</text>`,
    );
  }
  const midY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 36}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="16" y="${midY}" text-anchor="middle" transform="rotate(-90 16 ${midY})">${escapeXml(o.yLabel)}</text>`,
    `<text x="${PLOT.left}" y="22" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  );
  return parts;
}

function legend(series: Series[]): string[] {
  return series.flatMap((s, i) => {
    const top = PLOT.top + 8 + i * 40;
    const colour = COLOURS[i % COLOURS.length];
    const parts = [
      `<line x1="${PLOT.right + 16}" y1="${top}" x2="${PLOT.right + 40}" y2="${top}" stroke="${colour}" stroke-width="2.5"/>`,
      `<text x="${PLOT.right + 46}" y="${top + 4}">${escapeXml(s.label)}</text>`,
    ];
    if (s.note) {
      parts.push(
        `<text x="${PLOT.right + 46}" y="${top + 20}" font-size="11" fill="#555">${escapeXml(s.note)}</text>`,
      );
    }
    return parts;
  });
}

export function lineChart(o: LineChartOptions): string {
  const all = o.series.flatMap((s) => s.points);
  const xMin = o.xMin ?? Math.min(...all.map((p) => p[0]));
  const xMax = o.xMax ?? Math.max(...all.map((p) => p[0]));
  const yMin = o.yMin ?? Math.min(...all.map((p) => p[1]));
  const yMax = o.yMax ?? Math.max(...all.map((p) => p[1]));
  const span = (v: number, lo: number, hi: number): number => (hi > lo ? (v - lo) / (hi - lo) : 0);
  const toX = o.xLog
    ? (v: number) => span(Math.log10(Math.max(v, xMin)), Math.log10(xMin), Math.log10(xMax))
    : (v: number) => span(v, xMin, xMax);
  const x = (v: number): number => round1(PLOT.left + toX(v) * (PLOT.right - PLOT.left));
  const y = (v: number): number =>
    round1(PLOT.bottom - span(v, yMin, yMax) * (PLOT.bottom - PLOT.top));
  const xTicks = o.xTicks ?? (o.xLog ? decades(xMin, xMax) : linearTicks(xMin, xMax));
  const lines = o.series.flatMap((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const d = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${x(px)},${y(py)}`).join('');
    const dots = o.markers
      ? s.points.map(([px, py]) => `<circle cx="${x(px)}" cy="${y(py)}" r="3.5" fill="${colour}"/>`)
      : [];
    return [`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`, ...dots];
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    ...axes(o, xTicks, linearTicks(yMin, yMax), x, y),
    ...lines,
    ...legend(o.series),
    '</svg>',
    '',
  ].join('\n');
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function decades(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.round(Math.log10(min)); e <= Math.round(Math.log10(max)); e++) {
    ticks.push(10 ** e);
  }
  return ticks;
}

/**
 * Cumulative distribution of lateness (ms) per system, on a logarithmic axis because the systems
 * differ by orders of magnitude (milliseconds against seconds). Each curve is drawn through 200
 * quantiles, which keeps the file small whatever the sample count; values below the axis's first
 * decade (on-time or early arrivals) are drawn at its left edge.
 */
export function latenessCdf(
  title: string,
  series: Array<{ label: string; latenessMs: number[] }>,
): string {
  const sorted = series
    .filter((s) => s.latenessMs.length > 0)
    .map((s) => ({ label: s.label, values: [...s.latenessMs].sort((a, b) => a - b) }));
  // Each series is sorted, so its extremes are at its ends (spreading tens of thousands of samples
  // into Math.min could overflow the stack).
  const smallest = Math.min(1, ...sorted.map((s) => s.values.find((v) => v > 0) ?? 1));
  const largest = Math.max(10, ...sorted.map((s) => s.values[s.values.length - 1]));
  const xMin = 10 ** Math.floor(Math.log10(Math.max(0.1, smallest)));
  const xMax = 10 ** Math.ceil(Math.log10(largest));
  const steps = 200;
  return lineChart({
    title,
    xLabel: 'lateness: arrival at the receiver − due time (ms, log scale)',
    yLabel: 'share of deliveries at or below',
    xLog: true,
    xMin,
    xMax,
    yMin: 0,
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    series: sorted.map((s) => ({
      label: s.label,
      note: `p50 ${formatNumber(percentile(s.values, 50))} ms, p99 ${formatNumber(percentile(s.values, 99))} ms`,
      points: Array.from({ length: steps + 1 }, (_, i): [number, number] => {
        const q = i / steps;
        const v = s.values[Math.min(s.values.length - 1, Math.floor(q * (s.values.length - 1)))];
        return [Math.max(v, xMin), q];
      }),
    })),
  });
}
