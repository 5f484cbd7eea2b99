/**
 * Callback receiver for benchmarks, run as its own process (so that its work does not share an
 * event loop with the load generator): answers 200 at once over keep-alive and records each
 * arrival. Talks to its parent over IPC: sends {port} when listening; on 'report' sends back
 * every arrival and clears the list.
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Arrival {
  deliveryId: string;
  due: number;
  arrivedAtMs: number;
  inAdvance: boolean;
}

const arrivals: Arrival[] = [];

const server = createServer((req, res) => {
  const arrivedAtMs = performance.timeOrigin + performance.now();
  req.resume();
  req.on('end', () => {
    arrivals.push({
      deliveryId: String(req.headers['x-delivery-id']),
      due: Number(req.headers['x-task-due']),
      arrivedAtMs,
      inAdvance: false,
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

process.on('message', (message: unknown) => {
  if (message === 'report') process.send?.({ arrivals: arrivals.splice(0) });
  if (message === 'stop') server.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
