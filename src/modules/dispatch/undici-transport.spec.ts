import axios, { AxiosHeaders } from 'axios';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, IncomingHttpHeaders, RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, LookupFunction, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkPolicy } from '../../common/network-policy';
import { AppConfig } from '../../config/app-config';
import { callbackHttpService } from './callback-http';
import { CallbackClient, RESPONSE_BODY_CAP } from './callback.client';
import { BlockedAddressError, ConnectionGuard } from './guarded-agent';
import {
  AttemptTimeoutError,
  RESPONSE_HEADER_CAP,
  UndiciTransport,
  UndiciTransportOptions,
} from './undici-transport';

/** 127.0.0.1 is allowed; the rest of 127/8 (all on lo on Linux) is refused as loopback. */
const policy = new NetworkPolicy({
  callbackNetworkPolicy: 'private',
  callbackAllowCidrs: ['127.0.0.1/32'],
});
const config = {
  captureResponseBytes: 100,
  callbackNetworkPolicy: 'private',
  callbackAllowCidrs: ['127.0.0.1/32'],
} as Partial<AppConfig> as AppConfig;

/** A DNS lookup answering from a fixed table, in both the one-address and the `all` form. */
function fakeLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const addresses = (table[hostname] ?? []).map((address) => ({ address, family: 4 }));
    if (addresses.length === 0) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
      });
      callback(error, '', 0);
    } else if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, 4);
  };
}

const lookup = fakeLookup({
  'sentinel.test': ['127.0.0.2'],
  'mixed.test': ['127.0.0.2', '127.0.0.1'],
  'callback.test': ['127.0.0.1'],
});

/**
 * A local server that counts TCP connections, keeps request headers and notes which of the
 * connections that carried a request are closed.
 */
class TestServer {
  connections = 0;
  readonly requests: IncomingHttpHeaders[] = [];
  readonly server: Server;
  private readonly requestSockets = new Set<Socket>();
  private readonly closedSockets = new WeakSet<Socket>();

  constructor(handle: RequestListener, server: Server = createServer()) {
    this.server = server;
    this.server.on('request', (req, res) => {
      this.requests.push(req.headers);
      this.requestSockets.add(req.socket);
      handle(req, res);
    });
    this.server.keepAliveTimeout = 30_000;
    // TCP connections, counted before any TLS handshake.
    this.server.on('connection', (socket: Socket) => {
      this.connections++;
      socket.once('close', () => this.closedSockets.add(socket));
    });
  }

  /** Connections that carried a request and are closed. */
  get closedAfterRequest(): number {
    return [...this.requestSockets].filter((socket) => this.closedSockets.has(socket)).length;
  }

