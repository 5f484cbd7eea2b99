import { filterByName, nextSort, sortRows } from './sort';

const rows = [
  { cate: 'b', pending: 5, limit: null as number | null },
  { cate: 'a', pending: 10, limit: 3 },
  { cate: 'c', pending: 5, limit: 1 },
];
type Col = 'cate' | 'pending' | 'limit';
const value = (r: (typeof rows)[number], c: Col) => r[c];

describe('sortRows', () => {
  it('sorts by a column either way, keeping ties in order', () => {
    expect(
      sortRows(rows, { column: 'pending', direction: 'descending' }, value).map((r) => r.cate),
    ).toEqual(['a', 'b', 'c']);
    expect(
      sortRows(rows, { column: 'pending', direction: 'ascending' }, value).map((r) => r.cate),
    ).toEqual(['b', 'c', 'a']);
    expect(
      sortRows(rows, { column: 'cate', direction: 'ascending' }, value).map((r) => r.cate),
    ).toEqual(['a', 'b', 'c']);
  });

  it('puts nulls last in both directions', () => {
    for (const direction of ['ascending', 'descending'] as const) {
      const sorted = sortRows(rows, { column: 'limit', direction }, value);
      expect(sorted[2].cate).toBe('b');
    }
  });

  it('does not change the input', () => {
    const copy = [...rows];
    sortRows(rows, { column: 'cate', direction: 'descending' }, value);
    expect(rows).toEqual(copy);
  });
});

describe('nextSort', () => {
  it('starts numbers descending, names ascending, and flips the same column', () => {
    expect(nextSort<Col>({ column: 'cate', direction: 'ascending' }, 'pending')).toEqual({
      column: 'pending',
      direction: 'descending',
    });
    expect(nextSort<Col>({ column: 'pending', direction: 'descending' }, 'pending').direction).toBe(
      'ascending',
    );
    expect(nextSort<Col>({ column: 'pending', direction: 'descending' }, 'cate').direction).toBe(
      'ascending',
    );
  });
});

describe('filterByName', () => {
  it('matches substrings, ignoring case and blanks', () => {
    expect(filterByName(rows, ' A ', (r) => r.cate).map((r) => r.cate)).toEqual(['a']);
    expect(filterByName(rows, '', (r) => r.cate)).toHaveLength(3);
  });
});
