import { useState } from 'preact/hooks';
import { deleteHandler, getHandler, pauseHandler, resumeHandler, type Handler } from '../api/calls';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorNote, LoadState, Section } from '../components/status';
import { AsOf, ShortTime } from '../components/times';
import { useAction } from '../hooks/use-action';
import { usePoll } from '../hooks/use-poll';
import { formatCount, formatRateLimit } from '../lib/format';
import { useSession } from '../session';
import { BulkActions } from './category-bulk';
import { CategoryAttempts } from './category-attempts';
import { FailedTasks } from './category-failed';
import { HandlerForm } from './handler-form';
import { CIRCUIT_TEXT } from './overview-categories';
import { FindTaskForm } from './task-find-form';

const REFRESH_MS = 5000;

export function CategoryPage({ cate }: { cate: string }) {
  const handler = usePoll(() => getHandler(cate), REFRESH_MS, [cate]);
  const { canAct } = useSession();
  const [editing, setEditing] = useState(false);
  const notRegistered = handler.error?.status === 404;
  const h = notRegistered ? undefined : handler.data;
  return (
    <>
      <div class="page-head">
        <h1>
          Category <span data-testid="category-name">{cate}</span>
        </h1>
        <AsOf
          date={handler.takenAt}
          stale={handler.error !== null && !notRegistered}
          testId="category-as-of"
        />
      </div>
      {notRegistered ? (
        <p class="note" role="status" data-testid="category-not-registered">
          This category is not registered: it has no handler. Its tasks (if any) are listed below.
        </p>
      ) : (
        <LoadState
          loading={handler.loading}
          error={handler.error}
          takenAt={handler.takenAt}
          hasData={!!h}
        />
      )}
      {h ? <FlowControls handler={h} refresh={handler.refresh} /> : null}
      <Section
        title="Settings"
        id="settings"
        actions={
          canAct && !editing && (h || notRegistered) ? (
            <button
              type="button"
              class="button"
              onClick={() => setEditing(true)}
              data-testid="edit-settings"
            >
              {h ? 'Edit settings' : 'Register'}
            </button>
          ) : null
        }
      >
        {editing && canAct ? (
          <HandlerForm
            cate={cate}
            handler={h ?? null}
            onDone={(saved) => {
              setEditing(false);
              if (saved) handler.refresh();
            }}
          />
        ) : h ? (
          <Settings handler={h} />
        ) : null}
        {h && canAct && !editing ? <DeleteCategory cate={cate} refresh={handler.refresh} /> : null}
      </Section>
      <FailedTasks cate={cate} />
      {canAct ? <BulkActions cate={cate} /> : null}
      <CategoryAttempts cate={cate} />
      <Section title="Find a task of this category" id="find-task">
        <FindTaskForm cate={cate} />
      </Section>
    </>
  );
}

function FlowControls({ handler, refresh }: { handler: Handler; refresh: () => void }) {
  const { canAct } = useSession();
  const [pause, pausing] = useAction(() => pauseHandler(handler.cate));
  const [resume, resuming] = useAction(() => resumeHandler(handler.cate));
  const busy = pausing.busy || resuming.busy;
  const c = handler.circuit;
  return (
    <Section title="Flow control" id="flow">
      <dl class="facts">
        <dt>Deliveries</dt>
        <dd data-testid="category-paused" data-paused={String(handler.paused)}>
          {handler.paused ? <span class="tag tag-warn">paused</span> : 'running'}
        </dd>
        <dt>Circuit</dt>
        <dd>
          <span class={`tag circuit-${c.state}`} data-testid="circuit-state">
            {CIRCUIT_TEXT[c.state]}
          </span>{' '}
          {formatCount(c.consecutiveFailures)} consecutive failures
          {c.openedAt ? (
            <>
              , opened <ShortTime iso={c.openedAt} />
            </>
          ) : null}
          {c.nextProbeAt ? (
            <>
              , next probe <ShortTime iso={c.nextProbeAt} />
            </>
          ) : null}
        </dd>
      </dl>
      {canAct ? (
        <div class="actions">
          {handler.paused || c.state !== 'closed' ? (
            <button
              type="button"
              class="button button-primary"
              disabled={busy}
              onClick={() => void resume().then((ok) => ok && refresh())}
              data-testid="resume-button"
            >
              Resume{c.state !== 'closed' ? ' (and close the circuit)' : ''}
            </button>
          ) : null}
          {!handler.paused ? (
            <button
              type="button"
              class="button"
              disabled={busy}
              onClick={() => void pause().then((ok) => ok && refresh())}
              data-testid="pause-button"
            >
              Pause
            </button>
          ) : null}
          <ErrorNote error={pausing.error ?? resuming.error} testId="flow-error" />
        </div>
      ) : null}
    </Section>
  );
}

function Settings({ handler: h }: { handler: Handler }) {
  const cb = h.circuitBreaker;
  const dflt = <span class="muted">service default</span>;
  return (
    <dl class="facts" data-testid="settings">
      <dt>Handler</dt>
      <dd>
        <code data-testid="settings-handler-value">{h.handler}</code>
      </dd>
      <dt>Max attempts</dt>
      <dd data-testid="settings-max-attempts-value">{h.maxAttempts ?? dflt}</dd>
      <dt>Timeout</dt>
      <dd data-testid="settings-timeout-value">
        {h.timeoutMs !== null ? `${formatCount(h.timeoutMs)} ms` : dflt}
      </dd>
      <dt>Concurrency per replica</dt>
      <dd data-testid="settings-concurrency-value">
        {h.concurrency ?? <span class="muted">no cap</span>}
      </dd>
      <dt>Rate limit</dt>
      <dd data-testid="settings-rate-limit-value">{formatRateLimit(h.rateLimit)}</dd>
      <dt>Circuit breaker</dt>
      <dd data-testid="settings-circuit-breaker-value">
        {cb === false
          ? 'off'
          : `opens after ${formatCount(cb.failureThreshold)} consecutive failures, first cooldown ${formatCount(cb.cooldownMs)} ms`}
      </dd>
      <dt>Events handler</dt>
      <dd data-testid="settings-events-handler-value">
        {h.eventsHandler ? <code>{h.eventsHandler}</code> : 'none'}
      </dd>
      <dt>Signing secrets</dt>
      <dd data-testid="settings-secrets-value">
        {h.secrets.length === 0
          ? 'none (unsigned)'
          : h.secrets.map((s) => <code key={s.prefix}>{s.prefix} </code>)}
      </dd>
      <dt>Registered</dt>
      <dd>
        <ShortTime iso={h.createdAt} />, updated <ShortTime iso={h.updatedAt} />
      </dd>
    </dl>
  );
}

function DeleteCategory({ cate, refresh }: { cate: string; refresh: () => void }) {
  const [remove, removing] = useAction(() => deleteHandler(cate));
  return (
    <div class="actions">
      <ConfirmButton
        label="Remove category"
        question="Remove the category's handler and settings? Its tasks stay."
        confirmLabel="Remove category"
        busy={removing.busy}
        onConfirm={() => remove().then((ok) => ok && refresh())}
        testId="delete-category"
      />
      <ErrorNote error={removing.error} testId="delete-category-error" />
    </div>
  );
}
