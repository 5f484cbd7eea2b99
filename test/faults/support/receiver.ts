import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallReport, ClosedReport, ReceiverReport } from './receiver-process';

export interface ReceivedCall extends Omit<CallReport, 'type'> {
  /** Set once the connection closed. */
  closed?: Omit<ClosedReport, 'type' | 'seq'>;
}

const START_TIMEOUT_MS = 20_000;

/**
 * The parent side of receiver-process.ts: forks it, collects what it reports, and waits for
 * calls. Handler URLs name the behaviour (see receiver-process.ts), e.g. `url('slow/500')`.
 */
export class ReceiverProcess {
  readonly calls: ReceivedCall[] = [];
  private readonly bySeq = new Map<number, ReceivedCall>();
  private port = 0;

  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<ReceiverProcess> {
    const child = fork(join(__dirname, 'receiver-process.ts'), [], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const receiver = new ReceiverProcess(child);
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('receiver did not start')), START_TIMEOUT_MS);
      child.on('message', (report: ReceiverReport) => {
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

  /** Calls to `url(path)`. */
  callsTo(path: string): ReceivedCall[] {
    return this.calls.filter((c) => c.path === `/${path}`);
  }

  /** Distinct task keys called so far among `calls`. */
  static distinctKeys(calls: ReceivedCall[]): Set<string> {
    return new Set(calls.map((c) => c.key));
  }

  /** Polls `done` over the calls until it holds; throws after `timeoutMs` naming `what`. */
  async waitUntil(
    what: string | (() => string),
    done: (calls: ReceivedCall[]) => boolean,
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
  answered(path: string): ReceivedCall[] {
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
