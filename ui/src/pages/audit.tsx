import { useState } from 'preact/hooks';
import { listAudit } from '../api/calls';
import { JsonBlock } from '../components/json-block';
import { Pager } from '../components/pager';
import { LoadState, Section } from '../components/status';
import { AsOf, ShortTime } from '../components/times';
import { usePages } from '../hooks/use-pages';
import { formatCount } from '../lib/format';
import { categoryHref, routeHref } from '../lib/route';
import { isCategory } from '../lib/uint64';

/** GET /audit, newest first, paged; the category filter lives in the hash (#/audit?cate=). */
export function AuditPage({ cate }: { cate: string }) {
  const audit = usePages((cursor) => listAudit(cate, cursor), 0, [cate]);
  const [filter, setFilter] = useState(cate);
  const [problem, setProblem] = useState<string | null>(null);
  const items = audit.data?.items ?? [];
  const apply = (e: Event) => {
    e.preventDefault();
    const c = filter.trim();
    if (c && !isCategory(c)) {
      setProblem('A category is 1 to 128 characters from A-Z a-z 0-9 . _ : -');
      return;
    }
    setProblem(null);
    location.hash = routeHref({ page: 'audit', cate: c });
  };
  return (
    <>
      <div class="page-head">
        <h1>Audit log</h1>
        <AsOf date={audit.takenAt} stale={audit.error !== null} testId="audit-as-of" />
      </div>
      <Section
        title={cate ? `Operator actions on ${cate}` : 'Operator actions'}
        id="audit"
        actions={
          <button
            type="button"
            class="button button-small"
            onClick={audit.refresh}
            data-testid="audit-refresh"
          >
            Refresh
          </button>
        }
      >
        <form class="form form-inline" onSubmit={apply} aria-label="Filter the audit log">
          <div class="field">
            <label for="audit-cate">Category</label>
            <input
              id="audit-cate"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
              autoComplete="off"
              spellcheck={false}
              data-testid="audit-cate-input"
            />
          </div>
          <button type="submit" class="button" data-testid="audit-filter-submit">
            Filter
          </button>
          {problem ? (
            <p class="note note-error" role="alert">
              {problem}
            </p>
          ) : null}
        </form>
        <LoadState
          loading={audit.loading}
          error={audit.error}
          takenAt={audit.takenAt}
          hasData={!!audit.data}
        />
        {audit.data && items.length === 0 ? (
          <p class="note" data-testid="audit-empty">
            No entries.
          </p>
        ) : null}
        {items.length > 0 ? (
          <div class="table-wrap">
            <table class="data" data-testid="audit-table">
              <caption class="visually-hidden">Audit log entries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Key id</th>
                  <th scope="col">Action</th>
                  <th scope="col">Route</th>
                  <th scope="col">Category</th>
                  <th scope="col">Target</th>
                  <th scope="col" class="num">
                    Count
                  </th>
                  <th scope="col">Changes</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id} data-testid={`audit-row-${a.id}`}>
                    <td>
                      <ShortTime iso={a.at} />
                    </td>
                    <td>
                      <code>{a.keyId ?? '—'}</code>
                    </td>
                    <td>{a.action}</td>
                    <td>
                      <code>
                        {a.method} {a.route}
                      </code>
                    </td>
                    <td>{a.cate ? <a href={categoryHref(a.cate)}>{a.cate}</a> : '—'}</td>
                    <td>{a.target ? <code>{a.target}</code> : '—'}</td>
                    <td class="num">{a.count === null ? '—' : formatCount(a.count)}</td>
                    <td>
                      <JsonBlock value={a.changes} label={`Changes of entry ${a.id}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <Pager
          page={audit.page}
          hasNext={!!audit.data?.nextCursor}
          onFirst={audit.first}
          onNext={audit.next}
          testId="audit-pager"
          label="audit entries"
        />
      </Section>
    </>
  );
}
