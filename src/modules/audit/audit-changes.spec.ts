import { stringifyJson } from '../../common/lossless-json';
import { RawJson } from '../../common/raw-json';
import { auditChanges, REMOVED } from './audit-changes';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqr';

describe('auditChanges', () => {
  it('keeps the fields asked for, the secret as its mask and URL credentials masked', () => {
    const changes = auditChanges(
      {
        handler: 'http://user:pw@cb.example/hook?token=abc&page=2',
        eventsHandler: 'https://ev.example/in?api_key=k1',
        secret: SECRET,
        maxAttempts: 5,
      },
      undefined,
    );
    expect(changes).toStrictEqual({
      handler: 'http://user:***@cb.example/hook?token=***&page=2',
      eventsHandler: 'https://ev.example/in?api_key=***',
      secret: 'whsec_MfKQ…',
      maxAttempts: 5,
    });
    expect(JSON.stringify(changes)).not.toMatch(/pw@|abc|k1|9r8GKY/);
  });

  it('records a removed secret as null and anything else there as removed', () => {
    expect(auditChanges({ secret: null }, undefined)).toStrictEqual({ secret: null });
    expect(auditChanges({ secret: 'plain-text' }, undefined)).toStrictEqual({ secret: REMOVED });
  });

  it('keeps only the DTO fields when given: what validation kept', () => {
    const body = { handler: 'http://cb.example/x', password: 'hunter2', colour: 'blue' };
    expect(auditChanges(body, new Set(['handler']))).toStrictEqual({
      handler: 'http://cb.example/x',
    });
  });

  it('removes fields named like credentials even without a DTO', () => {
    const body = { apiKey: 'k', password: 'p', accessToken: 't', note: 'n' };
    expect(auditChanges(body, undefined)).toStrictEqual({
      apiKey: REMOVED,
      password: REMOVED,
      accessToken: REMOVED,
      note: 'n',
    });
  });

  it('turns nested RawJson into JSON values, exactly, with the same rules inside', () => {
    const changes = auditChanges(
      {
        circuitBreaker: new RawJson('{"failureThreshold":10,"cooldownMs":5000}'),
        rateLimit: new RawJson('{"perSecond":2.5,"burst":18446744073709551615}'),
        nested: new RawJson(`{"secret":"${SECRET}","url":"http://a.example/?key=zz"}`),
      },
      undefined,
    );
    expect(stringifyJson(changes)).toBe(
      '{"circuitBreaker":{"failureThreshold":10,"cooldownMs":5000},' +
        '"rateLimit":{"perSecond":2.5,"burst":18446744073709551615},' +
        '"nested":{"secret":"whsec_MfKQ…","url":"http://a.example/?key=***"}}',
    );
  });

  it('records an empty object for a request without a body', () => {
    expect(auditChanges(undefined, undefined)).toStrictEqual({});
    expect(auditChanges(null, new Set())).toStrictEqual({});
  });

  it('keeps a field named __proto__ as a field', () => {
    const body = JSON.parse('{"__proto__":{"a":1}}') as unknown;
    const changes = auditChanges(body, undefined);
    expect(Object.getPrototypeOf(changes)).toBe(Object.prototype);
    expect(stringifyJson(changes)).toBe('{"__proto__":{"a":1}}');
  });
});
