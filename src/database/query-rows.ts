/**
 * TypeORM's `query()` returns the rows for SELECT and INSERT, but `[rows, rowCount]` for UPDATE
 * and DELETE (RETURNING included). These unwrap both shapes.
 */
function isRowsAndCount(result: unknown): result is [unknown[], number] {
  return (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  );
}

export function rowsOf<T>(result: unknown): T[] {
  return (isRowsAndCount(result) ? result[0] : result) as T[];
}

/** Rows changed by an UPDATE or DELETE (rows returned by anything else). */
export function affectedOf(result: unknown): number {
  return isRowsAndCount(result) ? result[1] : (result as unknown[]).length;
}
