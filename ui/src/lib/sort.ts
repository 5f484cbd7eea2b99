export type SortDirection = 'ascending' | 'descending';

export interface SortState<K extends string> {
  column: K;
  direction: SortDirection;
}

type Sortable = string | number | boolean | null;

function compare(a: Sortable, b: Sortable): number {
  if (a === b) return 0;
  if (a === null) return 1; // nulls last in both directions (see sortRows)
  if (b === null) return -1;
  if (typeof a === 'string' && typeof b === 'string') return a.localeCompare(b);
  return Number(a) < Number(b) ? -1 : 1;
}

/**
 * A sorted copy of `rows` by `valueOf(row, column)`; ties keep the order given (Array#sort is
 * stable), nulls go last whatever the direction.
 */
export function sortRows<T, K extends string>(
  rows: readonly T[],
  sort: SortState<K>,
  valueOf: (row: T, column: K) => Sortable,
): T[] {
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return [...rows].sort((x, y) => {
    const a = valueOf(x, sort.column);
    const b = valueOf(y, sort.column);
    if (a === null || b === null) return compare(a, b);
    return sign * compare(a, b);
  });
}

/** Clicking a column: a new column sorts descending (biggest backlog first), the same one flips. */
export function nextSort<K extends string>(current: SortState<K>, column: K): SortState<K> {
  if (current.column !== column) {
    return { column, direction: column === 'cate' ? 'ascending' : 'descending' };
  }
  return { column, direction: current.direction === 'ascending' ? 'descending' : 'ascending' };
}

/** Case-insensitive substring filter on a row's name. */
export function filterByName<T>(rows: readonly T[], text: string, nameOf: (row: T) => string): T[] {
  const needle = text.trim().toLowerCase();
  return needle ? rows.filter((r) => nameOf(r).toLowerCase().includes(needle)) : [...rows];
}
