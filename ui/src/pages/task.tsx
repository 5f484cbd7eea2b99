import { useState } from 'preact/hooks';
import { deleteTask, getTask, getTaskAttempts, retryTask } from '../api/calls';
import { ConfirmButton } from '../components/confirm-button';
import { JsonBlock } from '../components/json-block';
import { Pager } from '../components/pager';
import { ErrorNote, LoadState, Section } from '../components/status';
import { AsOf, UnixTime } from '../components/times';
import { useAction } from '../hooks/use-action';
import { usePages } from '../hooks/use-pages';
import { usePoll } from '../hooks/use-poll';
import { categoryHref } from '../lib/route';
import { useSession } from '../session';
import { AttemptsTimeline } from './attempts-timeline';
import { FindTaskForm } from './task-find-form';

const REFRESH_MS = 5000;

export function FindTaskPage({ cate }: { cate: string }) {
  return (
    <>
      <div class="page-head">
        <h1>Find a task</h1>
      </div>
      <Section title="Category and key" id="find">
        <FindTaskForm cate={cate} />
      </Section>
    </>
  );
}

type Gone = 'deleted' | 'ran' | 'absent';

const GONE_TEXT: Record<Gone, string> = {
  deleted: 'Deleted: the task is gone.',
  ran: 'Sent for delivery now (inAdvance: true); the task is removed once delivered.',
  absent: 'The task was not there any more.',
};

export function TaskPage({ cate, taskKey }: { cate: string; taskKey: string }) {
  // After a delete or run-now the task is not read again (it would only answer 404).
  const [gone, setGone] = useState<{ key: string; how: Gone } | null>(null);
  const isGone = gone !== null && gone.key === `${cate}/${taskKey}`;
  const task = usePoll(
    () => (isGone ? Promise.resolve(null) : getTask(cate, taskKey)),
    isGone ? 0 : REFRESH_MS,
    [cate, taskKey, isGone],
  );
  const attempts = usePages((cursor) => getTaskAttempts(cate, taskKey, cursor), REFRESH_MS, [
    cate,
    taskKey,
  ]);
  const missing = task.error?.status === 404;
  const t = missing || isGone ? undefined : (task.data ?? undefined);
  return (
    <>
      <div class="page-head">
        <h1>
          Task <code data-testid="task-key">{taskKey}</code> in{' '}
          <a href={categoryHref(cate)} data-testid="task-category-link">
            {cate}
          </a>
        </h1>
        <AsOf date={task.takenAt} stale={task.error !== null && !missing} testId="task-as-of" />
      </div>
      {isGone ? (
        <p class="note note-ok" role="status" data-testid="task-action-result">
          {GONE_TEXT[gone.how]}
        </p>
      ) : missing ? (
        <p class="note" role="status" data-testid="task-not-found">
          There is no such task now: it was delivered, deleted, or never created. Its attempts (if
          any) are listed below.
        </p>
      ) : (
        <LoadState loading={task.loading} error={task.error} takenAt={task.takenAt} hasData={!!t} />
      )}
      {t ? (
        <Section
          title="Task"
          id="task"
          actions={
            <TaskActions
              cate={cate}
              taskKey={taskKey}
              state={t.state}
              refresh={task.refresh}
              onGone={(how) => setGone({ key: `${cate}/${taskKey}`, how })}
            />
          }
        >
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <span class={`tag state-${t.state}`} data-testid="task-state">
                {t.state}
              </span>
              {t.inAdvance ? <span class="tag">run now (inAdvance)</span> : null}
            </dd>
            <dt>Due</dt>
            <dd>
              <UnixTime seconds={t.timeToRun} testId="task-due" />
            </dd>
            <dt>Attempts of this occurrence</dt>
            <dd data-testid="task-attempts">{t.attempts}</dd>
            <dt>Delivery id</dt>
            <dd>
              <code data-testid="task-delivery-id">{t.deliveryId}</code>
            </dd>
            <dt>Handler</dt>
            <dd>
              <code data-testid="task-handler">
                {t.handler ?? 'none (the category has no handler)'}
              </code>
            </dd>
            <dt>Last error</dt>
            <dd data-testid="task-last-error">{t.lastError ?? 'none'}</dd>
          </dl>
          <h3>Params</h3>
          <JsonBlock value={t.params} label="Task params" testId="task-params" />
        </Section>
      ) : null}
      <Section
        title="Attempts"
        id="attempts"
        actions={
          <AsOf date={attempts.takenAt} stale={attempts.error !== null} testId="attempts-as-of" />
        }
      >
        <LoadState
          loading={attempts.loading}
          error={attempts.error}
          takenAt={attempts.takenAt}
          hasData={attempts.data !== undefined}
        />
        {attempts.data ? <AttemptsTimeline attempts={attempts.data.items} /> : null}
        <Pager
          page={attempts.page}
          hasNext={!!attempts.data?.nextCursor}
          onFirst={attempts.first}
          onNext={attempts.next}
          testId="attempts-pager"
          label="attempts"
        />
      </Section>
    </>
  );
}

function TaskActions({
  cate,
  taskKey,
  state,
  refresh,
  onGone,
}: {
  cate: string;
  taskKey: string;
  state: string;
  refresh: () => void;
  onGone: (how: Gone) => void;
}) {
  const { canAct } = useSession();
  const [retry, retrying] = useAction(() => retryTask(cate, taskKey).then(() => true));
  const [remove, removing] = useAction(async (exec: boolean) => {
    const { deleted } = await deleteTask(cate, taskKey, exec);
    onGone(!deleted ? 'absent' : exec ? 'ran' : 'deleted');
  });
  if (!canAct) return null;
  const busy = retrying.busy || removing.busy;
  const after = (ok: boolean) => {
    if (ok) refresh();
  };
  return (
    <div class="actions">
      {state === 'failed' ? (
        <button
          type="button"
          class="button button-primary"
          disabled={busy}
          onClick={() => void retry().then(after)}
          data-testid="task-retry"
        >
          Retry now
        </button>
      ) : null}
      <ConfirmButton
        label="Run now"
        question="Deliver it now (inAdvance: true) and then remove it?"
        confirmLabel="Run now and remove"
        busy={busy}
        danger={false}
        onConfirm={() => remove(true)}
        testId="task-run-now"
      />
      <ConfirmButton
        label="Delete"
        question="Delete this task without delivering it?"
        confirmLabel="Delete task"
        busy={busy}
        onConfirm={() => remove(false)}
        testId="task-delete"
      />
      {retrying.result ? (
        <span class="note" role="status" data-testid="task-action-result">
          Re-queued: due now.
        </span>
      ) : null}
      <ErrorNote error={retrying.error ?? removing.error} testId="task-action-error" />
    </div>
  );
}