  async start(host = '127.0.0.1', port = 0): Promise<this> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/cb', host = '127.0.0.1', scheme = 'http'): string {
    return `${scheme}://${host}:${this.port}${path}`;
  }

  /** How many connections that carried a request are closed, once `count` are or time is up. */
  async waitForClosed(count: number, withinMs: number): Promise<number> {
    const started = performance.now();
    while (this.closedAfterRequest < count && performance.now() - started < withinMs) {
      await sleep(10);
    }
    return this.closedAfterRequest;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Answers 200 "OK" once the request body is in. */
const answerOk: RequestListener = (req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'));
};

/** A self-signed certificate for 127.0.0.1 and callback.test, made for this run. */
function selfSignedCertificate(): { key: string; cert: string } {
  // Through a shell pipe: openssl opens /dev/stdout by name, which a socket (Node's pipe) is not.
  const pem = execFileSync(
    'sh',
    [
      '-c',
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 ' +
        '-subj /CN=callback.test -addext subjectAltName=IP:127.0.0.1,DNS:callback.test ' +
        '-keyout /dev/stdout -out /dev/stdout 2>/dev/null | cat',
    ],
    { encoding: 'utf8' },
  );
  const block = (label: string): string =>
    new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----\\n`).exec(pem)![0];
  return { key: block('PRIVATE KEY'), cert: block('CERTIFICATE') };
}

describe('UndiciTransport', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(handle: RequestListener = answerOk, host?: string): Promise<TestServer> {
    const started = await new TestServer(handle).start(host);
    cleanups.push(() => started.close());
    return started;
  }

  function transport(options: Partial<UndiciTransportOptions> = {}): UndiciTransport {
    const created = new UndiciTransport(new ConnectionGuard(policy, lookup), {
      bodyCap: RESPONSE_BODY_CAP,
      keepBytes: 100,
      ...options,
    });
    cleanups.push(() => created.close());
    return created;
  }

  function client(): CallbackClient {
    const created = new CallbackClient(callbackHttpService(), config);
    cleanups.push(() => Promise.resolve(created.close()));
    return created;
  }

  /** POSTs through axios with the transport as its adapter; the error when it fails. */
  async function post(through: UndiciTransport, url: string): Promise<unknown> {
    try {
      const response = await axios.request<Promise<string>>({
        method: 'post',
        url,
        data: '{}',
        adapter: through.adapter,
        timeout: 2000,
        validateStatus: () => true,
      });
      return { status: response.status, body: await response.data };
    } catch (error) {
      return error;
    }
  }

  describe('the SSRF guard in the connector', () => {
    it('refuses a literal address before any connection is made', async () => {
      const sentinel = await server(answerOk, '127.0.0.2');
      const error = await post(transport(), `http://127.0.0.2:${sentinel.port}/cb`);
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect((error as Error).message).toBe(
        '127.0.0.2 is refused by the callback network policy: loopback (127.0.0.0/8); ' +
          'CALLBACK_ALLOW_CIDRS can allow it',
      );
      expect(sentinel.connections).toBe(0);
    });

    it('refuses a name that resolves to a refused address, after DNS, before connecting', async () => {
      const sentinel = await server(answerOk, '127.0.0.2');
      const error = await post(transport(), `http://sentinel.test:${sentinel.port}/cb`);
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect((error as Error).message).toMatch(
        /^sentinel\.test resolved to 127\.0\.0\.2, which is refused .*: loopback/,
      );
      expect(sentinel.connections).toBe(0);
    });

    it('dials only the allowed address of a name that resolves to several', async () => {
      const allowed = await server();
      const twin = await new TestServer(answerOk).start('127.0.0.2', allowed.port);
      cleanups.push(() => twin.close());
      await expect(
        post(transport(), `http://mixed.test:${allowed.port}/cb`),
      ).resolves.toStrictEqual({ status: 200, body: 'OK' });
      expect(allowed.requests).toHaveLength(1);
      expect(twin.connections).toBe(0);
    });

    it('reports a refused address as a blocked attempt', async () => {
      const sentinel = await server(answerOk, '127.0.0.2');
      const result = await client().post({
        url: `http://[::ffff:127.0.0.2]:${sentinel.port}/cb`,
        body: '{}',
        headers: {},
        timeoutMs: 1000,
      });
      expect(result).toEqual({
        kind: 'blocked',
        message:
          '::ffff:7f00:2 (127.0.0.2) is refused by the callback network policy: loopback ' +
          '(127.0.0.0/8); CALLBACK_ALLOW_CIDRS can allow it',
      });
      expect(sentinel.connections).toBe(0);
    });
  });

  describe('connections', () => {
    it('reuses one keep-alive connection for requests one after another', async () => {
      const receiver = await server();
      const through = transport();
      for (let i = 0; i < 10; i++) {
        await expect(post(through, receiver.url())).resolves.toStrictEqual({
          status: 200,
          body: 'OK',
        });
        // A request sent in the very tick the last one ended finds the connection not yet
        // free in undici's pool and gets another one; deliveries are never that close.
        await sleep(5);
      }
      expect(receiver.requests).toHaveLength(10);
      expect(receiver.connections).toBe(1);
    });

    it('sends the request as given, without asking for compressed answers', async () => {
      const receiver = await server();
      const result = await client().post({
        url: receiver.url('/cb?x=1'),
        body: '{"a":1}',
        headers: { 'content-type': 'application/json', 'x-delivery-id': 'd1' },
        timeoutMs: 1000,
      });
      expect(result).toEqual({ kind: 'response', status: 200, body: 'OK' });
      expect(receiver.requests[0]).toMatchObject({
        'content-type': 'application/json',
        'content-length': '7',
        'x-delivery-id': 'd1',
        host: `127.0.0.1:${receiver.port}`,
      });
      expect(receiver.requests[0]['accept-encoding']).toBeUndefined();
    });

    it('hands on Retry-After, in any case, and no other response header', async () => {
      const receiver = await server((_req, res) => {
        res.writeHead(429, { 'Retry-After': '30', 'X-Other': 'y' }).end('slow down');
      });
      const through = transport();
      const response = await axios.request<Promise<string>>({
        method: 'post',
        url: receiver.url(),
        data: '{}',
        adapter: through.adapter,
        validateStatus: () => true,
      });
      expect(response.status).toBe(429);
      expect(response.headers).toBeInstanceOf(AxiosHeaders);
      expect({ ...(response.headers as AxiosHeaders).toJSON() }).toStrictEqual({
        'retry-after': '30',
      });
      await expect(response.data).resolves.toBe('slow down');
      await expect(
        client().post({ url: receiver.url(), body: '{}', headers: {}, timeoutMs: 1000 }),
      ).resolves.toStrictEqual({
        kind: 'response',
        status: 429,
        retryAfter: '30',
        body: 'slow down',
      });
    });

    it('closes its connections on close()', async () => {
      const receiver = await server();
      const through = transport();
      await post(through, receiver.url());
      expect(receiver.closedAfterRequest).toBe(0);
      await through.close();
      await expect(receiver.waitForClosed(1, 1000)).resolves.toBe(1);
    });
  });

  describe('limits', () => {
    it('keeps the connection of a body no longer than the cap', async () => {
      const body = 'y'.repeat(RESPONSE_BODY_CAP);
      const receiver = await server((req, res) => {
        req.resume();
        res.writeHead(500).end(body);
      });
      const through = transport({ keepBytes: RESPONSE_BODY_CAP });
      await expect(post(through, receiver.url())).resolves.toStrictEqual({ status: 500, body });
      await sleep(5);
      await expect(post(through, receiver.url())).resolves.toStrictEqual({ status: 500, body });
      expect(receiver.connections).toBe(1);
    });

    it('cuts a longer body off at the cap, keeps its start and closes that connection', async () => {
      const receiver = await server((req, res) => {
        req.resume();
        res.writeHead(200);
        res.end(`${'x'.repeat(4_000_000)}END`);
      });
      const through = transport();
      const started = performance.now();
      await expect(post(through, receiver.url())).resolves.toStrictEqual({
        status: 200,
        body: 'x'.repeat(100),
      });
      expect(performance.now() - started).toBeLessThan(1000);
      await expect(receiver.waitForClosed(1, 1000)).resolves.toBe(1);
      // undici 7.30 dials a replacement for a connection it aborted, even with nothing to send
      // (nodejs/undici#5845): only the next request's success is asserted, not a count.
      await expect(post(through, receiver.url())).resolves.toMatchObject({ status: 200 });
    });

    it('fails a response whose head is over the header limit, and goes on working', async () => {
      const receiver = await server((req, res) => {
        req.resume();
        res.writeHead(200, { 'x-big': 'h'.repeat(RESPONSE_HEADER_CAP) }).end('OK');
      });
      const callback = client();
      const result = await callback.post({
        url: receiver.url(),
        body: '{}',
        headers: {},
        timeoutMs: 1000,
      });
      expect(result).toMatchObject({ kind: 'connection_error' });
      expect((result as { message: string }).message).toMatch(/UND_ERR_HEADERS_OVERFLOW/);
      const fine = await server();
      await expect(
        callback.post({ url: fine.url(), body: '{}', headers: {}, timeoutMs: 1000 }),
      ).resolves.toEqual({ kind: 'response', status: 200, body: 'OK' });
    });
  });

  describe('time', () => {
    it('ends an attempt with no answer at its timeout and closes the connection', async () => {
      const receiver = await server(() => undefined);
      const started = performance.now();
      const result = await client().post({
        url: receiver.url(),
        body: '{}',
        headers: {},
        timeoutMs: 200,
      });
      const elapsed = performance.now() - started;
      expect(result).toEqual({ kind: 'timeout', timeoutMs: 200 });
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(1000);
      await expect(receiver.waitForClosed(1, 500)).resolves.toBe(1);
    });

    it('rejects with AttemptTimeoutError when the status has not arrived in time', async () => {
      const receiver = await server(() => undefined);
      const error = await axios
        .request({
          method: 'post',
          url: receiver.url(),
          adapter: transport().adapter,
          timeout: 100,
        })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AttemptTimeoutError);
    });

    it('keeps the status of a body still dripping at the timeout, with what came of it', async () => {
      const receiver = await server((req, res) => {
        req.resume();
        res.writeHead(200);
        res.write('still ');
        setTimeout(() => res.write('writing'), 50);
      });
      const started = performance.now();
      const result = await client().post({
        url: receiver.url(),
        body: '{}',
        headers: {},
        timeoutMs: 300,
      });
      expect(result).toEqual({ kind: 'response', status: 200, body: 'still writing' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      await expect(receiver.waitForClosed(1, 500)).resolves.toBe(1);
    });

    it('cuts an attempt off on its signal: an error before the status, the response after', async () => {
      const hanging = await server(() => undefined);
      const slowBody = await server((req, res) => {
        req.resume();
        res.writeHead(202);
        res.write('accepted');
      });
      const shutdown = new AbortController();
      const callback = client();
      const send = (url: string) =>
        callback.post({ url, body: '{}', headers: {}, timeoutMs: 5000, signal: shutdown.signal });
      const beforeStatus = send(hanging.url());
      const afterStatus = send(slowBody.url());
      while (slowBody.requests.length === 0 || hanging.requests.length === 0) await sleep(10);
      await sleep(50);
      shutdown.abort();
      await expect(beforeStatus).resolves.toEqual({
        kind: 'error',
        message: 'cut off by shutdown',
      });
      await expect(afterStatus).resolves.toEqual({
        kind: 'response',
        status: 202,
        body: 'accepted',
      });
    });
  });

  describe('https', () => {
    it('delivers over TLS to an allowed address, and refuses a refused one before TLS', async () => {
      const { key, cert } = selfSignedCertificate();
      const secure = new TestServer(answerOk, createHttpsServer({ key, cert }));
      await secure.start();
      cleanups.push(() => secure.close());
      const sentinel = await server(answerOk, '127.0.0.2');
      const through = transport({ tls: { ca: cert } });

      await expect(post(through, secure.url('/cb', '127.0.0.1', 'https'))).resolves.toStrictEqual({
        status: 200,
        body: 'OK',
      });
      await expect(
        post(through, secure.url('/cb', 'callback.test', 'https')),
      ).resolves.toStrictEqual({ status: 200, body: 'OK' });
      const error = await post(through, `https://sentinel.test:${sentinel.port}/cb`);
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect(sentinel.connections).toBe(0);
    });

    it('refuses a certificate it does not trust', async () => {
      const { key, cert } = selfSignedCertificate();
      const secure = new TestServer(answerOk, createHttpsServer({ key, cert }));
      await secure.start();
      cleanups.push(() => secure.close());
      const error = await post(transport(), secure.url('/cb', '127.0.0.1', 'https'));
      expect((error as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(secure.requests).toHaveLength(0);
    });
  });
});
