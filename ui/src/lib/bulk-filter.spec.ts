import { bulkBodyOf, describeBulk } from './bulk-filter';

describe('bulkBodyOf', () => {
  it('builds a retry filter from UTC times', () => {
    expect(
      bulkBodyOf({
        kind: 'retry',
        state: 'pending',
        after: '2026-11-30T09:00',
        before: '2026-11-30T10:00',
      }),
    ).toEqual({ kind: 'retry', filter: { failedAfter: 1796029200, failedBefore: 1796032800 } });
  });

  it('builds a delete filter; empty fields are no bound', () => {
    expect(
      bulkBodyOf({ kind: 'delete', state: 'pending', after: '', before: '2026-12-01T00:00' }),
    ).toEqual({
      kind: 'delete',
      filter: { state: 'pending', dueAfter: undefined, dueBefore: 1796083200 },
    });
    expect(bulkBodyOf({ kind: 'delete', state: '', after: '', before: '' })).toEqual({
      kind: 'delete',
      filter: { state: undefined, dueAfter: undefined, dueBefore: undefined },
    });
  });

  it('refuses an empty or reversed window', () => {
    expect(
      bulkBodyOf({
        kind: 'retry',
        state: '',
        after: '2026-11-30T10:00',
        before: '2026-11-30T10:00',
      }),
    ).toHaveProperty('error');
    expect(bulkBodyOf({ kind: 'retry', state: '', after: 'x', before: '' })).toHaveProperty(
      'error',
    );
  });

  it('describes what the confirm step will do', () => {
    expect(describeBulk({ kind: 'retry', filter: {} }, 1, 'orders')).toBe(
      'Re-queue 1 task failed in orders now?',
    );
    expect(describeBulk({ kind: 'delete', filter: { state: 'failed' } }, 1250, 'orders')).toBe(
      'Delete 1250 tasks (failed) of orders? This cannot be undone.',
    );
  });
});
