import { utcInputToUnix } from './format';

export type BulkKind = 'retry' | 'delete';

export interface BulkFormValues {
  kind: BulkKind;
  /** '' (every state) or a task state; delete only. */
  state: '' | 'pending' | 'running' | 'failed';
  /** datetime-local values, read as UTC. */
  after: string;
  before: string;
}

export type BulkBody =
  | { kind: 'retry'; filter: { failedAfter?: number; failedBefore?: number } }
  | {
      kind: 'delete';
      filter: { state?: 'pending' | 'running' | 'failed'; dueAfter?: number; dueBefore?: number };
    };

/** The filter of a bulk call from the form, or why it cannot be sent. */
export function bulkBodyOf(values: BulkFormValues): BulkBody | { error: string } {
  const after = values.after.trim() ? utcInputToUnix(values.after) : undefined;
  const before = values.before.trim() ? utcInputToUnix(values.before) : undefined;
  if (after === null) return { error: 'The "from" time is not a valid date and time.' };
  if (before === null) return { error: 'The "until" time is not a valid date and time.' };
  if (after !== undefined && before !== undefined && before <= after) {
    return { error: 'The "until" time must be later than the "from" time.' };
  }
  if (values.kind === 'retry') {
    return { kind: 'retry', filter: { failedAfter: after, failedBefore: before } };
  }
  return {
    kind: 'delete',
    filter: { state: values.state || undefined, dueAfter: after, dueBefore: before },
  };
}

/** What a bulk call would do, in words, for the confirm step. */
export function describeBulk(body: BulkBody, count: number, cate: string): string {
  const n = `${count} task${count === 1 ? '' : 's'}`;
  if (body.kind === 'retry') return `Re-queue ${n} failed in ${cate} now?`;
  const which = body.filter.state ? `${body.filter.state} ` : '';
  return `Delete ${n}${which ? ` (${which.trim()})` : ''} of ${cate}? This cannot be undone.`;
}
