/**
 * Callback receivers for tests, in two variants:
 *
 * - CallbackReceiver listens in the test process and answers as the test scripts it (status,
 *   headers, body, delay, hang); it keeps whole requests (body, headers).
 * - ReceiverProcess forks test/faults/support/receiver-process.ts, whose timings do not depend on
 *   what the test process is busy with and which outlives replicas that are killed or stopped.
 *   Its behaviours are fixed and chosen by the URL path; it reports a summary of each call.
 */
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson } from '../../src/common/lossless-json';
import type {
  CallReport,
  ClosedReport,
  ReceiverReport,
  SetStatus,
} from '../faults/support/receiver-process';

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

/** A callback handler in this process that records every request and answers as told. */
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

  /** Calls to `url(path)`. */
  callsTo(path: string): ReceivedCall[] {
    return this.calls.filter((call) => call.path === path);
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

/** A call as the receiver process reported it. */
export interface ReportedCall extends Omit<CallReport, 'type'> {
  /** Set once the connection closed. */
  closed?: Omit<ClosedReport, 'type' | 'seq'>;
}

const PROCESS_START_TIMEOUT_MS = 20_000;

/**
 * The parent side of test/faults/support/receiver-process.ts: forks it, collects what it reports,
 * and waits for calls. Handler URLs name the behaviour (see receiver-process.ts), e.g.
 * `url('slow/500')`.
 */
export class ReceiverProcess {
  readonly calls: ReportedCall[] = [];
  private readonly bySeq = new Map<number, ReportedCall>();
  private readonly statusSet = new Map<string, () => void>();
  private port = 0;

  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<ReceiverProcess> {
    const script = join(__dirname, '..', 'faults', 'support', 'receiver-process.ts');
    const child = fork(script, [], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const receiver = new ReceiverProcess(child);
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('receiver did not start')),
        PROCESS_START_TIMEOUT_MS,
      );
      child.on('message', (report: ReceiverReport) => {
        if (report.type === 'status-set') return receiver.statusSet.get(report.name)?.();
        if (report.type !== 'ready') return receiver.record(report);
        clearTimeout(timer);
        resolve(report.port);
      });
      child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
    });
    receiver.port = await ready;
    return receiver;
  }

  url(mode: string): string {
    return `http://127.0.0.1:${this.port}/${mode}`;
  }

  /** From now on `url('switch/<name>')` answers `status`; resolves once the receiver has it. */
  async setStatus(name: string, status: number): Promise<void> {
    const applied = new Promise<void>((resolve) => this.statusSet.set(name, resolve));
    const message: SetStatus = { type: 'set-status', name, status };
    this.child.send(message);
    await applied;
    this.statusSet.delete(name);
  }

  /** Calls to `url(path)`. */
  callsTo(path: string): ReportedCall[] {
    return this.calls.filter((c) => c.path === `/${path}`);
  }

  /** Distinct task keys called so far among `calls`. */
  static distinctKeys(calls: ReportedCall[]): Set<string> {
    return new Set(calls.map((c) => c.key));
  }

  /** Polls `done` over the calls until it holds; throws after `timeoutMs` naming `what`. */
  async waitUntil(
    what: string | (() => string),
    done: (calls: ReportedCall[]) => boolean,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.calls)) {
      if (Date.now() > deadline) {
        const described = typeof what === 'string' ? what : what();
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
      }
      await sleep(20);
    }
  }

  /** Resolves once the receiver has seen `count` distinct keys in calls to `url(path)`. */
  async waitForKeys(path: string, count: number, timeoutMs: number): Promise<void> {
    const seen = (): number => ReceiverProcess.distinctKeys(this.callsTo(path)).size;
    await this.waitUntil(
      () => `${count} distinct keys at /${path} (got ${seen()})`,
      () => seen() >= count,
      timeoutMs,
    );
  }

  /** Calls to `url(path)` that the receiver answered in full (the client did not cut them off). */
  answered(path: string): ReportedCall[] {
    return this.callsTo(path).filter((c) => c.closed?.answered === true);
  }

  /** Resolves once `count` distinct keys were answered at `url(path)`. */
  async waitForAnsweredKeys(path: string, count: number, timeoutMs: number): Promise<void> {
    const seen = (): number => ReceiverProcess.distinctKeys(this.answered(path)).size;
    await this.waitUntil(
      () => `${count} distinct keys answered at /${path} (got ${seen()})`,
      () => seen() >= count,
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  private record(report: CallReport | ClosedReport): void {
    if (report.type === 'call') {
      const { type: _type, ...call } = report;
      this.calls.push(call);
      this.bySeq.set(call.seq, call);
      return;
    }
    const call = this.bySeq.get(report.seq);
    if (call) {
      const { type: _type, seq: _seq, ...closed } = report;
      call.closed = closed;
    }
  }
}

function safeParse(body: string): unknown {
  try {
    return parseJson(body);
  } catch {
    return undefined;
  }
}
