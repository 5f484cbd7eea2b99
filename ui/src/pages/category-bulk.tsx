import { useState } from 'preact/hooks';
import { bulkDelete, bulkRetry } from '../api/calls';
import { ErrorNote, Section } from '../components/status';
import { bulkBodyOf, describeBulk, type BulkBody, type BulkFormValues } from '../lib/bulk-filter';
import { formatCount } from '../lib/format';

const send = (cate: string, body: BulkBody, dryRun: boolean) =>
  body.kind === 'retry'
    ? bulkRetry(cate, body.filter, dryRun)
    : bulkDelete(cate, body.filter, dryRun);

type Step =
  | { name: 'edit' }
  | { name: 'checked'; body: BulkBody; count: number }
  | { name: 'done'; kind: BulkBody['kind']; count: number };

/**
 * Bulk retry or delete by filter, in two steps: a dry run answers how many tasks match, then the
 * confirm step (showing that count) sends the same filter without dryRun. Editing the filter
 * after the dry run goes back to the first step.
 */
export function BulkActions({ cate }: { cate: string }) {
  const [values, setValues] = useState<BulkFormValues>({
    kind: 'retry',
    state: '',
    after: '',
    before: '',
  });
  const [step, setStep] = useState<Step>({ name: 'edit' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const edit = (patch: Partial<BulkFormValues>) => {
    setValues((v) => ({ ...v, ...patch }));
    setStep({ name: 'edit' });
    setError(null);
  };
  const call = async (body: BulkBody, dryRun: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const { count } = await send(cate, body, dryRun);
      setStep(dryRun ? { name: 'checked', body, count } : { name: 'done', kind: body.kind, count });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const onDryRun = (e: Event) => {
    e.preventDefault();
    const body = bulkBodyOf(values);
    if ('error' in body) {
      setError(body.error);
      return;
    }
    void call(body, true);
  };

  const kind = values.kind;
  const timeLabel = kind === 'retry' ? 'Failed' : 'Due';
  return (
    <Section title="Bulk retry or delete" id="bulk">
      <form class="form" onSubmit={onDryRun} data-testid="bulk-form">
        <fieldset>
          <legend>Action</legend>
          <div class="field field-check">
            <input
              id="bulk-kind-retry"
              type="radio"
              name="bulk-kind"
              checked={kind === 'retry'}
              onChange={() => edit({ kind: 'retry' })}
              data-testid="bulk-action-retry"
            />
            <label for="bulk-kind-retry">Retry failed tasks</label>
          </div>
          <div class="field field-check">
            <input
              id="bulk-kind-delete"
              type="radio"
              name="bulk-kind"
              checked={kind === 'delete'}
              onChange={() => edit({ kind: 'delete' })}
              data-testid="bulk-action-delete"
            />
            <label for="bulk-kind-delete">Delete tasks</label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Filter (times in UTC; empty: no bound)</legend>
          {kind === 'delete' ? (
            <div class="field">
              <label for="bulk-state">State</label>
              <select
                id="bulk-state"
                value={values.state}
                onChange={(e) => edit({ state: e.currentTarget.value as BulkFormValues['state'] })}
                data-testid="bulk-state"
              >
                <option value="">every state</option>
                <option value="pending">pending</option>
                <option value="running">running</option>
                <option value="failed">failed</option>
              </select>
            </div>
          ) : null}
          <div class="field">
            <label for="bulk-after">{timeLabel} from (inclusive, UTC)</label>
            <input
              id="bulk-after"
              type="datetime-local"
              step={1}
              value={values.after}
              onInput={(e) => edit({ after: e.currentTarget.value })}
              data-testid="bulk-after"
            />
          </div>
          <div class="field">
            <label for="bulk-before">{timeLabel} until (exclusive, UTC)</label>
            <input
              id="bulk-before"
              type="datetime-local"
              step={1}
              value={values.before}
              onInput={(e) => edit({ before: e.currentTarget.value })}
              data-testid="bulk-before"
            />
          </div>
        </fieldset>
        <div class="actions">
          <button type="submit" class="button" disabled={busy} data-testid={`bulk-${kind}-dry-run`}>
            Dry run: count matching tasks
          </button>
        </div>
      </form>
      <ErrorNote error={error} testId="bulk-error" />
      {step.name === 'checked' ? (
        <div class="confirm-step" role="status">
          <p>
            <strong data-testid="bulk-count">{formatCount(step.count)}</strong>{' '}
            {step.count === 1 ? 'task matches' : 'tasks match'} (dry run: nothing changed yet).
          </p>
          {step.count > 0 ? (
            <div class="actions">
              <span class="confirm-question">{describeBulk(step.body, step.count, cate)}</span>
              <button
                type="button"
                class={
                  step.body.kind === 'delete' ? 'button button-danger' : 'button button-primary'
                }
                disabled={busy}
                onClick={() => void call(step.body, false)}
                data-testid="bulk-confirm"
              >
                {step.body.kind === 'retry' ? 'Retry' : 'Delete'} {formatCount(step.count)} tasks
              </button>
              <button
                type="button"
                class="button"
                onClick={() => setStep({ name: 'edit' })}
                data-testid="bulk-cancel"
              >
                Cancel
              </button>
            </div>
          ) : null}
        </div>
      ) : null}
      {step.name === 'done' ? (
        <p class="note note-ok" role="status" data-testid="bulk-result">
          {step.kind === 'retry' ? 'Re-queued' : 'Deleted'} {formatCount(step.count)}{' '}
          {step.count === 1 ? 'task' : 'tasks'}.
        </p>
      ) : null}
    </Section>
  );
}
