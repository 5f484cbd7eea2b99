import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/client';
import { formatClock } from '../lib/format';

/** An error in words, announced to screen readers. */
export function ErrorNote({ error, testId }: { error: string | null; testId?: string }) {
  if (!error) return null;
  return (
    <p class="note note-error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}

/** A loaded block's state: loading, failed (with when its data was taken), or nothing. */
export function LoadState({
  loading,
  error,
  takenAt,
  hasData,
  testId,
}: {
  loading: boolean;
  error: ApiError | null;
  takenAt: Date | null;
  hasData: boolean;
  testId?: string;
}) {
  if (error) {
    return (
      <p class="note note-error" role="alert" data-testid={testId}>
        {error.message}
        {hasData && takenAt ? ` Showing what was taken at ${formatClock(takenAt)}.` : ''}
      </p>
    );
  }
  if (loading && !hasData) return <p class="note">Loading…</p>;
  return null;
}

export function Section({
  title,
  id,
  children,
  actions,
}: {
  title: string;
  id: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="panel" aria-labelledby={`${id}-title`}>
      <div class="panel-head">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}
