/**
 * Credentials inside URLs: a handler URL's password and the values of query parameters that
 * usually carry keys. Reads of handler URLs mask them (delivery uses the stored URL), and the
 * request log line redacts them from the requested URL.
 */

/** Query parameter names (compared case-insensitively, after percent-decoding) of credentials. */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'access_token',
  'api_key',
  'apikey',
  'key',
  'token',
]);

/** What replaces a credential in an API answer. */
export const URL_SECRET_MASK = '***';

/**
 * The URL with its password and secret query values replaced by `***`
 * (`http://user:***@host/p?token=***&page=2`). A URL with neither is returned as is; one with a
 * password comes back in its normalized (WHATWG) form.
 */
export function maskUrlSecrets(url: string): string {
  return maskQuerySecrets(maskPassword(url), URL_SECRET_MASK);
}

/**
 * Replaces the value of every secret query parameter of `url` (absolute, or a request's path and
 * query) by `mask`, leaving the rest of the text exactly as it was.
 */
export function maskQuerySecrets(url: string, mask: string): string {
  const queryStart = url.indexOf('?');
  const fragmentStart = url.indexOf('#');
  if (queryStart === -1 || (fragmentStart !== -1 && fragmentStart < queryStart)) return url;
  const queryEnd = fragmentStart === -1 ? url.length : fragmentStart;
  const query = url
    .slice(queryStart + 1, queryEnd)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1 || !isSecretParam(pair.slice(0, equals))) return pair;
      return `${pair.slice(0, equals)}=${mask}`;
    })
    .join('&');
  return `${url.slice(0, queryStart + 1)}${query}${url.slice(queryEnd)}`;
}

function maskPassword(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.password === '') return url;
  parsed.password = URL_SECRET_MASK;
  return parsed.href;
}

function isSecretParam(rawName: string): boolean {
  let name = rawName.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: compare the name as written.
  }
  return SECRET_QUERY_PARAMS.has(name.toLowerCase());
}
