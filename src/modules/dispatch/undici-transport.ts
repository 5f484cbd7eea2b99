import {
  AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  AxiosResponse,
  GenericAbortSignal,
  InternalAxiosRequestConfig,
} from 'axios';
import { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, Dispatcher } from 'undici';
import { ConnectionGuard } from './guarded-agent';

/** Longest response head (status line and headers) accepted, as node:http's default. */
export const RESPONSE_HEADER_CAP = 16 * 1024;

/**
 * Longest TCP (and TLS) connect. undici cannot withdraw a request still waiting for its
 * connection, so a connect that outlives its attempt goes on in the background until this; a
 * receiver that takes longer to accept a connection is treated as unreachable.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Handler URLs whose origin and path are remembered (a few per category in practice). */
const TARGET_CACHE_SIZE = 1000;

export interface UndiciTransportOptions {
  /** Bytes of a response body read at most; past them the body is cut off, its connection closed. */
  bodyCap: number;
  /** Bytes of what is read kept as the body text (at most bodyCap). */
  keepBytes: number;
  /** Extra TLS options (tests trust their own CA); by default Node's CA store, verified. */
  tls?: ConnectionOptions;
}

/** The attempt's whole time (connect, headers) ran out before the response status arrived. */
export class AttemptTimeoutError extends Error {
  readonly code = 'ERR_CALLBACK_TIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
  }
}

interface Target {
  origin: string;
  path: string;
  /** Credentials in the URL (`http://user:pass@host/`), as a Basic Authorization value. */
  authorization?: string;
}

/**
 * The callback transport: an axios adapter that sends through undici, one keep-alive pool per
 * origin, every new connection dialled by a connector that checks the address it dials against
 * the network policy (a literal IP before connecting, a name through a lookup that passes on only
 * allowed addresses). It does only what a callback needs, whatever else the config says: no
 * redirect followed, no proxy, no content decoding, no cookies, no response header but Retry-After.
 *
 * - `config.timeout` bounds the whole attempt: connect, headers and body. Before the status
 *   arrives it rejects with AttemptTimeoutError; after, it ends the body read.
 * - `config.signal` cuts the attempt off the same way (axios turns the rejection into a
 *   CanceledError).
 * - It resolves as soon as the status and headers are in; `data` is a Promise of the body text
 *   (its first `keepBytes` bytes), settled when the body ends, passes `bodyCap` bytes (that
 *   connection is closed), or the attempt's time or signal ends it. It never rejects.
 */
export class UndiciTransport {
  readonly adapter: AxiosAdapter;
  private readonly agent: Agent;
  private readonly targets = new Map<string, Target>();
  /** Exchanges in flight per cut-off signal: one abort listener per signal, not per request. */
  private readonly cutOffs = new WeakMap<GenericAbortSignal, Set<Exchange>>();

  constructor(
    guard: ConnectionGuard,
    private readonly options: UndiciTransportOptions,
  ) {
    this.agent = new Agent({
      connect: guardedConnector(guard, options.tls),
      maxHeaderSize: RESPONSE_HEADER_CAP,
      // The attempt's own deadline covers headers and body as a whole; undici's per-phase
      // timers would only add work per request.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.adapter = (config) => this.send(config);
  }

  /** Closes every connection at once; requests still queued fail (nothing waits for them). */
  close(): Promise<void> {
    return this.agent.destroy();
  }

  private send(config: InternalAxiosRequestConfig): Promise<AxiosResponse<Promise<string>>> {
    return new Promise((resolve, reject) => {
      let options: Dispatcher.DispatchOptions;
      try {
        options = this.dispatchOptions(config);
      } catch (error) {
        // A URL or body this transport does not send.
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const exchange = new Exchange(config, resolve, reject, this.options);
      const signal = config.signal;
      if (signal?.aborted) return exchange.fail(new Error('cut off before it started'));
      if (signal) this.watch(signal, exchange);
      if (config.timeout) exchange.startTimer(config.timeout);
      this.agent.dispatch(options, exchange);
    });
  }

  private dispatchOptions(config: InternalAxiosRequestConfig): Dispatcher.DispatchOptions {
    const { origin, path, authorization } = this.target(config.url ?? '');
    const body: unknown = config.data;
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      throw new TypeError('the callback transport sends a string or Buffer body only');
    }
    const headers = headerList(config.headers);
    if (authorization !== undefined && !headers.some((h, i) => i % 2 === 0 && isAuthorization(h))) {
      headers.push('authorization', authorization);
    }
    return { origin, path, method: (config.method ?? 'get').toUpperCase(), headers, body };
  }

  private target(url: string): Target {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new TypeError(
          `the callback transport sends http and https only, not ${parsed.protocol}`,
        );
      }
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      // As the node:http client sends them: user and password, percent-decoded, as Basic.
      if (parsed.username !== '' || parsed.password !== '') {
        const credentials = `${decoded(parsed.username)}:${decoded(parsed.password)}`;
        target.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      }
      if (this.targets.size >= TARGET_CACHE_SIZE) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }

  private watch(signal: GenericAbortSignal, exchange: Exchange): void {
    let exchanges = this.cutOffs.get(signal);
    if (!exchanges) {
      const watched = new Set<Exchange>();
      exchanges = watched;
      this.cutOffs.set(signal, watched);
      signal.addEventListener?.(
        'abort',
        () => {
          const reason = new Error('cut off');
          for (const each of watched) each.fail(reason);
        },
        { once: true },
      );
    }
    exchanges.add(exchange);
    exchange.watchers = exchanges;
  }
}

/**
 * undici's connector, vetting what it dials: a literal IP host is refused before any socket
 * exists; a name is resolved through the guard's lookup, so the address dialled is the address
 * checked.
 */
export function guardedConnector(
  guard: ConnectionGuard,
  tls: ConnectionOptions = {},
): buildConnector.connector {
  const connect = buildConnector({ ...tls, lookup: guard.lookup, timeout: CONNECT_TIMEOUT_MS });
  return (options, callback) => {
    const refusal = guard.refusalOf(options.hostname);
    // Answered on a later tick, as a real connect is: undici resumes its queue from the callback.
    if (refusal) process.nextTick(callback, refusal, null);
    else connect(options, callback);
  };
}

const WAITING = 0;
const READING = 1;
const DONE = 2;

/** One request and its response, as undici's dispatch handler. */
class Exchange implements Dispatcher.DispatchHandler {
  /** The set of exchanges sharing this one's cut-off signal, if it has one. */
  watchers: Set<Exchange> | undefined;
  private state = WAITING;
  private controller: Dispatcher.DispatchController | undefined;
  /** Why the exchange was ended early, to abort the request with once undici starts it. */
  private reason: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timeoutMs = 0;
  private chunks: Buffer[] | undefined;
  private kept = 0;
  private read = 0;
  private resolveBody: ((text: string) => void) | undefined;

