/**
 * fast-check arbitraries of hostile HTTP input for the API fuzz test: paths filled from the
 * app's route templates, query strings, headers and bodies (JSON text written by hand so that
 * big integers, duplicate keys and broken documents can be expressed).
 */
import fc from 'fast-check';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Route {
  method: string;
  /** Express path template, e.g. `/task/:cate/:key`. */
  path: string;
}

const nowS = Math.floor(Date.now() / 1000);

/** Characters Node's HTTP client lets through in a path (0x21–0xff) that do not end it. */
const LATIN1_PATH_CHARS = Array.from({ length: 0xff - 0x21 + 1 }, (_, i) =>
  String.fromCharCode(i + 0x21),
)
  .filter((c) => !'/?#'.includes(c))
  .join('');
/** The printable ASCII among them; the rest Node's parser refuses before the app sees it. */
const PATH_CHARS = LATIN1_PATH_CHARS.replace(/[^\x21-\x7e]/g, '');
/** Characters Node's HTTP client lets through in a header value. */
const HEADER_CHARS = `\t${Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(i + 0x20)).join('')}\u00e9\u00ff`;

const fromChars = (chars: string, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...chars), maxLength });

const validCate = fc.constantFrom('fz', 'fz.other', 'a:b-c_d', 'x'.repeat(128));
const validKey = fc.oneof(
  fc.constantFrom('1', '2', '18446744073709551615', '9007199254740993'),
  fc.bigInt(1n, 2n ** 64n - 1n).map(String),
);

/** One path segment: valid names and keys, encoded text, raw bytes, broken percent-escapes. */
const segment = fc.oneof(
  { arbitrary: validCate, weight: 4 },
  { arbitrary: validKey, weight: 4 },
  fc.bigInt(-(2n ** 70n), 2n ** 70n).map(String),
  fc.constantFrom('0', '-1', '1.5', '1e3', '0x10', '%201', '1%00', 'NaN', 'Infinity', '..', '.'),
  fc.constantFrom('%', '%Z', '%E0%A4', '%C0%AF', '%00', '%FF%FE', '%2F', '%2e%2e', '%u0041'),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  { arbitrary: fromChars(PATH_CHARS, 40).filter((s) => s.length > 0), weight: 2 },
  fromChars(LATIN1_PATH_CHARS, 10).filter((s) => s.length > 0),
  fc.constantFrom('a'.repeat(129), 'a'.repeat(5000), '9'.repeat(400)),
);

/** A route's template with its parameters filled, sometimes with a tail or a trailing slash. */
function pathFor(template: string) {
  const names = template.match(/:\w+|\{?\*\w+\}?/g) ?? [];
  return fc
    .tuple(
      fc.array(segment, { minLength: names.length, maxLength: names.length }),
      fc.constantFrom('', '', '', '/', '/extra', '//', '/%00'),
    )
    .map(([values, tail]) => {
      let i = 0;
      return template.replace(/:\w+|\{?\*\w+\}?/g, () => values[i++]) + tail;
    });
}

const randomPath = fc.oneof(
  fc.array(segment, { minLength: 0, maxLength: 5 }).map((s) => `/${s.join('/')}`),
  fc.constantFrom('/', '//', '/task', '/task/', '/tasks/', '/handler', '/docs', '/docs-json'),
);

const queryKey = fc.oneof(
  fc.constantFrom('cate', 'state', 'limit', 'cursor', 'timestamp', 'key', 'before', 'exec'),
  fc.constantFrom('limit[]', 'cate[a]', '__proto__', 'constructor', '', '%ZZ'),
  fromChars(PATH_CHARS.replace(/[&=]/g, ''), 12),
);
const queryValue = fc.oneof(
  segment,
  fc.constantFrom('', '0', '-1', '1001', '100', 'pending', 'failed', 'running', 'true', '%ZZ'),
  fc.constantFrom('eyJpZCI6IjEifQ', 'MTIz', '!!!', 'a'.repeat(3000), String(nowS + 60)),
);
const query = fc
  .array(fc.tuple(queryKey, queryValue), { maxLength: 5 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

/** JSON text of values meant to break validators; a few are valid. */
const nastyJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', '1e3', '1e400', '-0', '1E-7', 'null', 'true', 'false'),
  fc.constantFrom('18446744073709551615', '18446744073709551616', '9'.repeat(60), '[]', '{}'),
  fc.constantFrom('"1"', '"18446744073709551615"', '" 1"', '"0x10"', '""', '"\\u0000"', '"NaN"'),
  fc.constantFrom('[1,2]', '{"a":1}', '{"__proto__":{"polluted":1}}', '"http://[::1]/"'),
  fc.constantFrom('"javascript:alert(1)"', '"ftp://x/"', '"http://169.254.169.254/"'),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : '1e308')),
  fc.bigInt(-(2n ** 80n), 2n ** 80n).map(String),
  fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);

