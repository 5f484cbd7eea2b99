import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { hashApiKey, loadConfig } from '../config/load-config';
import { ApiKeyGuard, bearerToken, isOpenPath, UNAUTHORIZED_MESSAGE } from './api-key.guard';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';

interface FakeHttp {
  context: ExecutionContext;
  responseHeaders: Record<string, string>;
}

function httpContext(path: string, authorization?: string): FakeHttp {
  const responseHeaders: Record<string, string> = {};
  const req = { path, headers: authorization === undefined ? {} : { authorization } };
  const res = { setHeader: (name: string, value: string) => (responseHeaders[name] = value) };
  const context = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
  return { context, responseHeaders };
}

function guard(overrides: Partial<AppConfig> = {}): ApiKeyGuard {
  return new ApiKeyGuard({
    ...loadConfig({}),
    apiKeyHashes: [hashApiKey(KEY), hashApiKey(OTHER_KEY)],
    ...overrides,
  });
}

describe('ApiKeyGuard', () => {
  it('lets everything through when no API keys are configured', () => {
    expect(guard({ apiKeyHashes: [] }).canActivate(httpContext('/task/a/1').context)).toBe(true);
  });

  it.each([KEY, OTHER_KEY])('accepts the configured key %s as a bearer token', (key) => {
    expect(guard().canActivate(httpContext('/task/a/1', `Bearer ${key}`).context)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['a wrong key', 'Bearer wrong-key-0123456789abcdef'],
    ['a key with one character changed', `Bearer ${KEY.slice(0, -1)}0`],
    ['the key without the scheme', KEY],
    ['another scheme', `Basic ${Buffer.from(`u:${KEY}`).toString('base64')}`],
    ['an empty bearer token', 'Bearer '],
  ])('refuses %s with a 401 and a WWW-Authenticate challenge', (_name, authorization) => {
    const { context, responseHeaders } = httpContext('/task/a/1', authorization);
    expect(() => guard().canActivate(context)).toThrow(
      new UnauthorizedException(UNAUTHORIZED_MESSAGE),
    );
    expect(responseHeaders).toStrictEqual({ 'WWW-Authenticate': 'Bearer realm="delay-tasks"' });
  });

  it('keeps health, docs and (by default) metrics open', () => {
    for (const path of ['/health', '/health/live', '/health/ready', '/docs', '/docs-json']) {
      expect(guard().canActivate(httpContext(path).context)).toBe(true);
    }
    expect(guard().canActivate(httpContext('/metrics').context)).toBe(true);
  });

  it('closes /metrics with METRICS_REQUIRE_AUTH', () => {
    const strict = guard({ metricsRequireAuth: true });
    expect(() => strict.canActivate(httpContext('/metrics').context)).toThrow(
      UnauthorizedException,
    );
    expect(strict.canActivate(httpContext('/metrics', `Bearer ${KEY}`).context)).toBe(true);
  });
});

describe('isOpenPath', () => {
  it.each([
    ['/health', true],
    ['/health/ready', true],
    ['/docs', true],
    ['/docs/swagger-ui.css', true],
    ['/docs-json', true],
    ['/docs-yaml', true],
    ['/metrics', true],
    ['/healthz', false],
    ['/docsx', false],
    ['/handler/health', false],
    ['/task/health/1', false],
    ['/metrics/x', false],
  ])('%s is open: %s', (path, open) => {
    expect(isOpenPath(path, false)).toBe(open);
  });

  it('treats /metrics as protected when metrics require auth', () => {
    expect(isOpenPath('/metrics', true)).toBe(false);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.DEF-123_~+/==', 'abc.DEF-123_~+/=='],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Bearer a b', undefined],
    ['Bearerabc', undefined],
    ['Token abc', undefined],
    [undefined, undefined],
  ])('reads %p as %p', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
