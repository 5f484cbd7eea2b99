import type { Attempt } from '../api/calls';
import { ShortTime } from '../components/times';
import { formatMs } from '../lib/format';

/** A key's attempts, newest first, as an ordered timeline. */
export function AttemptsTimeline({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) {
    return (
      <p class="note" data-testid="attempts-empty">
        No delivery attempts recorded for this key.
      </p>
    );
  }
  return (
    <ol class="timeline" data-testid="attempts-timeline">
      {attempts.map((a) => (
        <li
          key={`${a.deliveryId}-${a.attempt}-${a.startedAt}`}
          class={a.outcome === 'success' ? 'ok' : 'failed'}
          data-testid="attempt-item"
        >
          <div class="timeline-head">
            <ShortTime iso={a.startedAt} />
            <span class={`tag outcome-${a.outcome}`}>{a.outcome}</span>
            <span>attempt {a.attempt}</span>
            <span>status {a.statusCode ?? '—'}</span>
            <span>{formatMs(a.durationMs)}</span>
          </div>
          {a.error ? <p class="timeline-error">{a.error}</p> : null}
          <p class="timeline-id">
            delivery <code>{a.deliveryId}</code>
          </p>
        </li>
      ))}
    </ol>
  );
}