/** Valid values per field, so that some requests get through and the 2xx paths run too. */
const validJson: Record<string, fc.Arbitrary<string>> = {
  timestamp: fc.integer({ min: 0, max: 10_000_000 }).map((s) => String(nowS + s)),
  key: validKey,
  params: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  handler: fc.constantFrom('"http://127.0.0.1:9/cb"', '"https://10.0.0.1/x"', '""'),
  exec: fc.constantFrom('true', 'false'),
  maxAttempts: fc.integer({ min: 1, max: 100 }).map(String),
  timeoutMs: fc.integer({ min: 100, max: 600_000 }).map(String),
  concurrency: fc.integer({ min: 1, max: 10_000 }).map(String),
  secret: fc.constantFrom('"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"', 'null'),
};
const FIELDS = Object.keys(validJson);

const field = (name: string) =>
  fc.oneof({ arbitrary: validJson[name], weight: 3 }, { arbitrary: nastyJson, weight: 2 });

/** An object of known fields (and a stray one), each valid or not; duplicate keys now and then. */
const fieldsObject: fc.Arbitrary<string> = fc
  .tuple(
    fc.shuffledSubarray(FIELDS, { minLength: 0 }),
    fc.option(fc.tuple(fc.string({ maxLength: 10 }), nastyJson)),
    fc.boolean(),
  )
  .chain(([names, stray, duplicate]) =>
    fc.tuple(...names.map(field)).map((values) => {
      const entries = names.map((n, i) => `${JSON.stringify(n)}:${values[i]}`);
      if (stray) entries.push(`${JSON.stringify(stray[0])}:${stray[1]}`);
      if (duplicate && entries.length > 0) entries.push(entries[0].replace(/:.*/, ':"dup"'));
      return `{${entries.join(',')}}`;
    }),
  );

/** A batch of mostly valid tasks, one of them possibly not: all or nothing. */
const batch = fc
  .array(
    fc
      .tuple(validJson.timestamp, fc.bigInt(1n, 1000n), validJson.params)
      .map(([t, k, p]) => `{"timestamp":${t},"key":${k},"params":${p}}`),
    { minLength: 0, maxLength: 20 },
  )
  .chain((items) =>
    fc.tuple(fc.constant(items), fieldsObject, fc.nat({ max: Math.max(items.length, 1) })),
  )
  .map(([items, odd, at]) => {
    const all = [...items];
    all.splice(at, 0, odd);
    return `{"tasks":[${all.join(',')}]}`;
  });

const depth = fc.integer({ min: 1000, max: 200_000 });