  constructor(
    private readonly config: InternalAxiosRequestConfig,
    private readonly resolve: (response: AxiosResponse<Promise<string>>) => void,
    private readonly reject: (error: unknown) => void,
    private readonly limits: UndiciTransportOptions,
  ) {}

  startTimer(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.timer = setTimeout(expire, timeoutMs, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.reason) controller.abort(this.reason);
    else this.controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (this.state !== WAITING || statusCode < 200) return; // 1xx: the answer is still to come
    this.state = READING;
    const response: AxiosResponse<Promise<string>> = {
      data: new Promise<string>((resolve) => (this.resolveBody = resolve)),
      status: statusCode,
      statusText: statusMessage ?? '',
      headers: responseHeaders(headers),
      config: this.config,
    };
    const { validateStatus } = this.config;
    if (!validateStatus || validateStatus(statusCode)) this.resolve(response);
    else this.reject(statusError(response));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state !== READING) return;
    const room = this.limits.keepBytes - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      (this.chunks ??= []).push(part);
      this.kept += part.length;
    }
    this.read += chunk.length;
    if (this.read > this.limits.bodyCap) this.fail(new Error('response body over the cap'));
  }

  onResponseEnd(): void {
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.state !== WAITING) return this.finish();
    this.state = DONE;
    this.release();
    this.reject(error);
  }

  /** Ends the exchange now (time up, cut off, body over the cap) and closes its connection. */
  fail(reason: Error): void {
    if (this.state === DONE) return;
    this.reason = reason;
    if (this.state === READING) {
      this.finish();
    } else {
      this.state = DONE;
      this.release();
      this.reject(reason);
    }
    this.controller?.abort(reason);
  }

  expire(): void {
    this.fail(new AttemptTimeoutError(this.timeoutMs));
  }

  private finish(): void {
    if (this.state !== READING) return;
    this.state = DONE;
    this.release();
    const chunks = this.chunks;
    let text = '';
    if (chunks?.length === 1) text = chunks[0].toString('utf8');
    else if (chunks) text = Buffer.concat(chunks).toString('utf8');
    this.resolveBody!(text);
  }

  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watchers?.delete(this);
  }
}

/** The timer callback: one shared function, the exchange passed as its argument. */
function expire(exchange: Exchange): void {
  exchange.expire();
}

/**
 * The response headers a callback's outcome reads, as axios headers: Retry-After only (the
 * receiver's snooze; see retry-policy.ts). axios validates and normalizes every header it is
 * given, up to three times per response; the others would be that work for nothing.
 */
function responseHeaders(headers: Record<string, string | string[] | undefined>): AxiosHeaders {
  const retryAfter = headers['retry-after'];
  return new AxiosHeaders(retryAfter === undefined ? undefined : { 'retry-after': retryAfter });
}

/** Whether a request header name is Authorization, in any case. */
function isAuthorization(name: string): boolean {
  return name.length === 13 && name.toLowerCase() === 'authorization';
}

function decoded(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}

/** axios's request headers as undici's flat name/value list (set values only). */
function headerList(headers: InternalAxiosRequestConfig['headers']): string[] {
  const list: string[] = [];
  for (const name of Object.keys(headers)) {
    const value: unknown = headers[name];
    if (typeof value === 'string') list.push(name, value);
    else if (typeof value === 'number' || value === true) list.push(name, String(value));
    else if (Array.isArray(value)) {
      for (const each of value as unknown[]) if (typeof each === 'string') list.push(name, each);
    }
  }
  return list;
}

/** The rejection axios's own adapters give a status its validateStatus refuses. */
function statusError(response: AxiosResponse<Promise<string>>): AxiosError {
  const code =
    response.status >= 400 && response.status < 500
      ? AxiosError.ERR_BAD_REQUEST
      : AxiosError.ERR_BAD_RESPONSE;
  return new AxiosError(
    `Request failed with status code ${response.status}`,
    code,
    response.config,
    undefined,
    response,
  );
}
