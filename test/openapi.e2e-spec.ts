import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { parseJson } from '../src/common/lossless-json';
import { hashApiKey } from '../src/config/load-config';
import { useTestApp } from './support/fixtures';

/** Every route of the app; a new one must be added here (and so be documented). */
const ROUTES = [
  'POST /handler/{cate}',
  'POST /handler/{cate}/pause',
  'POST /handler/{cate}/resume',
  'GET /handler/{cate}',
  'DELETE /handler/{cate}',
  'GET /handlers',
  'POST /task/{cate}',
  'DELETE /task/{cate}',
  'GET /task/{cate}/{key}',
  'GET /tasks',
  'POST /tasks/{cate}',
  'POST /task/{cate}/{key}/retry',
  'GET /task/{cate}/{key}/attempts',
  'POST /tasks/{cate}/retry',
  'POST /tasks/{cate}/delete',
  'POST /schedule/{cate}',
  'GET /schedule/{cate}/{key}',
  'DELETE /schedule/{cate}/{key}',
  'GET /schedules',
  'POST /schedule/{cate}/{key}/pause',
  'POST /schedule/{cate}/{key}/resume',
  'GET /audit',
  'GET /attempts',
  'GET /dashboard/overview',
  'GET /dashboard/series',
  'GET /dashboard/forecast',
  'GET /dashboard/session',
  'GET /health',
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
];
/** Routes that never need an API key (metrics: unless METRICS_REQUIRE_AUTH). */
const OPEN_ROUTES = ['GET /health', 'GET /health/live', 'GET /health/ready', 'GET /metrics'];
const ENVELOPE_REF = '#/components/schemas/Envelope';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the document, walked loosely
type Json = Record<string, any>;

interface Operation {
  route: string;
  operation: Json;
}

function operationsOf(document: Json): Operation[] {
  return Object.entries(document.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).map(([method, operation]) => ({
      route: `${method.toUpperCase()} ${path}`,
      operation: operation as Json,
    })),
  );
}

/** The document as the swagger plugin leaves it when it adds nothing: no descriptions. */
function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'description')
      .map(([key, item]) => [key, withoutDescriptions(item)]),
  );
}

/** CSP directives by name, e.g. {"script-src": ["'self'"]}. */
function parseCsp(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name !== '')
      .map(([name, ...sources]) => [name, sources]),
  );
}

/** What the page loads: external scripts, stylesheets and icons, inline scripts and styles. */
function resourcesOf(html: string) {
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  const attribute = (tag: string, name: string) =>
    new RegExp(`\\b${name}=["']([^"']*)["']`).exec(tag)?.[1];
  const links = [...html.matchAll(/<link\b[^>]*>/g)].map(([tag]) => ({
    rel: attribute(tag, 'rel'),
    href: attribute(tag, 'href'),
  }));
  return {
    scriptUrls: scripts.map(([, attrs]) => attribute(attrs, 'src')).filter((src) => !!src),
    inlineScripts: scripts.filter(([, attrs, body]) => !attribute(attrs, 'src') && body.trim()),
    stylesheets: links.filter((link) => link.rel === 'stylesheet').map((link) => link.href),
    icons: links.filter((link) => link.rel === 'icon').map((link) => link.href),
    inlineStyles: /<style\b|\sstyle=/.test(html),
  };
}