const bodyText: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fieldsObject, weight: 10 },
  { arbitrary: batch, weight: 3 },
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fieldsObject.chain((text) => fc.nat({ max: text.length }).map((n) => text.slice(0, n))),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes)),
  depth.map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  depth.map(
    (n) => `{"key":1,"timestamp":${nowS + 60},"params":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
  ),
  fc.constantFrom(`{"key":${'9'.repeat(200_000)}}`, `{"timestamp":1${'0'.repeat(100_000)}}`),
  fc.constantFrom('\ufeff{"key":1}', 'NaN', 'Infinity', '-', '1e99999', '[', '{', '"', '\u0000'),
  fc.constantFrom('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
  fc.constant(Buffer.alloc(1_100_000, 0x20)), // above the 1 MiB body limit
  fc.constant(`{"key":1,"timestamp":${nowS + 60},"params":"${'x'.repeat(70_000)}"}`),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  '*/*',
  '',
);

const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom('authorization', 'x-request-id', 'accept', 'accept-encoding', 'range'),
    fc.constantFrom('content-encoding', 'if-none-match', 'x-forwarded-for', 'cookie', 'origin'),
    fromChars('abcdefghijklmnopqrstuvwxyz-', 12)
      .filter((s) => /^[a-z]/.test(s))
      .map((s) => `x-${s}`),
  ),
  fc.oneof(
    fromChars(HEADER_CHARS, 60),
    fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'bogus', 'Bearer x', 'bytes=0-1'),
    fc.constant('r'.repeat(8000)),
  ),
  { maxKeys: 4 },
);

export function fuzzRequest(routes: Route[]): fc.Arbitrary<FuzzRequest> {
  const routed = fc
    .constantFrom(...routes)
    .chain((route) =>
      fc.tuple(
        fc.oneof(
          { arbitrary: fc.constant(route.method), weight: 8 },
          fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'),
        ),
        pathFor(route.path),
      ),
    );
  const unrouted = fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'), randomPath);
  return fc
    .tuple(
      fc.oneof({ arbitrary: routed, weight: 9 }, unrouted),
      query,
      bodyText,
      contentType,
      extraHeaders,
    )
    .map(([[method, path], qs, body, type, headers]) => ({
      method,
      path: `${path}${qs}`,
      headers: { ...headers, ...(type ? { 'content-type': type } : {}) },
      body: body === undefined ? undefined : Buffer.from(body),
    }));
}

const RAW_METHODS = [
  'GET',
  'POST',
  'DELETE',
  'PUT',
  'OPTIONS',
  'HEAD',
  'TRACE',
  'CONNECT',
  'FOO',
  'G\u0000T',
];

/**
 * Whole requests as bytes, malformed where a client library would refuse to be: raw bytes in
 * the request target, header lines without a colon or with NUL, conflicting framing, broken
 * chunked encoding. Every request declares no more body than it sends, and asks to close.
 */
export const rawRequest: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(...RAW_METHODS),
    fc.oneof(
      fc.constantFrom('/task/fz', '/task/fz/1', '/tasks', '/handler/fz', '/health', '*'),
      fc
        .uint8Array({ minLength: 1, maxLength: 60 })
        .map((b) => `/${Buffer.from(b).toString('latin1')}`),
      fc.constantFrom('/task/%', '/task/f z', '/task/\u0000', 'http://x/task/fz', '', '//'),
    ),
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'X-A: b',
          'no-colon',
          ' leading: space',
          'X-Nul: a\u0000b',
          'X-F: a\r\n folded',
        ),
        fc.constantFrom('Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1, 2'),
        fc.constantFrom('Transfer-Encoding: chunked', 'Transfer-Encoding: bogus', 'Expect: bogus'),
        fc.constant(`X-Big: ${'h'.repeat(20_000)}`),
        fc.uint8Array({ maxLength: 40 }).map((b) => `X-R: ${Buffer.from(b).toString('latin1')}`),
      ),
      { maxLength: 4 },
    ),
    fc.oneof(
      fc.constant(''),
      fc.constant('{"key":1,"timestamp":1}'),
      fc.constantFrom('zz\r\nabc\r\n0\r\n\r\n', '3\r\nabc\r\n0\r\n\r\n', '-1\r\n\r\n'),
    ),
  )
  .map(([method, target, lines, text]) => {
    // Framing the server can finish reading: no declared length beyond what is sent, and a
    // chunked body that ends (or breaks at once).
    const chunked = lines.includes('Transfer-Encoding: chunked');
    const body = chunked && text === '' ? '0\r\n\r\n' : text;
    const safe = lines.filter((l) => !/^Content-Length: 5$/.test(l) || body.length >= 5);
    const framing = safe.some((l) => /^(Content-Length|Transfer-Encoding)/.test(l))
      ? []
      : [`Content-Length: ${Buffer.byteLength(body, 'latin1')}`];
    const head = [
      `${method} ${target} HTTP/1.1`,
      'Host: fuzz',
      'Connection: close',
      ...safe,
      ...framing,
    ];
    return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  });
