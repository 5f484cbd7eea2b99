import { AttemptOutcome } from '../tasks/tasks.types';

/** What one delivery attempt came to, as data (the callback client never throws). */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfter?: string; body: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'connection_error'; message: string }
  | { kind: 'blocked'; message: string }
  | { kind: 'no_handler' }
  | { kind: 'error'; message: string }
  /** The replica holding the claim stopped or lost the database (found by the sweeper). */
  | { kind: 'lease_expired'; owner: string | null };

/** What the dispatcher records for the attempt. */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'retry'; delayMs: number; error: string }
  | { kind: 'fail'; error: string }
  /** The receiver asked to be called again later (425 + Retry-After): no attempt spent. */
  | { kind: 'snooze'; delayMs: number; error: string };

/** Snoozes allowed per occurrence; the next 425 counts as a failed attempt. */
export const MAX_SNOOZES = 100;
/** Longest snooze honoured: the receiver names the time, within a day. */
export const MAX_SNOOZE_MS = 86_400_000;

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  /** Cap on any delay, computed or asked for with Retry-After. */
  maxDelayMs: number;
  /**
   * Bytes of a failed response's body kept in the error (CAPTURE_RESPONSE_BYTES); API clients
   * read it in lastError and the attempt history. 0 keeps only the status.
   */
  captureResponseBytes: number;
}

const MAX_ERROR_LENGTH = 500;

/**
 * Success is any 2xx. The receiver steers with two answers: 410 Gone ends the task at once
 * (failed, no more attempts); 425 Too Early with a valid Retry-After snoozes it until then
 * without spending an attempt (up to MAX_SNOOZES per occurrence; `snoozes` is how many it had).
 * Everything else is retried with backoff until attempts run out.
 */
export function decideOutcome(
  result: AttemptResult,
  attempt: number,
  policy: RetryPolicy,
  options: { random?: () => number; nowMs?: number; snoozes?: number } = {},
): Outcome {
  if (result.kind === 'response' && result.status >= 200 && result.status < 300) {
    return { kind: 'ok' };
  }
  const error = describeFailure(result, policy.captureResponseBytes);
  if (result.kind === 'response' && result.status === 410) {
    return { kind: 'fail', error: `${error} (410 Gone: the receiver ended the task)` };
  }
  if (result.kind === 'response' && result.status === 425 && (options.snoozes ?? 0) < MAX_SNOOZES) {
    const requested = retryAfterMs(result, options.nowMs ?? Date.now());
    if (requested !== undefined) {
      return { kind: 'snooze', delayMs: Math.min(requested, MAX_SNOOZE_MS), error };
    }
  }
  if (attempt >= policy.maxAttempts) return { kind: 'fail', error };
  // Retry-After is a floor ("not before"), so it can lengthen the backoff but never shorten it.
  const backoff = backoffDelayMs(attempt, policy, options.random ?? Math.random);
  const requested = retryAfterMs(result, options.nowMs ?? Date.now()) ?? 0;
  return {
    kind: 'retry',
    delayMs: Math.min(Math.max(backoff, requested), policy.maxDelayMs),
    error,
  };
}

/**
 * Exponential backoff with "equal jitter": base·2^(attempt−1), of which the upper half is random.
 * Never zero, so retries are never back-to-back; capped at maxDelayMs.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(exponential, policy.maxDelayMs);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** Retry-After (delta seconds or HTTP date) of a 425, 429 or 503, in ms from now; else undefined. */
export function retryAfterMs(result: AttemptResult, nowMs: number): number | undefined {
  if (result.kind !== 'response' || ![425, 429, 503].includes(result.status)) {
    return undefined;
  }
  const header = result.retryAfter?.trim();
  if (!header) return undefined;
  if (/^\d+$/.test(header)) return Number(header) * 1000;
  // Every HTTP-date form starts with a day name. Date.parse alone would take "-1" or "1.5" for
  // dates in 2001 and so retry back-to-back; such values fall back to the backoff instead.
  if (!/^[A-Za-z]{3}/.test(header)) return undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The error recorded for a failed attempt: `HTTP 503: <start of the body>` with at most
 * `captureResponseBytes` of the body (none with 0), or the kind of failure and its cause.
 */
export function describeFailure(result: AttemptResult, captureResponseBytes: number): string {
  switch (result.kind) {
    case 'response': {
      const body = truncateUtf8(result.body, captureResponseBytes).replace(/\s+/g, ' ').trim();
      return truncate(`HTTP ${result.status}${body ? `: ${body}` : ''}`);
    }
    case 'timeout':
      return `timeout: no response within ${result.timeoutMs} ms`;
    case 'connection_error':
      return truncate(`connection error: ${result.message}`);
    case 'blocked':
      return truncate(`blocked: ${result.message}`);
    case 'no_handler':
      return 'no handler: the task has none and its category has no handler registered';
    case 'error':
      return truncate(`delivery error: ${result.message}`);
    case 'lease_expired':
      return truncate(
        `lease expired: the delivering replica${result.owner ? ` ${result.owner}` : ''} stopped or lost the database`,
      );
  }
}

/** The bounded label of an attempt's result, for history rows and metrics. */
export function attemptOutcome(result: AttemptResult): AttemptOutcome {
  switch (result.kind) {
    case 'response':
      if (result.status >= 200 && result.status < 300) return 'success';
      if (result.status === 410) return 'gone';
      if (result.status >= 400 && result.status < 500) return 'http_4xx';
      if (result.status >= 500 && result.status < 600) return 'http_5xx';
      return 'http_other';
    case 'timeout':
    case 'connection_error':
    case 'blocked':
    case 'no_handler':
    case 'error':
    case 'lease_expired':
      return result.kind;
  }
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/** The first `bytes` bytes of `text` in UTF-8, without a character cut in half. */
export function truncateUtf8(text: string, bytes: number): string {
  // Up to `bytes` characters hold at least `bytes` bytes: only those need measuring.
  const head = text.slice(0, bytes).replace(/[\uD800-\uDBFF]$/, '');
  const encoded = Buffer.from(head, 'utf8');
  if (encoded.length <= bytes) return head;
  // A multi-byte character cut at the end decodes as U+FFFD: drop it.
  return encoded
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** The service-wide retry policy from the configuration (a category may lower maxAttempts). */
export function retryPolicyOf(config: {
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  captureResponseBytes: number;
}): RetryPolicy {
  return {
    maxAttempts: config.maxAttempts,
    baseDelayMs: config.retryBaseDelayMs,
    maxDelayMs: config.retryMaxDelayMs,
    captureResponseBytes: config.captureResponseBytes,
  };
}