describe('OpenAPI document and Swagger UI', () => {
  const fixture = useTestApp({ dispatchEnabled: false });
  let document: Json;
  let documentText: string;

  beforeAll(async () => {
    const res = await request(fixture.app.getHttpServer()).get('/docs-json');
    documentText = res.text;
    document = parseJson(res.text) as Json;
  });

  const http = () => request(fixture.app.getHttpServer());

  describe('GET /docs-json', () => {
    it('answers an OpenAPI 3 document as JSON', async () => {
      const res = await http().get('/docs-json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(document.info).toMatchObject({ title: 'delay-tasks', version: expect.any(String) });
    });

    it('lists every route of the app, and nothing else', () => {
      const routes = operationsOf(document).map(({ route }) => route);
      expect([...routes].sort()).toStrictEqual([...ROUTES].sort());
    });

    it('declares the bearer scheme and requires it everywhere but health and metrics', () => {
      expect(document.components.securitySchemes).toStrictEqual({
        bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      });
      for (const { route, operation } of operationsOf(document)) {
        const expected = OPEN_ROUTES.includes(route) ? undefined : [{ bearer: [] }];
        expect({ route, security: operation.security }).toStrictEqual({
          route,
          security: expected,
        });
      }
    });

    it('gives every operation a summary, a 200 and its errors in the envelope', () => {
      const schemas = document.components.schemas as Json;
      const refExists = (ref: string) =>
        schemas[ref.replace('#/components/schemas/', '')] !== undefined;
      for (const { route, operation } of operationsOf(document)) {
        expect({ route, summary: operation.summary }).toStrictEqual({
          route,
          summary: expect.any(String),
        });
        const responses = operation.responses as Json;
        expect({ route, ok: responses['200'] }).toStrictEqual({ route, ok: expect.anything() });
        if (!OPEN_ROUTES.includes(route)) {
          expect({ route, errors: Object.keys(responses) }).toStrictEqual({
            route,
            errors: expect.arrayContaining(['400', '401']),
          });
        }
        for (const [status, response] of Object.entries(responses)) {
          const content = (response as Json).content as Json;
          const json = content['application/json'] as Json | undefined;
          if (status.startsWith('4')) {
            expect({ route, status, json }).toStrictEqual({
              route,
              status,
              json: {
                schema: { $ref: ENVELOPE_REF },
                example: { code: Number(status), msg: expect.any(String) },
              },
            });
          } else if (json) {
            const schema = json.schema as Json;
            if (schema.$ref) {
              expect(schema.$ref).toBe(ENVELOPE_REF); // no result: {"code":200,"msg":"OK"}
            } else {
              expect(schema.allOf[0]).toStrictEqual({ $ref: ENVELOPE_REF });
              const result = schema.allOf[1].properties.result.$ref as string;
              expect({ route, result, exists: refExists(result) }).toStrictEqual({
                route,
                result,
                exists: true,
              });
            }
          } else {
            expect({ route, types: Object.keys(content) }).toStrictEqual({
              route,
              types: [expect.stringMatching(/^text\/plain/)],
            });
          }
        }
      }
    });

    it('documents the envelope, with code and msg required', () => {
      expect(document.components.schemas.Envelope).toMatchObject({
        type: 'object',
        required: ['code', 'msg'],
        properties: { code: { type: 'integer' }, msg: { type: 'string' } },
      });
    });

    it('documents task keys as uint64 integers with an exact 18446744073709551615 example', () => {
      const key = document.components.schemas.UpsertTaskDto.properties.key;
      expect(key).toMatchObject({ type: 'integer', format: 'uint64', minimum: 1 });
      expect(key.example).toBe(18446744073709551615n);
      expect(key.description).toMatch(/decimal string/);
      expect(documentText).toContain('"example":18446744073709551615');
      expect(documentText).not.toContain('18446744073709552000');
      const pathKey = (document.paths['/task/{cate}/{key}'].get.parameters as Json[]).find(
        (parameter) => parameter.name === 'key',
      );
      expect(pathKey).toMatchObject({
        in: 'path',
        required: true,
        schema: { type: 'integer', format: 'uint64', example: 18446744073709551615n },
      });
    });

    it('documents the request bodies and query parameters', () => {
      const body = (route: string): unknown =>
        operationsOf(document).find((op) => op.route === route)?.operation.requestBody.content[
          'application/json'
        ].schema;
      expect(body('POST /task/{cate}')).toStrictEqual({
        $ref: '#/components/schemas/UpsertTaskDto',
      });
      expect(body('DELETE /task/{cate}')).toStrictEqual({
        $ref: '#/components/schemas/DeleteTaskDto',
      });
      expect(body('POST /tasks/{cate}')).toStrictEqual({
        $ref: '#/components/schemas/BatchUpsertTasksDto',
      });
      expect(body('POST /handler/{cate}')).toStrictEqual({
        $ref: '#/components/schemas/RegisterHandlerDto',
      });
      const query = (document.paths['/tasks'].get.parameters as Json[]).map(
        (parameter): unknown => parameter.name,
      );
      expect(query.sort()).toStrictEqual(['cate', 'cursor', 'limit', 'state']);
    });

    it('matches the committed openapi.json but for descriptions (the swagger plugin adds those)', () => {
      const committed = parseJson(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8'));
      expect(withoutDescriptions(document)).toStrictEqual(withoutDescriptions(committed));
    });
  });

  describe('GET /docs', () => {
    const base = 'http://service.test/docs';

    it('answers the Swagger UI page, which loads only files served here', async () => {
      const res = await http().get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      const page = resourcesOf(res.text);
      expect(page.scriptUrls).toHaveLength(3);
      const urls = [...page.scriptUrls, ...page.stylesheets, ...page.icons] as string[];
      for (const url of urls) {
        const resolved = new URL(url, base);
        expect({ url, origin: resolved.origin }).toStrictEqual({
          url,
          origin: new URL(base).origin,
        });
        const asset = await http().get(resolved.pathname);
        expect({ url, status: asset.status }).toStrictEqual({ url, status: 200 });
      }
      expect(res.text).not.toMatch(/(src|href)=["'](https?:)?\/\//);
    });

    it('works under the Content-Security-Policy it is served with', async () => {
      const res = await http().get('/docs');
      const csp = parseCsp(String(res.headers['content-security-policy']));
      const page = resourcesOf(res.text);
      // External files: allowed by 'self' (same origin, checked above).
      expect(csp.get('script-src')).toContain("'self'");
      expect(csp.get('style-src')).toContain("'self'");
      expect(csp.get('img-src')).toContain("'self'");
      // Inline code: none, since script-src does not allow it; inline styles are allowed.
      expect(csp.get('script-src')).not.toContain("'unsafe-inline'");
      expect(page.inlineScripts).toStrictEqual([]);
      expect(page.inlineStyles).toBe(true);
      expect(csp.get('style-src')).toContain("'unsafe-inline'");
      // "Try it out" calls this origin.
      expect(csp.get('connect-src')).toStrictEqual(["'self'"]);
    });

    it('serves its scripts with the CSP too, and turns the online validator off', async () => {
      const init = await http().get('/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.headers['content-type']).toMatch(/javascript/);
      expect(init.headers['content-security-policy']).toContain("script-src 'self'");
      expect(init.text).toContain('"validatorUrl": null');
      expect(init.text).not.toContain('validator.swagger.io');
      // The browser would round an integer key; the UI gets it as a string, which is accepted.
      expect(init.text).toContain('"example": "18446744073709551615"');
      const bundle = await http().get('/docs/swagger-ui-bundle.js');
      expect(bundle.status).toBe(200);
      expect(bundle.headers['content-type']).toMatch(/javascript/);
    });
  });

  describe('with API_KEYS set', () => {
    let guarded: INestApplication;

    beforeAll(async () => {
      guarded = await fixture.startApp({
        dispatchEnabled: false,
        apiKeyHashes: [hashApiKey('docs-test-api-key-0123456789')],
      });
    });

    it.each(['/docs', '/docs/', '/docs-json', '/docs/swagger-ui-init.js', '/docs/swagger-ui.css'])(
      'serves %s without a key',
      async (path) => {
        const res = await request(guarded.getHttpServer()).get(path);
        expect(res.status).toBe(200);
      },
    );

    it('still guards the API itself', async () => {
      const res = await request(guarded.getHttpServer()).get('/tasks');
      expect(res.status).toBe(401);
    });
  });
});
