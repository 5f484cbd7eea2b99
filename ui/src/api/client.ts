import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { forgetApiKey, readApiKey } from './api-key';
import { losslessFetch } from './lossless-fetch';
import { createStore } from '../lib/store';

export type Connection = 'connecting' | 'live' | 'lost';

/** Whether the service answers: set by every call, shown in the header. */
export const connection = createStore<Connection>('connecting');

/**
 * Set when the service answers 401: the app then asks for a key. `refused` says a key was sent
 * and turned down (rather than none sent).
 */
export const authRequired = createStore<{ required: boolean; refused: boolean }>({
  required: false,
  refused: false,
});

const GATEWAY_STATUSES = new Set([502, 503, 504]);

const dashboardMiddleware: Middleware = {
  onRequest({ request }) {
    const key = readApiKey();
    if (key) request.headers.set('Authorization', `Bearer ${key}`);
    return request;
  },
  onResponse({ request, response }) {
    // A proxy's 502-504 without the service's JSON envelope means the service is not there.
    const fromService = /json/i.test(response.headers.get('Content-Type') ?? '');
    connection.set(!fromService && GATEWAY_STATUSES.has(response.status) ? 'lost' : 'live');
    if (response.status === 401) {
      const sentKey = request.headers.has('Authorization');
      if (sentKey) forgetApiKey();
      authRequired.set({ required: true, refused: sentKey });
    }
    return response;
  },
  onError() {
    connection.set('lost');
  },
};

export const client = createClient<paths>({
  baseUrl: '',
  fetch: losslessFetch((request) => globalThis.fetch(request)),
});
client.use(dashboardMiddleware);

/** An answer other than 2xx, or no answer (status 0). `message` is the service's msg. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

function messageOf(error: unknown, response: Response): string {
  if (error && typeof error === 'object' && 'msg' in error && typeof error.msg === 'string') {
    return error.msg;
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

/**
 * The `result` of a call's envelope; throws ApiError on a non-2xx answer or none at all. The
 * type parameter is what the lossless parser gives (see calls.ts), not the schema's `number` keys.
 */
export async function resultOf<T>(call: Promise<FetchResult>): Promise<T> {
  let outcome: FetchResult;
  try {
    outcome = await call;
  } catch (e) {
    throw new ApiError(
      0,
      `The service did not answer (${e instanceof Error ? e.message : 'network error'}).`,
    );
  }
  const { data, error, response } = outcome;
  if (!response.ok) throw new ApiError(response.status, messageOf(error, response));
  const envelope = data as { result?: unknown } | undefined;
  return envelope?.result as T;
}
