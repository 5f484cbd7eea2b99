import { useState } from 'preact/hooks';

/**
 * A destructive action in two steps: the button asks, then "Confirm" does it. Test ids: the
 * button `testId`, then `<testId>-confirm` and `<testId>-cancel`.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  busy,
  testId,
  danger = true,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<unknown>;
  busy: boolean;
  testId: string;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class={danger ? 'button button-danger' : 'button'}
        data-testid={testId}
        disabled={busy}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span class="confirm-question">{question}</span>
      <button
        type="button"
        class={danger ? 'button button-danger' : 'button button-primary'}
        data-testid={`${testId}-confirm`}
        disabled={busy}
        onClick={() => {
          setAsking(false);
          void onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button
        type="button"
        class="button"
        data-testid={`${testId}-cancel`}
        onClick={() => setAsking(false)}
      >
        Cancel
      </button>
    </span>
  );
}
