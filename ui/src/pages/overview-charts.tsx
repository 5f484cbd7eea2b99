import { getForecast, getSeries } from '../api/calls';
import { TimeChart, type ChartSeries } from '../components/chart';
import { LoadState } from '../components/status';
import { AsOf } from '../components/times';
import { usePoll } from '../hooks/use-poll';
import {
  deliveryRates,
  forecastColumns,
  latenessColumns,
  outcomesOf,
  summarizeForecast,
  summarizeSeries,
} from '../lib/chart-data';
import { formatClock, formatCount, formatMs, unixToDate } from '../lib/format';

const REFRESH_MS = 5000;
const WINDOW_MINUTES = 15;

const OUTCOME_COLORS: Record<string, string> = {
  success: '#1a7f37',
  http_4xx: '#b35900',
  http_5xx: '#cf222e',
  http_other: '#8250df',
  timeout: '#9a6700',
  connection_error: '#bc4c00',
  blocked: '#57606a',
  no_handler: '#6e7781',
  error: '#82071e',
  lease_expired: '#0550ae',
  gone: '#4d2d00',
  snoozed: '#0969da',
};
const SPARE_COLORS = ['#116329', '#953800', '#6639ba', '#0a3069'];

const rate = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : `${v.toFixed(v < 10 ? 2 : 1)}/s`;

export function DeliveryCharts() {
  const series = usePoll(() => getSeries(WINDOW_MINUTES), REFRESH_MS, []);
  const data = series.data;
  const outcomes = data ? outcomesOf(data.points) : [];
  const outcomeSeries: ChartSeries[] = outcomes.map((o, i) => ({
    label: o,
    color: OUTCOME_COLORS[o] ?? SPARE_COLORS[i % SPARE_COLORS.length],
    format: rate,
  }));
  const totals = data ? summarizeSeries(data.points) : null;
  return (
    <section class="panel" aria-labelledby="deliveries-title">
      <div class="panel-head">
        <h2 id="deliveries-title">Deliveries, last {WINDOW_MINUTES} minutes</h2>
        <AsOf date={series.takenAt} stale={series.error !== null} testId="series-as-of" />
      </div>
      <LoadState
        loading={series.loading}
        error={series.error}
        takenAt={series.takenAt}
        hasData={data !== undefined}
      />
      {data && totals ? (
        <>
          <TimeChart
            title={`Deliveries per second by outcome (${data.bucketSeconds} s buckets, local time)`}
            series={outcomeSeries}
            data={deliveryRates(data.points, data.bucketSeconds, outcomes)}
            yLabel="per second"
            summary={
              `${formatCount(totals.deliveries)} deliveries in the last ${WINDOW_MINUTES} minutes` +
              (outcomes.length
                ? `: ${outcomes.map((o) => `${o} ${formatCount(totals.byOutcome[o] ?? 0)}`).join(', ')}.`
                : '.')
            }
            testId="chart-deliveries"
          />
          <TimeChart
            title="Lateness (delivery start − due time), ms"
            series={[
              { label: 'p50', color: '#0969da', format: formatMs },
              { label: 'p99', color: '#cf222e', format: formatMs },
            ]}
            data={latenessColumns(data.points)}
            yLabel="ms"
            summary={latenessSummary(data.points)}
            testId="chart-lateness"
          />
        </>
      ) : null}
    </section>
  );
}

function latenessSummary(points: { latenessP50Ms: number | null; latenessP99Ms: number | null }[]) {
  const last = [...points]
    .reverse()
    .find((p) => p.latenessP50Ms !== null || p.latenessP99Ms !== null);
  return last
    ? `Latest bucket with deliveries: p50 ${formatMs(last.latenessP50Ms)}, p99 ${formatMs(last.latenessP99Ms)}.`
    : 'No deliveries in the window.';
}

export function ForecastChart() {
  const forecast = usePoll(getForecast, REFRESH_MS, []);
  const data = forecast.data;
  const summary = data ? summarizeForecast(data.minutes) : null;
  return (
    <section class="panel" aria-labelledby="forecast-title">
      <div class="panel-head">
        <h2 id="forecast-title">Forecast, next hour</h2>
        <AsOf date={forecast.takenAt} stale={forecast.error !== null} testId="forecast-as-of" />
      </div>
      <LoadState
        loading={forecast.loading}
        error={forecast.error}
        takenAt={forecast.takenAt}
        hasData={data !== undefined}
      />
      {data && summary ? (
        <TimeChart
          title="Tasks falling due per minute (local time)"
          series={[{ label: 'due', color: '#0550ae', format: (v) => formatCount(v ?? null) }]}
          data={forecastColumns(data.minutes)}
          bars
          yLabel="tasks / min"
          summary={
            `${summary.capped ? 'At least ' : ''}${formatCount(summary.total)} tasks fall due in the next hour` +
            (summary.busiest && summary.busiest.count > 0
              ? `; the busiest minute is ${formatClock(unixToDate(summary.busiest.t))} with ` +
                `${summary.busiest.capped ? 'at least ' : ''}${formatCount(summary.busiest.count)}.`
              : '.') +
            (summary.capped ? ' Some minutes were counted only up to the service’s cap.' : '')
          }
          testId="chart-forecast"
        />
      ) : null}
    </section>
  );
}
