import { UnauthorizedException } from '@nestjs/common';
import { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { hashApiKey, loadConfig } from '../config/load-config';
import {
  ApiKeyMiddleware,
  bearerToken,
  isOpenPath,
  UNAUTHORIZED_MESSAGE,
} from './api-key.middleware';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';

interface Outcome {
  /** Whether the middleware passed the request on. */
  passed: boolean;
  /** What it threw: a refusal, which Nest's exception filter answers. */
  error?: unknown;
  responseHeaders: Record<string, string>;
}

/** Runs the middleware on a request to `url` (Nest mounts it on `/{*path}`: req.url is `/`). */
function call(
  middleware: ApiKeyMiddleware,
  url: string,
  headers: Record<string, string> = {},
  complete = true,
): Outcome {
  const responseHeaders: Record<string, string> = {};
  const req = { originalUrl: url, url: '/', headers, complete } as unknown as Request;
  const res = {
    setHeader: (name: string, value: string) => (responseHeaders[name] = value),
  } as unknown as Response;
  let passed = false;
  try {
    middleware.use(req, res, () => (passed = true));
  } catch (error) {
    return { passed, error, responseHeaders };
  }
  return { passed, responseHeaders };
}

function middleware(overrides: Partial<AppConfig> = {}): ApiKeyMiddleware {
  return new ApiKeyMiddleware({
    ...loadConfig({}),
    apiKeyHashes: [hashApiKey(KEY), hashApiKey(OTHER_KEY)],
    ...overrides,
  });
}

const REFUSED = new UnauthorizedException(UNAUTHORIZED_MESSAGE);

describe('ApiKeyMiddleware', () => {
  it('lets everything through when no API keys are configured', () => {
    expect(call(middleware({ apiKeyHashes: [] }), '/task/a/1').passed).toBe(true);
  });

  it.each([KEY, OTHER_KEY])('accepts the configured key %s as a bearer token', (key) => {
    expect(call(middleware(), '/task/a/1', { authorization: `Bearer ${key}` }).passed).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['a wrong key', 'Bearer wrong-key-0123456789abcdef'],
    ['a key with one character changed', `Bearer ${KEY.slice(0, -1)}0`],
    ['the key without the scheme', KEY],
    ['another scheme', `Basic ${Buffer.from(`u:${KEY}`).toString('base64')}`],
    ['an empty bearer token', 'Bearer '],
  ])('refuses %s with a 401 and a WWW-Authenticate challenge', (_name, authorization) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const outcome = call(middleware(), '/task/a/1', headers);
    expect(outcome).toStrictEqual({
      passed: false,
      error: REFUSED,
      responseHeaders: { 'WWW-Authenticate': 'Bearer realm="delay-tasks"' },
    });
  });

  it('refuses unknown paths too, so that routes cannot be enumerated without a key', () => {
    expect(call(middleware(), '/no/such/route').error).toStrictEqual(REFUSED);
    expect(call(middleware(), '/').error).toStrictEqual(REFUSED);
  });

  it('closes the connection when it refuses a request whose body has not all arrived', () => {
    const headers = { 'content-length': '1048576' };
    const waiting = call(middleware(), '/task/a', headers, false);
    expect(waiting.error).toStrictEqual(REFUSED);
    expect(waiting.responseHeaders.Connection).toBe('close');
    const received = call(middleware(), '/task/a', headers, true);
    expect(received.error).toStrictEqual(REFUSED);
    expect(received.responseHeaders.Connection).toBeUndefined();
  });

  it('reads the path from originalUrl, without the query', () => {
    expect(call(middleware(), '/health/live?full=1').passed).toBe(true);
    expect(call(middleware(), '/task/a/1?x=/health').error).toStrictEqual(REFUSED);
  });

  it('keeps health, docs, the dashboard and (by default) metrics open', () => {
    for (const path of ['/health', '/health/live', '/docs', '/docs-json', '/ui/', '/metrics']) {
      expect(call(middleware(), path).passed).toBe(true);
    }
  });

  it('closes /metrics with METRICS_REQUIRE_AUTH', () => {
    const strict = middleware({ metricsRequireAuth: true });
    expect(call(strict, '/metrics').error).toStrictEqual(REFUSED);
    expect(call(strict, '/metrics', { authorization: `Bearer ${KEY}` }).passed).toBe(true);
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
    ['/ui', true],
    ['/ui/assets/index.js', true],
    ['/healthz', false],
    ['/docsx', false],
    ['/uix', false],
    ['/handler/health', false],
    ['/task/health/1', false],
    ['/metrics/x', false],
    ['/HEALTH', false],
    ['http://x/health', false],
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
