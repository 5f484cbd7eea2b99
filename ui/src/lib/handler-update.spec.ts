import { buildHandlerUpdate, formValuesOf, type HandlerSettings } from './handler-update';

const current: HandlerSettings = {
  handler: 'http://10.0.0.5:8080/hooks/orders',
  maxAttempts: 5,
  timeoutMs: null,
  concurrency: 20,
  rateLimit: { perSecond: 50, burst: 50 },
  circuitBreaker: { failureThreshold: 20, cooldownMs: 30000 },
  eventsHandler: 'http://u:***@10.0.0.5/events',
};

const build = (patch: Partial<ReturnType<typeof formValuesOf>>, original = current) =>
  buildHandlerUpdate(original, { ...formValuesOf(original), ...patch });

describe('buildHandlerUpdate', () => {
  it('sends only the handler when nothing changed (masked URLs are not written back)', () => {
    expect(build({})).toEqual({ body: { handler: current.handler } });
  });

  it('sends changed fields, empty meaning the service default (null)', () => {
    expect(build({ maxAttempts: '', timeoutMs: '2000', concurrency: '20' })).toEqual({
      body: { handler: current.handler, maxAttempts: null, timeoutMs: 2000 },
    });
  });

  it('sends the rate limit when changed, burst only when given', () => {
    expect(build({ rateLimitPerSecond: '10', rateLimitBurst: '' })).toEqual({
      body: { handler: current.handler, rateLimit: { perSecond: 10 } },
    });
    expect(build({ rateLimitBurst: '5' })).toEqual({
      body: { handler: current.handler, rateLimit: { perSecond: 50, burst: 5 } },
    });
    expect(build({ rateLimitPerSecond: '', rateLimitBurst: '' })).toEqual({
      body: { handler: current.handler, rateLimit: null },
    });
    expect(build({ rateLimitPerSecond: '', rateLimitBurst: '3' })).toEqual({
      error: 'Burst needs a rate limit per second.',
    });
  });

  it('turns the circuit breaker off, resets it, or changes one field', () => {
    expect(build({ circuitBreakerOn: false })).toEqual({
      body: { handler: current.handler, circuitBreaker: false },
    });
    expect(build({ failureThreshold: '', cooldownMs: '' })).toEqual({
      body: { handler: current.handler, circuitBreaker: null },
    });
    expect(build({ cooldownMs: '5000' })).toEqual({
      body: {
        handler: current.handler,
        circuitBreaker: { failureThreshold: 20, cooldownMs: 5000 },
      },
    });
    const off = { ...current, circuitBreaker: false as const };
    expect(build({}, off)).toEqual({ body: { handler: current.handler } });
    expect(build({ circuitBreakerOn: true }, off)).toEqual({
      body: { handler: current.handler, circuitBreaker: null },
    });
  });

  it('sets, keeps or removes secrets and the events handler', () => {
    expect(build({ secret: 'whsec_abc' })).toEqual({
      body: { handler: current.handler, secret: 'whsec_abc' },
    });
    expect(build({ secret: 'whsec_abc', removeSecrets: true })).toEqual({
      body: { handler: current.handler, secret: null },
    });
    expect(build({ eventsHandler: '' })).toEqual({
      body: { handler: current.handler, eventsHandler: null },
    });
  });

  it('sends only non-default settings for a new category', () => {
    expect(
      buildHandlerUpdate(null, { ...formValuesOf(null), handler: 'https://h/x', maxAttempts: '3' }),
    ).toEqual({ body: { handler: 'https://h/x', maxAttempts: 3 } });
  });

  it('refuses a missing or masked handler and non-numbers', () => {
    expect(build({ handler: '' })).toHaveProperty('error');
    expect(build({ handler: 'ftp://x' })).toHaveProperty('error');
    expect(build({ handler: 'http://u:***@h/x' })).toEqual({
      error: expect.stringContaining('masked') as unknown,
    });
    expect(build({ maxAttempts: '2.5' })).toEqual({
      error: 'Max attempts must be a whole number.',
    });
    expect(build({ rateLimitPerSecond: 'fast' })).toEqual({
      error: 'Rate limit per second must be a number.',
    });
  });
});
