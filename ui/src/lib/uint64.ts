const UINT64_MAX = '18446744073709551615';

/**
 * Whether `text` is a task key: a decimal integer from 1 to 18446744073709551615, compared as
 * text (never through a JavaScript number, which rounds above 2^53). Leading zeros are refused so
 * that one key has one spelling in links.
 */
export function isTaskKey(text: string): boolean {
  if (!/^[1-9]\d{0,19}$/.test(text)) return false;
  return text.length < UINT64_MAX.length || text <= UINT64_MAX;
}

/** Why `text` is not a task key, or null when it is one. */
export function taskKeyProblem(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return 'Enter a key.';
  if (!/^\d+$/.test(trimmed)) return 'A key is a whole number written with digits only.';
  if (!isTaskKey(trimmed)) return `A key is from 1 to ${UINT64_MAX}, without leading zeros.`;
  return null;
}

const CATE_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whether `text` is a category name: 1–128 characters from A-Z a-z 0-9 . _ : - */
export function isCategory(text: string): boolean {
  return CATE_RE.test(text);
}
