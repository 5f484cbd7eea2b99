import { parseApiJson } from '../lib/lossless-json';

type Fetch = (input: Request) => Promise<Response>;

/** Statuses whose Response may not carry a body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * openapi-fetch's `fetch` option: it reads the answer as text and gives openapi-fetch a Response
 * whose json() is parseApiJson (keys as exact decimal text, params verbatim). Content-Length is
 * set because openapi-fetch falls back to text() + JSON.parse when it is missing.
 */
export function losslessFetch(baseFetch: Fetch): Fetch {
  return async (input) => {
    const response = await baseFetch(input);
    const type = response.headers.get('Content-Type') ?? '';
    if (NULL_BODY_STATUSES.has(response.status) || !/\bjson\b/i.test(type)) return response;
    const text = await response.text();
    const headers = new Headers(response.headers);
    headers.delete('Content-Encoding');
    headers.set('Content-Length', String(new TextEncoder().encode(text).length));
    const copy = new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
    Object.defineProperty(copy, 'json', {
      value: () => Promise.resolve(text === '' ? undefined : parseApiJson(text)),
    });
    return copy;
  };
}
