import { listTasks } from '../api/calls';
import { Pager } from '../components/pager';
import { LoadState, Section } from '../components/status';
import { AsOf, UnixTime } from '../components/times';
import { usePages } from '../hooks/use-pages';
import { taskHref } from '../lib/route';

const REFRESH_MS = 5000;

export function FailedTasks({ cate }: { cate: string }) {
  const tasks = usePages((cursor) => listTasks(cate, 'failed', cursor), REFRESH_MS, [cate]);
  const items = tasks.data?.items ?? [];
  return (
    <Section
      title="Failed tasks"
      id="failed"
      actions={<AsOf date={tasks.takenAt} stale={tasks.error !== null} testId="failed-as-of" />}
    >
      <LoadState
        loading={tasks.loading}
        error={tasks.error}
        takenAt={tasks.takenAt}
        hasData={!!tasks.data}
      />
      {tasks.data && items.length === 0 ? (
        <p class="note" data-testid="failed-empty">
          No failed tasks.
        </p>
      ) : null}
      {items.length > 0 ? (
        <div class="table-wrap">
          <table class="data" data-testid="failed-table">
            <caption class="visually-hidden">Failed tasks of {cate}</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Due</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr
                  key={`${t.key}-${t.inAdvance ? 'exec' : ''}`}
                  data-testid={`failed-row-${t.key}`}
                >
                  <th scope="row">
                    <a href={taskHref(cate, t.key)}>
                      <code>{t.key}</code>
                    </a>
                    {t.inAdvance ? <span class="tag">run now</span> : null}
                  </th>
                  <td>
                    <UnixTime seconds={t.timeToRun} />
                  </td>
                  <td class="num">{t.attempts}</td>
                  <td class="error-text">{t.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager
        page={tasks.page}
        hasNext={!!tasks.data?.nextCursor}
        onFirst={tasks.first}
        onNext={tasks.next}
        testId="failed-pager"
        label="failed tasks"
      />
    </Section>
  );
}
