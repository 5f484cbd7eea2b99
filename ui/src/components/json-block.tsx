import { toDisplayJson } from '../lib/lossless-json';

/** JSON as sent by the service (see parseApiJson), pretty-printed, big integers intact. */
export function JsonBlock({
  value,
  label,
  testId,
}: {
  value: unknown;
  label: string;
  testId?: string;
}) {
  return (
    <pre class="json" data-testid={testId} aria-label={label} tabIndex={0}>
      <code>{toDisplayJson(value)}</code>
    </pre>
  );
}
