import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { Request, Response } from 'express';
import { AppConfig } from '../config/app-config';
import { hashApiKey, loadConfig } from '../config/load-config';
import {
  ApiKeyMiddleware,
  apiKeyIdOf,
  apiKeyIdOfHash,
  bearerToken,
  isOpenPath,
  READ_ONLY_MESSAGE,
  UNAUTHORIZED_MESSAGE,
} from './api-key.middleware';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';
const READER_KEY = 'reader-key-0123456789abcdef';

interface Outcome {
  /** Whether the middleware passed the request on. */
  passed: boolean;
  /** What it threw: a refusal, which Nest's exception filter answers. */
  error?: unknown;
  responseHeaders: Record<string, string>;
  /** The key id left for later code (apiKeyIdOf). */
  keyId: string | null;
}

/** Runs the middleware on a request to `url` (Nest mounts it on `/{*path}`: req.url is `/`). */
function call(
  middleware: ApiKeyMiddleware,
  url: string,
  headers: Record<string, string> = {},
  complete = true,
  method = 'POST',
): Outcome {
  const responseHeaders: Record<string, string> = {};
  const req = { method, originalUrl: url, url: '/', headers, complete } as unknown as Request;
  const res = {
    locals: {},
    setHeader: (name: string, value: string) => (responseHeaders[name] = value),
  } as unknown as Response;
  let passed = false;
  try {
    middleware.use(req, res, () => (passed = true));
  } catch (error) {
    return { passed, error, responseHeaders, keyId: apiKeyIdOf(res) };
  }
  return { passed, responseHeaders, keyId: apiKeyIdOf(res) };
}

function middleware(overrides: Partial<AppConfig> = {}): ApiKeyMiddleware {
  return new ApiKeyMiddleware({
    ...loadConfig({}),
    apiKeyHashes: [hashApiKey(KEY), hashApiKey(OTHER_KEY)],
    apiKeyReadonlyHashes: [hashApiKey(READER_KEY)],
    ...overrides,
  });
}

const REFUSED = new UnauthorizedException(UNAUTHORIZED_MESSAGE);

describe('ApiKeyMiddleware', () => {
  it('lets everything through when no API keys are configured', () => {
    const open = middleware({ apiKeyHashes: [], apiKeyReadonlyHashes: [] });
    expect(call(open, '/task/a/1')).toMatchObject({ passed: true, keyId: null });
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
      keyId: null,
    });
  });

  it('gives a request let through the id of its key: a SHA-256 prefix, never the key', () => {
    const outcome = call(middleware(), '/task/a/1', { authorization: `Bearer ${KEY}` });
    expect(outcome.keyId).toBe(hashApiKey(KEY).slice(0, 12));
    expect(outcome.keyId).toMatch(/^[0-9a-f]{12}$/);
    expect(apiKeyIdOfHash(hashApiKey(OTHER_KEY))).toBe(hashApiKey(OTHER_KEY).slice(0, 12));
  });

  it('leaves no key id on open paths', () => {
    const outcome = call(middleware(), '/health', { authorization: `Bearer ${KEY}` });
    expect(outcome).toMatchObject({ passed: true, keyId: null });
  });

  describe('read-only keys', () => {
    const reader = { authorization: `Bearer ${READER_KEY}` };
    const FORBIDDEN = new ForbiddenException(READ_ONLY_MESSAGE);

    it.each(['GET', 'HEAD'])('lets a read-only key %s, with its key id', (method) => {
      const outcome = call(middleware(), '/tasks', reader, true, method);
      expect(outcome).toMatchObject({ passed: true, keyId: hashApiKey(READER_KEY).slice(0, 12) });
    });

    it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
      'refuses a read-only key %s with a 403 naming the rule',
      (method) => {
        const outcome = call(middleware(), '/handler/a', reader, true, method);
        expect(outcome).toStrictEqual({
          passed: false,
          error: FORBIDDEN,
          responseHeaders: {
            'WWW-Authenticate': 'Bearer realm="delay-tasks", error="insufficient_scope"',
          },
          keyId: null,
        });
      },
    );

    it('closes the connection when it refuses a write whose body has not all arrived', () => {
      const headers = { ...reader, 'content-length': '1048576' };
      const waiting = call(middleware(), '/task/a', headers, false);
      expect(waiting.error).toStrictEqual(FORBIDDEN);
      expect(waiting.responseHeaders.Connection).toBe('close');
    });

    it('works with read-only keys alone: auth is on, nobody writes', () => {
      const readersOnly = middleware({ apiKeyHashes: [] });
      expect(call(readersOnly, '/tasks', {}, true, 'GET').error).toStrictEqual(REFUSED);
      expect(call(readersOnly, '/tasks', reader, true, 'GET').passed).toBe(true);
      expect(call(readersOnly, '/task/a', reader).error).toStrictEqual(FORBIDDEN);
    });

    it('still lets full-access keys write', () => {
      const outcome = call(middleware(), '/task/a', { authorization: `Bearer ${OTHER_KEY}` });
      expect(outcome.passed).toBe(true);
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
