import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { JSON_CONTENT_TYPE } from './envelope';
import { stringifyJson } from './lossless-json';
import { BEARER_SCHEME } from './openapi.decorators';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = '/docs-json';

const DESCRIPTION = [
  'Delayed tasks: register a category with a callback URL, then create, reschedule, read and',
  'cancel tasks by (category, key); at the due time the service POSTs the task to the callback.',
  '',
  'Every JSON reply is the envelope `{"code": <HTTP status>, "msg": "<text>", "result": …}`;',
  'errors too, with a message that names the field and the rule. Request bodies are parsed',
  'without going through JavaScript numbers: task keys (uint64, up to 18446744073709551615) and',
  'integers of any size in `params` are stored, returned and delivered exactly.',
  '',
  'When the service runs with `API_KEYS` (full access) or `API_KEYS_READONLY` (GET and HEAD',
  'only), every route but `/health*`, `/docs*`, `/ui*` and (unless `METRICS_REQUIRE_AUTH`)',
  '`/metrics` needs `Authorization: Bearer <key>`; without one, any other path, an unknown one',
  'too, is answered 401. A state-changing request (POST, PUT, PATCH, DELETE) with a read-only',
  'key, or sent by a web page of another origin (see `ALLOWED_ORIGINS`), is answered 403.',
].join('\n');

/** package.json's version; the file sits two levels above both src/common and dist/common. */
function packageVersion(): string {
  const text = readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * The OpenAPI 3 document of every route of `app`. It only reads route and DTO metadata, so an
 * app created with `preview: true` (no provider instantiated, no database) is enough.
 */
export function createApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('delay-tasks')
    .setDescription(DESCRIPTION)
    .setVersion(packageVersion())
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'One of the API_KEYS. Needed only when the service runs with API_KEYS set.',
      },
      BEARER_SCHEME,
    )
    .addTag('handlers', 'Categories: their callback URL and delivery settings.')
    .addTag('tasks', 'Scheduling, reading, listing, cancelling and retrying tasks.')
    .addTag(
      'operations',
      'Health probes and metrics: no API key needed (metrics: unless METRICS_REQUIRE_AUTH).',
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * Swagger UI at /docs (its files served from swagger-ui-dist, nothing from a CDN) and the
 * document at /docs-json. Both are plain Express routes, registered before Nest's middleware:
 * the API-key check does not see them (isOpenPath lists them as open too).
 *
 * The document holds bigint examples (uint64 keys), which JSON.stringify cannot write, so
 * /docs-json is served with the lossless serializer instead of SwaggerModule's own route. The
 * copy inlined into the UI's script has them as decimal strings: the browser would round an
 * integer above 2^53, and a rounded key is refused, while a string key is accepted as is.
 */
export function setupApiDocs(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, () => withBigintsAsStrings(document) as OpenAPIObject, {
    raw: false,
    customSiteTitle: 'delay-tasks API',
    swaggerOptions: { validatorUrl: null }, // no call to the online validator
  });
  const json = stringifyJson(document);
  app.getHttpAdapter().get(DOCS_JSON_PATH, (_req: Request, res: Response) => {
    res.setHeader('Content-Type', JSON_CONTENT_TYPE);
    res.send(json);
  });
}

/** The committed openapi.json: keys sorted, 2-space indent, trailing newline, bigints exact. */
export function openApiFileText(document: OpenAPIObject): string {
  return `${stringifyJson(sortKeys(document), 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

function withBigintsAsStrings(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(withBigintsAsStrings);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, withBigintsAsStrings(item)]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
