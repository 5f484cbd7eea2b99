import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseJson } from '../../src/common/lossless-json';

export interface ReceivedCall {
  path: string;
  body: string;
  json: unknown;
  headers: IncomingHttpHeaders;
  /** Arrival time in Unix milliseconds, sub-millisecond precision. */
  arrivedAtMs: number;
}

export type Reply =
  { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

/** A local HTTP callback handler that records every request and answers as told. */
export class CallbackReceiver {
  readonly calls: ReceivedCall[] = [];
  /** Decides the reply to each call; 200 "OK" by default. */
  reply: (call: ReceivedCall, index: number) => Reply = () => ({ status: 200, body: 'OK' });
  private server: Server | undefined;
  private waiters: Array<() => void> = [];
  private readonly hanging = new Set<ServerResponse>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path = '/callback'): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}${path}`;
  }

  /** Resolves with the calls once `count` have arrived; rejects after `timeoutMs`. */
  async waitForCalls(count: number, timeoutMs = 10_000): Promise<ReceivedCall[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.calls.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} callbacks within ${timeoutMs} ms, got ${this.calls.length}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.calls.slice(0, count);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const call: ReceivedCall = {
      path: req.url ?? '',
      body,
      json: safeParse(body),
      headers: req.headers,
      arrivedAtMs: performance.timeOrigin + performance.now(),
    };
    const index = this.calls.push(call) - 1;
    for (const waiter of this.waiters.splice(0)) waiter();
    const reply = this.reply(call, index);
    if (reply === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
  }
}

function safeParse(body: string): unknown {
  try {
    return parseJson(body);
  } catch {
    return undefined;
  }
}
