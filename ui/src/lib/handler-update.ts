/**
 * The category edit form: its text fields, and the POST /handler/:cate body built from them,
 * holding the handler (always required) and only the settings the operator changed, so a setting
 * shown masked or left alone is never written back.
 */
export interface HandlerSettings {
  handler: string;
  maxAttempts: number | null;
  timeoutMs: number | null;
  concurrency: number | null;
  rateLimit: { perSecond: number; burst: number } | null;
  circuitBreaker: { failureThreshold: number; cooldownMs: number } | false;
  eventsHandler: string | null;
}

export interface HandlerFormValues {
  handler: string;
  maxAttempts: string;
  timeoutMs: string;
  concurrency: string;
  rateLimitPerSecond: string;
  rateLimitBurst: string;
  circuitBreakerOn: boolean;
  failureThreshold: string;
  cooldownMs: string;
  eventsHandler: string;
  secret: string;
  removeSecrets: boolean;
}

export interface HandlerUpdate {
  handler: string;
  maxAttempts?: number | null;
  timeoutMs?: number | null;
  concurrency?: number | null;
  rateLimit?: { perSecond: number; burst?: number } | null;
  circuitBreaker?: { failureThreshold?: number; cooldownMs?: number } | false | null;
  eventsHandler?: string | null;
  secret?: string | null;
}

const text = (n: number | null | undefined): string =>
  n === null || n === undefined ? '' : String(n);

export function formValuesOf(settings: HandlerSettings | null): HandlerFormValues {
  const cb = settings?.circuitBreaker;
  return {
    handler: settings?.handler ?? '',
    maxAttempts: text(settings?.maxAttempts),
    timeoutMs: text(settings?.timeoutMs),
    concurrency: text(settings?.concurrency),
    rateLimitPerSecond: text(settings?.rateLimit?.perSecond),
    rateLimitBurst: text(settings?.rateLimit?.burst),
    circuitBreakerOn: cb !== false,
    failureThreshold: cb ? String(cb.failureThreshold) : '',
    cooldownMs: cb ? String(cb.cooldownMs) : '',
    eventsHandler: settings?.eventsHandler ?? '',
    secret: '',
    removeSecrets: false,
  };
}

class FormError extends Error {}

/** '' → null (the service default); else a number, or a FormError naming the field. */
function numberField(label: string, value: string, integer: boolean): number | null {
  const v = value.trim();
  if (v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new FormError(`${label} must be ${integer ? 'a whole number' : 'a number'}.`);
  }
  return n;
}

export type HandlerUpdateResult = { body: HandlerUpdate } | { error: string };

export function buildHandlerUpdate(
  original: HandlerSettings | null,
  values: HandlerFormValues,
): HandlerUpdateResult {
  try {
    return { body: buildBody(original, values) };
  } catch (e) {
    if (e instanceof FormError) return { error: e.message };
    throw e;
  }
}

function buildBody(original: HandlerSettings | null, values: HandlerFormValues): HandlerUpdate {
  const handler = values.handler.trim();
  if (!/^https?:\/\/\S+$/i.test(handler)) {
    throw new FormError('Handler must be an absolute http:// or https:// URL.');
  }
  if (handler.includes('***')) {
    throw new FormError(
      'The handler URL is shown with its credentials masked (***): enter the full URL to save.',
    );
  }
  const body: HandlerUpdate = { handler };
  for (const [field, label] of [
    ['maxAttempts', 'Max attempts'],
    ['timeoutMs', 'Timeout'],
    ['concurrency', 'Concurrency'],
  ] as const) {
    const value = numberField(label, values[field], true);
    if (value !== (original?.[field] ?? null)) body[field] = value;
  }
  const rateLimit = rateLimitOf(values);
  if (rateLimitChanged(original?.rateLimit ?? null, rateLimit)) body.rateLimit = rateLimit;
  const circuitBreaker = circuitBreakerOf(original, values);
  if (circuitBreaker !== undefined) body.circuitBreaker = circuitBreaker;
  const eventsHandler = values.eventsHandler.trim() || null;
  if (eventsHandler !== (original?.eventsHandler ?? null)) body.eventsHandler = eventsHandler;
  if (values.removeSecrets) body.secret = null;
  else if (values.secret.trim()) body.secret = values.secret.trim();
  return body;
}

function rateLimitOf(values: HandlerFormValues): HandlerUpdate['rateLimit'] {
  const perSecond = numberField('Rate limit per second', values.rateLimitPerSecond, false);
  const burst = numberField('Burst', values.rateLimitBurst, true);
  if (perSecond === null) {
    if (burst !== null) throw new FormError('Burst needs a rate limit per second.');
    return null;
  }
  return burst === null ? { perSecond } : { perSecond, burst };
}

function rateLimitChanged(
  before: HandlerSettings['rateLimit'],
  after: HandlerUpdate['rateLimit'],
): boolean {
  if (!before || !after) return before !== after;
  if (before.perSecond !== after.perSecond) return true;
  return after.burst !== undefined && after.burst !== before.burst;
}

/** The circuitBreaker member to send, or undefined when unchanged. */
function circuitBreakerOf(
  original: HandlerSettings | null,
  values: HandlerFormValues,
): HandlerUpdate['circuitBreaker'] | undefined {
  const before = original ? original.circuitBreaker : null;
  if (!values.circuitBreakerOn) return before === false ? undefined : false;
  const failureThreshold = numberField('Failure threshold', values.failureThreshold, true);
  const cooldownMs = numberField('Cooldown', values.cooldownMs, true);
  if (before && failureThreshold === before.failureThreshold && cooldownMs === before.cooldownMs) {
    return undefined;
  }
  if (failureThreshold === null && cooldownMs === null) {
    // Both empty: the defaults (null), unless it already runs on them.
    return before === null ? undefined : null;
  }
  const settings: { failureThreshold?: number; cooldownMs?: number } = {};
  if (failureThreshold !== null) settings.failureThreshold = failureThreshold;
  if (cooldownMs !== null) settings.cooldownMs = cooldownMs;
  return settings;
}
