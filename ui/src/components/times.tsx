import { formatClock, formatLocal, formatUtc, unixToDate } from '../lib/format';

/** A moment in UTC and in the browser's time zone. */
export function UtcAndLocal({ date, testId }: { date: Date; testId?: string }) {
  return (
    <span class="when" data-testid={testId}>
      <time dateTime={date.toISOString()}>{formatUtc(date)}</time>
      <span class="when-local">{formatLocal(date)}</span>
    </span>
  );
}

export function UnixTime({ seconds, testId }: { seconds: number; testId?: string }) {
  return <UtcAndLocal date={unixToDate(seconds)} testId={testId} />;
}

/** A short timestamp with the full UTC time on hover and for assistive technology. */
export function ShortTime({ iso }: { iso: string }) {
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={formatUtc(date)}>
      {formatUtc(date).replace(' UTC', '')}
    </time>
  );
}

/** "as of 17:13:09": when shown data was taken. */
export function AsOf({
  date,
  stale,
  testId,
}: {
  date: Date | null;
  stale: boolean;
  testId: string;
}) {
  if (!date) return null;
  return (
    <span class={stale ? 'as-of as-of-stale' : 'as-of'} data-testid={testId}>
      {stale ? 'not current: taken at ' : 'as of '}
      <time dateTime={date.toISOString()}>{formatClock(date)}</time>
    </span>
  );
}
