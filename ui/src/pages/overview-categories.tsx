import { useState } from 'preact/hooks';
import type { DashboardCategory } from '../api/dashboard-types';
import { Section } from '../components/status';
import { formatCount, formatRateLimit } from '../lib/format';
import { categoryHref } from '../lib/route';
import { filterByName, nextSort, sortRows, type SortState } from '../lib/sort';

type Column = keyof Pick<
  DashboardCategory,
  'cate' | 'pending' | 'dueNow' | 'running' | 'failed' | 'paused' | 'circuit' | 'rateLimit'
>;

const COLUMNS: { column: Column; label: string; numeric: boolean }[] = [
  { column: 'cate', label: 'Category', numeric: false },
  { column: 'pending', label: 'Pending', numeric: true },
  { column: 'dueNow', label: 'Due now', numeric: true },
  { column: 'running', label: 'Running', numeric: true },
  { column: 'failed', label: 'Failed', numeric: true },
  { column: 'paused', label: 'Paused', numeric: false },
  { column: 'circuit', label: 'Circuit', numeric: false },
  { column: 'rateLimit', label: 'Rate limit', numeric: false },
];

const CIRCUIT_RANK = { closed: 0, half_open: 1, open: 2 } as const;
export const CIRCUIT_TEXT = { closed: 'closed', half_open: 'half-open', open: 'open' } as const;

function sortValue(row: DashboardCategory, column: Column): string | number | boolean | null {
  if (column === 'circuit') return CIRCUIT_RANK[row.circuit];
  if (column === 'rateLimit') return row.rateLimit?.perSecond ?? null;
  if (column === 'paused') return row.paused ? 1 : 0;
  return row[column];
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function CategoryTable({
  categories,
  stale,
}: {
  categories: DashboardCategory[];
  stale: boolean;
}) {
  const [sort, setSort] = useState<SortState<Column>>({ column: 'cate', direction: 'ascending' });
  const [filter, setFilter] = useState('');
  const rows = sortRows(
    filterByName(categories, filter, (c) => c.cate),
    sort,
    sortValue,
  );
  return (
    <Section
      title="Categories"
      id="categories"
      actions={
        <div class="filter">
          <label for="category-filter">Filter categories</label>
          <input
            id="category-filter"
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
            data-testid="category-filter"
          />
        </div>
      }
    >
      <div class="table-wrap">
        <table class={stale ? 'data stale' : 'data'} data-testid="category-table">
          <caption class="visually-hidden">
            Categories, sorted by {COLUMNS.find((c) => c.column === sort.column)?.label}{' '}
            {sort.direction}
          </caption>
          <thead>
            <tr>
              {COLUMNS.map(({ column, label, numeric }) => (
                <th
                  scope="col"
                  key={column}
                  class={numeric ? 'num' : undefined}
                  aria-sort={sort.column === column ? sort.direction : undefined}
                >
                  <button
                    type="button"
                    class="sort"
                    onClick={() => setSort(nextSort(sort, column))}
                    data-testid={`sort-${kebab(column)}`}
                  >
                    {label}
                    <span aria-hidden="true" class="sort-mark">
                      {sort.column === column ? (sort.direction === 'ascending' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.cate} data-testid={`category-row-${c.cate}`}>
                <th scope="row">
                  <a href={categoryHref(c.cate)} data-testid={`category-link-${c.cate}`}>
                    {c.cate}
                  </a>
                  {c.registered ? null : <span class="tag">not registered</span>}
                </th>
                <td class="num">{formatCount(c.pending)}</td>
                <td class="num">{formatCount(c.dueNow)}</td>
                <td class="num">{formatCount(c.running)}</td>
                <td class={c.failed > 0 ? 'num bad' : 'num'}>{formatCount(c.failed)}</td>
                <td>{c.paused ? <span class="tag tag-warn">paused</span> : 'no'}</td>
                <td>
                  <span class={`tag circuit-${c.circuit}`}>{CIRCUIT_TEXT[c.circuit]}</span>
                </td>
                <td>{formatRateLimit(c.rateLimit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 ? (
        <p class="note" data-testid="category-table-empty">
          {categories.length === 0 ? 'No categories yet.' : 'No category matches the filter.'}
        </p>
      ) : null}
    </Section>
  );
}
