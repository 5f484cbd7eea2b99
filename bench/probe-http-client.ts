/**
 * CPU cost of one callback POST through different client set-ups, measured in this process
 * (process.cpuUsage) against a local keep-alive server in a child process that answers "OK":
 * 64 concurrent loops, 20,000 requests per variant, the second of two rounds reported.
 *
 *   npx ts-node --transpile-only bench/probe-http-client.ts
 */
import axios from 'axios';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

const REQUESTS = 20_000;
const CONCURRENCY = 64;

function serve(): void {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
}

function drain(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.once('end', resolve);
  });
}

async function main(): Promise<void> {
  const child = fork(__filename, ['--serve'], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const [port] = (await once(child, 'message')) as [number];
  const url = `http://127.0.0.1:${port}/callback`;
  const body = '{"cate":"b","inAdvance":false,"key":12345,"params":{"i":1}}';
  const headers = {
    'content-type': 'application/json; charset=UTF-8',
    'x-delivery-id': '0b6c4d1e-0000-4000-8000-000000000000',
    'x-delivery-attempt': '1',
    'x-task-due': '1795800000.5',
  };
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const client = axios.create();
  /** The service's request (callback.client.ts): streamed answer, read to its end. */
  const postStreamed = async (signal: AbortSignal): Promise<void> => {
    const response = await client.request<Readable>({
      method: 'POST',
      url,
      data: body,
      headers,
      signal,
      maxRedirects: 0,
      proxy: false,
      decompress: false,
      responseType: 'stream',
      validateStatus: () => true,
      transformRequest: [(data: unknown) => data],
      httpAgent: agent,
    });
    await drain(response.data);
  };
  const variants: Record<string, () => Promise<void>> = {
    'axios, stream, AbortSignal.timeout+any': () =>
      postStreamed(AbortSignal.any([AbortSignal.timeout(5000), new AbortController().signal])),
    'axios, stream, one controller (service)': async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 5000);
      await postStreamed(controller.signal);
      clearTimeout(timer);
    },
    'axios.post, defaults (the peer)': async () => {
      await client.post(url, body, {
        httpAgent: agent,
        timeout: 5000,
        maxRedirects: 0,
        validateStatus: () => true,
        headers,
      });
    },
    'node:http request': () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          url,
          { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
          (res) => void drain(res).then(resolve),
        );
        req.on('error', reject);
        req.end(body);
      }),
  };
  for (const round of [1, 2]) {
    for (const [name, send] of Object.entries(variants)) {
      let started = 0;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (started++ < REQUESTS) await send();
        }),
      );
      const used = process.cpuUsage(cpu);
      const seconds = (performance.now() - t0) / 1000;
      if (round === 2) {
        const perRequest = Math.round((used.user + used.system) / REQUESTS);
        console.log(
          `${name.padEnd(42)} ${String(perRequest).padStart(4)} µs CPU/request  ${Math.round(REQUESTS / seconds)} requests/s`,
        );
      }
    }
  }
  child.kill();
}

if (process.argv.includes('--serve')) serve();
else
  main().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error);
      process.exit(1);
    },
  );
