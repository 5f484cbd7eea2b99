let issued = 0;

/**
 * A category (or other) name that no other test of this file gets: `prefix`, a dash and a
 * number. A test that writes and reads only rows under its own names passes alone, in any order
 * and whatever rows the file's other tests left in the shared database.
 */
export function uniqueName(prefix: string): string {
  issued += 1;
  return `${prefix}-${issued}`;
}
