import { HttpService } from '@nestjs/axios';
import { Inject, Injectable } from '@nestjs/common';
import { networkPolicyOf } from '../../common/network-policy';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { blockedCause, ConnectionGuard } from './guarded-agent';
import { AttemptResult } from './retry-policy';
import { AttemptTimeoutError, UndiciTransport } from './undici-transport';

/**
 * Bytes of a response body read at most: a short answer is read to its end, so that its
 * connection can be reused; a longer one is cut off there (its connection closed). Of what is
 * read, CAPTURE_RESPONSE_BYTES (at most this) are kept for the error message.
 */
export const RESPONSE_BODY_CAP = 1024;

export interface CallbackRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Aborted when the replica shuts down and cuts off deliveries still running. */
  signal?: AbortSignal;
}

/** Shared by every request: axios copies them, and a fresh closure per request buys nothing. */
const NO_TRANSFORMS: [] = [];
const ANY_STATUS = (): boolean => true;

/**
 * POSTs one callback through the application's axios instance (HttpService) and reports what
 * happened as data. The transport underneath (UndiciTransport) keeps one keep-alive pool per
 * origin and vets every address it dials against the network policy (the SSRF guard checks the
 * address actually dialled, not only the URL text); redirects are not followed; the whole
 * attempt (connect, headers, body) is bounded by the timeout, not only socket idleness, so a
 * handler that drips bytes cannot hold it open.
 */
@Injectable()
export class CallbackClient {
  private readonly transport: UndiciTransport;

  constructor(
    private readonly http: HttpService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const guard = new ConnectionGuard(networkPolicyOf(config));
    this.transport = new UndiciTransport(guard, {
      bodyCap: RESPONSE_BODY_CAP,
      keepBytes: Math.min(config.captureResponseBytes, RESPONSE_BODY_CAP),
    });
  }

  async post(request: CallbackRequest): Promise<AttemptResult> {
    try {
      // The status stands once it is in: a cut-off while the body is still arriving ends the
      // read, not the attempt (the transport resolves at the headers; `data` is the body).
      const response = await this.http.axiosRef.request<Promise<string>>({
        method: 'post',
        url: request.url,
        data: request.body,
        headers: request.headers,
        timeout: request.timeoutMs,
        signal: request.signal,
        adapter: this.transport.adapter,
        transformRequest: NO_TRANSFORMS,
        transformResponse: NO_TRANSFORMS,
        validateStatus: ANY_STATUS,
      });
      const body = await response.data;
      const retryAfter: unknown = response.headers['retry-after'];
      return {
        kind: 'response',
        status: response.status,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
        body,
      };
    } catch (error) {
      const blocked = blockedCause(error);
      if (blocked) return { kind: 'blocked', message: blocked.message };
      if (error instanceof AttemptTimeoutError) {
        return { kind: 'timeout', timeoutMs: request.timeoutMs };
      }
      if (request.signal?.aborted) return { kind: 'error', message: 'cut off by shutdown' };
      return { kind: 'connection_error', message: describeError(error) };
    }
  }

  /** Closes the keep-alive connections (shutdown). */
  close(): void {
    void this.transport.close();
  }
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
