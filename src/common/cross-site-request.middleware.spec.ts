import { ForbiddenException } from '@nestjs/common';
import { Request, Response } from 'express';
import { loadConfig } from '../config/load-config';
import {
  CROSS_SITE_MESSAGE,
  CrossSiteRequestMiddleware,
  isCrossSiteRequest,
  RequestOrigin,
} from './cross-site-request.middleware';

const ALLOWED = new Set(['https://dash.example.com']);

function request(
  method: string,
  headers: RequestOrigin['headers'],
  protocol = 'http',
): RequestOrigin {
  return { method, protocol, headers: { host: 'tasks.internal:7080', ...headers } };
}

describe('isCrossSiteRequest', () => {
  it.each([
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['an Origin of another port of the same host', { origin: 'http://tasks.internal:8080' }],
    ['an Origin of the same host over another scheme', { origin: 'https://tasks.internal:7080' }],
    ['the opaque Origin null', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    [
      'Sec-Fetch-Site: cross-site with the own Origin',
      { origin: 'http://tasks.internal:7080', 'sec-fetch-site': 'cross-site' },
    ],
    [
      'Sec-Fetch-Site: same-site from another origin',
      { origin: 'http://other.internal:7080', 'sec-fetch-site': 'same-site' },
    ],
  ])('refuses a POST with %s', (_name, headers) => {
    expect(isCrossSiteRequest(request('POST', headers), ALLOWED)).toBe(true);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'])('applies to %s', (method) => {
    expect(isCrossSiteRequest(request(method, { origin: 'https://evil.example' }), ALLOWED)).toBe(
      true,
    );
  });

  it.each([
    ['no Origin (curl, servers)', {}],
    ['the own origin', { origin: 'http://tasks.internal:7080' }],
    [
      'the own origin, Host in capitals',
      { origin: 'http://tasks.internal:7080', host: 'TASKS.internal:7080' },
    ],
    ['an allowed origin', { origin: 'https://dash.example.com' }],
    [
      'an allowed origin that the browser calls cross-site',
      { origin: 'https://dash.example.com', 'sec-fetch-site': 'cross-site' },
    ],
    [
      'Sec-Fetch-Site: same-origin (https page, http behind a proxy)',
      { origin: 'https://tasks.internal:7080', 'sec-fetch-site': 'same-origin' },
    ],
  ])('lets a POST with %s through', (_name, headers) => {
    expect(isCrossSiteRequest(request('POST', headers), ALLOWED)).toBe(false);
  });

  it('compares the own origin with default ports left out', () => {
    const req = request(
      'POST',
      { origin: 'https://tasks.internal', host: 'tasks.internal:443' },
      'https',
    );
    expect(isCrossSiteRequest(req, ALLOWED)).toBe(false);
  });

  it.each(['GET', 'HEAD', 'OPTIONS'])('never refuses %s, which changes nothing', (method) => {
    const headers = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' as const };
    expect(isCrossSiteRequest(request(method, headers), ALLOWED)).toBe(false);
  });

  it('refuses an Origin when the request has no Host to compare it with', () => {
    const req = { method: 'POST', protocol: 'http', headers: { origin: 'http://tasks.internal' } };
    expect(isCrossSiteRequest(req, ALLOWED)).toBe(true);
  });
});

describe('CrossSiteRequestMiddleware', () => {
  const middleware = new CrossSiteRequestMiddleware({
    ...loadConfig({}),
    allowedOrigins: ['https://dash.example.com'],
  });

  function use(headers: Record<string, string>, complete: boolean) {
    const responseHeaders: Record<string, string> = {};
    const req = { method: 'POST', protocol: 'http', headers, complete } as unknown as Request;
    const res = {
      setHeader: (name: string, value: string) => (responseHeaders[name] = value),
    } as unknown as Response;
    let passed = false;
    const run = () => middleware.use(req, res, () => (passed = true));
    return { run, responseHeaders, passed: () => passed };
  }

  it('refuses with a 403, closing a connection whose body is still to come', () => {
    const headers = { host: 'h', origin: 'https://evil.example', 'content-length': '1048576' };
    const call = use(headers, false);
    expect(call.run).toThrow(new ForbiddenException(CROSS_SITE_MESSAGE));
    expect(call.responseHeaders).toStrictEqual({ Connection: 'close' });
  });

  it('passes an allowed request on', () => {
    const call = use({ host: 'h', origin: 'https://dash.example.com' }, true);
    call.run();
    expect(call.passed()).toBe(true);
  });
});
