import { listCategoryAttempts } from '../api/calls';
import { Pager } from '../components/pager';
import { LoadState, Section } from '../components/status';
import { AsOf, ShortTime } from '../components/times';
import { usePages } from '../hooks/use-pages';
import { formatMs } from '../lib/format';
import { taskHref } from '../lib/route';

const REFRESH_MS = 5000;

export function CategoryAttempts({ cate }: { cate: string }) {
  const attempts = usePages((cursor) => listCategoryAttempts(cate, cursor), REFRESH_MS, [cate]);
  const items = attempts.data?.items ?? [];
  return (
    <Section
      title="Recent attempts"
      id="recent-attempts"
      actions={
        <AsOf
          date={attempts.takenAt}
          stale={attempts.error !== null}
          testId="recent-attempts-as-of"
        />
      }
    >
      <LoadState
        loading={attempts.loading}
        error={attempts.error}
        takenAt={attempts.takenAt}
        hasData={!!attempts.data}
      />
      {attempts.data && items.length === 0 ? (
        <p class="note" data-testid="recent-attempts-empty">
          No attempts recorded.
        </p>
      ) : null}
      {items.length > 0 ? (
        <div class="table-wrap">
          <table class="data" data-testid="recent-attempts-table">
            <caption class="visually-hidden">
              Recent delivery attempts of {cate}, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Key</th>
                <th scope="col" class="num">
                  Attempt
                </th>
                <th scope="col" class="num">
                  Status
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col">Outcome</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={`${a.key}-${a.deliveryId}-${a.attempt}-${a.startedAt}`}>
                  <td>
                    <ShortTime iso={a.startedAt} />
                  </td>
                  <td>
                    <a href={taskHref(cate, a.key)}>
                      <code>{a.key}</code>
                    </a>
                  </td>
                  <td class="num">{a.attempt}</td>
                  <td class="num">{a.statusCode ?? '—'}</td>
                  <td class="num">{formatMs(a.durationMs)}</td>
                  <td>
                    <span class={`tag outcome-${a.outcome}`}>{a.outcome}</span>
                  </td>
                  <td class="error-text">{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager
        page={attempts.page}
        hasNext={!!attempts.data?.nextCursor}
        onFirst={attempts.first}
        onNext={attempts.next}
        testId="recent-attempts-pager"
        label="recent attempts"
      />
    </Section>
  );
}
