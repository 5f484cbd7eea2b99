import { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { useTestApp } from '../support/fixtures';
import { report } from './support/figures';
import { FuzzRequest, fuzzRequest, rawRequest, Route } from './support/fuzz-input';
import { Pg, tablesChecksum } from './support/pg';

const RUNS = 5000;
const RAW_RUNS = 400;
const BODY_LIMIT = 1_048_576;
const RAW_TIMEOUT_MS = 3000;

interface Reply {
  /** 0: the connection ended without a response. */
  status: number;
  body: string;
  contentType?: string;
}

/** Methods sent through Node's HTTP client (CONNECT is not a request it can complete). */
const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'];

/**
 * Every route the app serves, read from Express's router: admin routes added later included.
 * Middleware mounted for every method (`{*path}`) is left out; random paths cover it.
 */
function routesOf(app: INestApplication): Route[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
  }
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: Layer[] };
    _router?: { stack: Layer[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  return stack.flatMap(({ route }) => {
    const methods = Object.keys(route?.methods ?? {}).map((m) => m.toUpperCase());
    if (!route || methods.length > METHODS.length) return [];
    return methods
      .filter((m) => METHODS.includes(m))
      .map((method) => ({ method, path: route.path }));
  });
}

function send(port: number, agent: Agent, req: FuzzRequest): Promise<Reply> {
  return new Promise((resolve) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: req.method,
        path: req.path,
        // Node's client frames a GET/DELETE body only with an explicit length; unframed, the
        // body would reach the server as the next request.
        headers: req.body
          ? { ...req.headers, 'content-length': String(req.body.length) }
          : req.headers,
        signal: AbortSignal.timeout(10_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: res.headers['content-type'],
          }),
        );
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: '' }));
      },
    );
    outgoing.setTimeout(15_000, () => outgoing.destroy(new Error('no answer in 15 s')));
    outgoing.on('error', () => resolve({ status: 0, body: '' }));
    outgoing.end(req.body);
  });
}

/** Writes raw bytes and reads until the server closes (or the timeout); returns the status. */
function sendRaw(port: number, bytes: Buffer): Promise<number | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, RAW_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      resolve(status ? Number(status[1]) : 0);
    });
    // Not end(): a half-closed client gets no answer from Node for a request still being handled.
    socket.write(bytes);
  });
}

function isEnvelope(body: string, status: number): boolean {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; msg?: unknown };
    return parsed.code === status && typeof parsed.msg === 'string' && parsed.msg.length > 0;
  } catch {
    return false;
  }
}

describe('fuzzed API input', () => {
  // No dispatcher: the tables change only through the API.
  const fixture = useTestApp(
    { dispatchEnabled: false, bodyLimitBytes: BODY_LIMIT },
    { listen: true },
  );
  let pg: Pg;
  let routes: Route[];
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    pg = new Pg(fixture.db.url);
    fixture.onTeardown(() => pg.close());
    routes = routesOf(fixture.app);
    // Rows for the routes that read or change an existing task or category.
    await pg.query(`INSERT INTO handlers (cate, url) VALUES ('fz', 'http://127.0.0.1:9/cb')`);
    await pg.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params, state, last_error)
       VALUES ('fz', 1, now() + interval '1 hour', now() + interval '1 hour', '{}', 'pending', NULL),
         ('fz', 2, now(), now(), '{"a":1}', 'failed', 'HTTP 500')`,
    );
  });

  afterAll(() => agent.destroy());

  async function expectHealthy(): Promise<void> {
    for (const path of ['/health', '/health/ready']) {
      const reply = await send(fixture.port, agent, { method: 'GET', path, headers: {} });
      expect(reply.status).toBe(200);
    }
  }

  it('answers random requests to every route without a 5xx, refusals in the envelope, writing nothing when it refuses', async () => {
    const statuses = new Map<number, number>();
    const notEnveloped: string[] = [];
    const dropped: string[] = [];
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fuzzRequest(routes), async (req) => {
        const before = await tablesChecksum(pg);
        const reply = await send(fixture.port, agent, req);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const what = `${req.method} ${req.path.slice(0, 200)} (${req.body?.length ?? 0} bytes)`;
        expect(`${reply.status} ${what}`).not.toMatch(/^5/);
        if (reply.status >= 200 && reply.status < 300) return;
        // Refused (or dropped): nothing written, not even part of a batch.
        expect(await tablesChecksum(pg)).toBe(before);
        if (reply.status === 0) dropped.push(what);
        else if (
          reply.status >= 400 &&
          req.method !== 'HEAD' &&
          !isEnvelope(reply.body, reply.status)
        ) {
          notEnveloped.push(`${reply.status} ${what}: ${reply.body.slice(0, 100)}`);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    report('7 API fuzz (structured)', {
      requests: RUNS,
      routes: routes.map((r) => `${r.method} ${r.path}`),
      statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
      'dropped without an answer': dropped.length,
      'refusals not in the envelope': notEnveloped.length,
      'took ms': Date.now() - started,
    });
    expect(notEnveloped.slice(0, 5)).toEqual([]);
    // Only a body above the limit may be cut off (the 413 goes out before it is read).
    expect(dropped.filter((d) => !/\((\d{7,}) bytes\)$/.test(d))).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectHealthy();
  });

  it('answers malformed raw HTTP without a 5xx and writes nothing', async () => {
    const statuses = new Map<number | string, number>();
    await fc.assert(
      fc.asyncProperty(rawRequest, async (bytes) => {
        const before = await tablesChecksum(pg);
        const status = await sendRaw(fixture.port, bytes);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const head = bytes.toString('latin1', 0, 120).replace(/\r\n/g, '⏎');
        expect(`${status} ${head}`).not.toMatch(/^5/);
        if (typeof status !== 'number' || status < 200 || status >= 300) {
          expect(await tablesChecksum(pg)).toBe(before);
        }
      }),
      { numRuns: RAW_RUNS, endOnFailure: true },
    );
    report('7 API fuzz (raw HTTP)', {
      requests: RAW_RUNS,
      statuses: Object.fromEntries(statuses),
    });
    await expectHealthy();
  });
});
