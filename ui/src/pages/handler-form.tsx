import { useState } from 'preact/hooks';
import { registerHandler, type Handler } from '../api/calls';
import { ErrorNote } from '../components/status';
import { useAction } from '../hooks/use-action';
import {
  buildHandlerUpdate,
  formValuesOf,
  type HandlerFormValues,
  type HandlerSettings,
} from '../lib/handler-update';

type TextField = Exclude<keyof HandlerFormValues, 'circuitBreakerOn' | 'removeSecrets'>;

const settingsOf = (h: Handler): HandlerSettings => ({
  handler: h.handler,
  maxAttempts: h.maxAttempts,
  timeoutMs: h.timeoutMs,
  concurrency: h.concurrency,
  rateLimit: h.rateLimit,
  circuitBreaker: h.circuitBreaker,
  eventsHandler: h.eventsHandler,
});

/** POST /handler/:cate with the handler and only the settings changed here. */
export function HandlerForm({
  cate,
  handler,
  onDone,
}: {
  cate: string;
  handler: Handler | null;
  onDone: (saved: boolean) => void;
}) {
  const original = handler ? settingsOf(handler) : null;
  const [values, setValues] = useState(() => formValuesOf(original));
  const [problem, setProblem] = useState<string | null>(null);
  const [save, saving] = useAction((body: Parameters<typeof registerHandler>[1]) =>
    registerHandler(cate, body),
  );

  const set = (field: keyof HandlerFormValues, value: string | boolean) =>
    setValues((v) => ({ ...v, [field]: value }));
  const text = (field: TextField, label: string, hint: string, type = 'text') => (
    <div class="field">
      <label for={`settings-${field}`}>{label}</label>
      <input
        id={`settings-${field}`}
        type={type}
        value={values[field]}
        onInput={(e) => set(field, e.currentTarget.value)}
        aria-describedby={`settings-${field}-hint`}
        autoComplete="off"
        spellcheck={false}
        data-testid={`settings-${kebab(field)}`}
      />
      <span id={`settings-${field}-hint`} class="hint">
        {hint}
      </span>
    </div>
  );
  const submit = (e: Event) => {
    e.preventDefault();
    const built = buildHandlerUpdate(original, values);
    if ('error' in built) {
      setProblem(built.error);
      return;
    }
    setProblem(null);
    void save(built.body).then((ok) => ok && onDone(true));
  };
  return (
    <form class="form settings-form" onSubmit={submit} data-testid="settings-form">
      {handler?.handler.includes('***') ? (
        <p class="note">
          The handler URL shows its credentials masked (***): enter the full URL to save.
        </p>
      ) : null}
      {text('handler', 'Handler URL (required)', 'Absolute http:// or https:// URL.', 'url')}
      {text('maxAttempts', 'Max attempts', '1–100; empty: the service default (MAX_ATTEMPTS).')}
      {text('timeoutMs', 'Timeout (ms)', '100–600000; empty: the service default.')}
      {text('concurrency', 'Concurrency per replica', '1–10000; empty: no cap.')}
      <fieldset>
        <legend>Rate limit</legend>
        {text('rateLimitPerSecond', 'Per second', '0.01–100000; empty: no limit.')}
        {text('rateLimitBurst', 'Burst', '1–100000; empty: max(1, ⌊per second⌋).')}
      </fieldset>
      <fieldset>
        <legend>Circuit breaker</legend>
        <div class="field field-check">
          <input
            id="settings-circuitBreakerOn"
            type="checkbox"
            checked={values.circuitBreakerOn}
            onChange={(e) => set('circuitBreakerOn', e.currentTarget.checked)}
            data-testid="settings-circuit-breaker-on"
          />
          <label for="settings-circuitBreakerOn">On</label>
        </div>
        {values.circuitBreakerOn ? (
          <>
            {text(
              'failureThreshold',
              'Failure threshold',
              '1–100000 consecutive failed attempts; empty: 20.',
            )}
            {text('cooldownMs', 'Cooldown (ms)', '100–600000; empty: 30000.')}
          </>
        ) : null}
      </fieldset>
      {text(
        'eventsHandler',
        'Events handler URL',
        'Receives task.failed and circuit events; empty: none.',
        'url',
      )}
      <fieldset>
        <legend>Signing secret</legend>
        {text(
          'secret',
          'New secret',
          'whsec_… ; signs alongside the current one (rotation). Empty: unchanged.',
          'password',
        )}
        <div class="field field-check">
          <input
            id="settings-removeSecrets"
            type="checkbox"
            checked={values.removeSecrets}
            onChange={(e) => set('removeSecrets', e.currentTarget.checked)}
            data-testid="settings-remove-secrets"
          />
          <label for="settings-removeSecrets">Remove all secrets (deliveries unsigned)</label>
        </div>
      </fieldset>
      <ErrorNote error={problem ?? saving.error} testId="settings-error" />
      <div class="actions">
        <button
          type="submit"
          class="button button-primary"
          disabled={saving.busy}
          data-testid="settings-save"
        >
          Save
        </button>
        <button
          type="button"
          class="button"
          onClick={() => onDone(false)}
          data-testid="settings-cancel"
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
