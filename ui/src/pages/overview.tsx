import { getOverview } from '../api/calls';
import { connection } from '../api/client';
import { AsOf } from '../components/times';
import { LoadState, Section } from '../components/status';
import { usePoll } from '../hooks/use-poll';
import { useStore } from '../hooks/use-store';
import { formatAge, formatClock, formatCount } from '../lib/format';
import { CategoryTable } from './overview-categories';
import { DeliveryCharts, ForecastChart } from './overview-charts';
import { FindTaskForm } from './task-find-form';

export const REFRESH_MS = 5000;

const TOTALS = [
  ['pending', 'Pending', 'totals-pending'],
  ['dueNow', 'Due now', 'totals-due-now'],
  ['running', 'Running', 'totals-running'],
  ['failed', 'Failed', 'totals-failed'],
  ['categories', 'Categories', 'totals-categories'],
  ['paused', 'Paused', 'totals-paused'],
  ['openCircuits', 'Open circuits', 'totals-open-circuits'],
  ['rateLimited', 'Rate-limited', 'totals-rate-limited'],
] as const;

export function OverviewPage() {
  const overview = usePoll(getOverview, REFRESH_MS, []);
  const conn = useStore(connection);
  const data = overview.data;
  const stale = overview.error !== null || conn === 'lost';
  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
        <p class="refresh" aria-live="off">
          Refreshes every 5 s while this tab is visible.{' '}
          {overview.takenAt ? (
            <span data-testid="last-refresh">
              Last refresh:{' '}
              <time dateTime={overview.takenAt.toISOString()}>{formatClock(overview.takenAt)}</time>
            </span>
          ) : null}{' '}
          <button
            type="button"
            class="button button-small"
            onClick={overview.refresh}
            data-testid="refresh-now"
          >
            Refresh now
          </button>
        </p>
      </div>
      <LoadState
        loading={overview.loading}
        error={overview.error}
        takenAt={overview.takenAt}
        hasData={data !== undefined}
        testId="overview-error"
      />
      {data ? (
        <Section
          title="Totals"
          id="totals"
          actions={<AsOf date={new Date(data.asOf)} stale={stale} testId="overview-as-of" />}
        >
          <dl class={stale ? 'totals stale' : 'totals'}>
            {TOTALS.map(([field, label, testId]) => (
              <div class="total" key={field}>
                <dt>{label}</dt>
                <dd data-testid={testId}>{formatCount(data.totals[field])}</dd>
              </div>
            ))}
            <div class="total">
              <dt>Oldest due task waiting</dt>
              <dd data-testid="oldest-due-age">{formatAge(data.oldestDueAgeSeconds)}</dd>
            </div>
          </dl>
        </Section>
      ) : null}
      <div class="charts">
        <DeliveryCharts />
        <ForecastChart />
      </div>
      {data ? <CategoryTable categories={data.categories} stale={stale} /> : null}
      <Section title="Find a task" id="find-task">
        <FindTaskForm cate="" />
      </Section>
    </>
  );
}
