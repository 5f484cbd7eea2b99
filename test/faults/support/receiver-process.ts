/**
 * A callback handler in its own process (forked by ReceiverProcess), so that its timings do not
 * depend on what the test process is busy with and it outlives the replicas that are killed or
 * stopped. The first path segment picks the behaviour:
 *
 * - `/ok` answers 200 at once; `/slow/<ms>` answers 200 after `ms`.
 * - `/hang` reads the request and never answers.
 * - `/drip` sends 200 and its headers, then one byte per second, never ending.
 * - `/huge` sends 200 and then an endless body as fast as the client takes it.
 * - `/reset` resets the connection (TCP RST) once the request has arrived.
 * - `/status/<code>[?retryAfter=<value>]` answers that status, with that Retry-After.
 * - `/nul` answers 500 with a body that holds a NUL byte.
 * - `/switch/<name>` answers the status the parent last set for `name` (SetStatus over IPC;
 *   200 until then): a receiver that falls over and recovers.
 *
 * Each request is reported to the parent over IPC when it arrives (`call`) and when its
 * connection closes (`closed`: answered or cut off by the client, with the body bytes sent).
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface CallReport {
  type: 'call';
  seq: number;
  path: string;
  cate: string;
  key: string;
  deliveryId: string;
  attempt: number;
  /** The task's due time in Unix ms, from the x-task-due header. */
  dueMs: number;
  /** An occurrence of a schedule: its time in Unix seconds (X-Schedule-Time); else absent. */
  scheduleTime?: number;
  arrivedAtMs: number;
}

export interface ClosedReport {
  type: 'closed';
  seq: number;
  closedAtMs: number;
  /** The response was complete when the connection closed (false: the client cut it off). */
  answered: boolean;
  bytesSent: number;
}

export type ReceiverReport =
  | CallReport
  | ClosedReport
  | { type: 'ready'; port: number }
  | { type: 'status-set'; name: string };

/** Sent by the parent: `/switch/<name>` answers `status` from now on. */
export interface SetStatus {
  type: 'set-status';
  name: string;
  status: number;
}

const switchStatus = new Map<string, number>();

const HUGE_CHUNK = Buffer.alloc(64 * 1024, 'x');
/** A safety stop for /huge, far above anything a client should read. */
const HUGE_MAX_BYTES = 4 * 1024 * 1024 * 1024;

const nowMs = (): number => performance.timeOrigin + performance.now();
const send = (report: ReceiverReport): void => void process.send?.(report);

let seq = 0;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => respond(req, res, Buffer.concat(chunks).toString('utf8')));
}

function respond(req: IncomingMessage, res: ServerResponse, body: string): void {
  const arrivedAtMs = nowMs();
  const url = new URL(req.url ?? '/', 'http://receiver');
  const [, mode = '', arg = ''] = url.pathname.split('/');
  const head = /^\{"cate":("(?:[^"\\]|\\.)*"),"inAdvance":(?:true|false),"key":(\d+)/.exec(body);
  const call: CallReport = {
    type: 'call',
    seq: seq++,
    path: url.pathname,
    cate: head ? (JSON.parse(head[1]) as string) : '',
    key: head ? head[2] : '',
    deliveryId: String(req.headers['x-delivery-id'] ?? ''),
    attempt: Number(req.headers['x-delivery-attempt'] ?? 0),
    dueMs: Number(req.headers['x-task-due'] ?? NaN) * 1000,
    scheduleTime:
      req.headers['x-schedule-time'] === undefined
        ? undefined
        : Number(req.headers['x-schedule-time']),
    arrivedAtMs,
  };
  send(call);
  let bytesSent = 0;
  const timers: NodeJS.Timeout[] = [];
  res.on('close', () => {
    for (const timer of timers) clearInterval(timer);
    send({
      type: 'closed',
      seq: call.seq,
      closedAtMs: nowMs(),
      answered: res.writableFinished,
      bytesSent,
    });
  });
  switch (mode) {
    case 'ok':
      res.writeHead(200).end('OK');
      return;
    case 'slow':
      timers.push(setTimeout(() => res.writeHead(200).end('OK'), Number(arg)));
      return;
    case 'hang':
      return;
    case 'drip':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      timers.push(
        setInterval(() => {
          res.write('x');
          bytesSent += 1;
        }, 1000),
      );
      return;
    case 'huge': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (!res.destroyed && bytesSent < HUGE_MAX_BYTES) {
          bytesSent += HUGE_CHUNK.length;
          if (!res.write(HUGE_CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      return;
    }
    case 'reset':
      req.socket.resetAndDestroy();
      return;
    case 'status': {
      const retryAfter = url.searchParams.get('retryAfter');
      res.writeHead(Number(arg), retryAfter === null ? {} : { 'retry-after': retryAfter });
      res.end(`status ${arg}`);
      return;
    }
    case 'switch': {
      const status = switchStatus.get(arg) ?? 200;
      res.writeHead(status).end(`status ${status}`);
      return;
    }
    case 'nul':
      res.writeHead(500, { 'content-type': 'text/plain' }).end('bad\u0000byte');
      return;
    default:
      res.writeHead(404).end('unknown mode');
  }
}

const server = createServer(handle);
server.keepAliveTimeout = 60_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 10_000;
server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
process.on('message', (message: SetStatus) => {
  if (message.type === 'set-status') switchStatus.set(message.name, message.status);
  send({ type: 'status-set', name: message.name });
});
process.on('disconnect', () => process.exit(0));
