import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  /** Format of a value in the legend. */
  format: (value: number | null | undefined) => string;
}

/**
 * A uPlot time chart (x: Unix seconds, shown in local time) with an HTML legend instead of
 * uPlot's: it shows the values under the cursor, or the latest ones. The canvas is decorative
 * for assistive technology; `summary` says the same in words.
 */
export function TimeChart({
  title,
  series,
  data,
  bars = false,
  yLabel,
  summary,
  testId,
}: {
  title: string;
  series: ChartSeries[];
  data: (number | null)[][];
  bars?: boolean;
  yLabel: string;
  summary: string;
  testId: string;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [cursorIdx, setCursorIdx] = useState<number | null>(null);
  const seriesKey = series.map((s) => `${s.label}:${s.color}`).join('|');

  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const options: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#3d4451', grid: { stroke: '#e3e6eb' } },
        { stroke: '#3d4451', grid: { stroke: '#e3e6eb' }, label: yLabel, size: 60 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: bars ? s.color : undefined,
          paths: bars ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined,
          // Lines: uPlot shows points only where data is sparse (a lone bucket stays visible).
          points: bars ? { show: false } : undefined,
        })),
      ],
      hooks: { setCursor: [(u) => setCursorIdx(u.cursor.idx ?? null)] },
    };
    const chart = new uPlot(options, data as uPlot.AlignedData, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(240, el.clientWidth), height: 220 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [seriesKey, bars, yLabel]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  // Under the cursor, else each series' latest value that is not a gap.
  const valueAt = (column: (number | null)[] | undefined): number | null | undefined => {
    if (!column) return undefined;
    if (cursorIdx !== null) return column[cursorIdx];
    for (let i = column.length - 1; i >= 0; i--) if (column[i] !== null) return column[i];
    return undefined;
  };
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div class="chart-canvas" ref={holder} aria-hidden="true" />
      <ul class="chart-legend" aria-label={`${title}: values`}>
        {series.map((s, i) => (
          <li key={s.label}>
            <span class="swatch" style={{ backgroundColor: s.color }} aria-hidden="true" />
            {s.label}
            {cursorIdx === null ? ' (latest)' : ''}:{' '}
            <strong>{s.format(valueAt(data[i + 1]))}</strong>
          </li>
        ))}
      </ul>
      <p class="chart-summary">{summary}</p>
    </figure>
  );
}
