/**
 * CPU cost of one callback POST through different client set-ups, measured in this process
 * (process.cpuUsage) against a local keep-alive server in a child process that answers "OK":
 * 64 concurrent loops, 20,000 requests per variant, the second of two rounds reported. The
 * service's own path is CallbackClient (axios with the undici transport as its adapter); raw
 * undici Pool.request is the floor under it.
 *
 *   npx ts-node --transpile-only bench/probe-http-client.ts
 */
import axios, { AxiosHeaders } from 'axios';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { NetworkPolicy } from '../src/common/network-policy';
import { AppConfig } from '../src/config/app-config';
import { callbackHttpService } from '../src/modules/dispatch/callback-http';
import { CallbackClient } from '../src/modules/dispatch/callback.client';
import { ConnectionGuard } from '../src/modules/dispatch/guarded-agent';
import { UndiciTransport } from '../src/modules/dispatch/undici-transport';

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
  const settings = { callbackNetworkPolicy: 'private', callbackAllowCidrs: ['127.0.0.1/32'] };
  const config = { ...settings, captureResponseBytes: 1024 } as Partial<AppConfig> as AppConfig;
  const callbackClient = new CallbackClient(callbackHttpService(), config);
  const transport = new UndiciTransport(
    new ConnectionGuard(new NetworkPolicy(settings as AppConfig)),
    { bodyCap: 1024, keepBytes: 1024 },
  );
  const pool = new Pool(new URL(url).origin);
  /** One signal for all, as the dispatch worker's shutdown cut-off. */
  const cutOff = new AbortController().signal;
  const anyStatus = (): boolean => true;
  /** The service's request before the undici transport: streamed answer, read to its end. */
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
    'CallbackClient: axios + undici (service)': async () => {
      const result = await callbackClient.post({
        url,
        body,
        headers,
        timeoutMs: 5000,
        signal: cutOff,
      });
      if (result.kind !== 'response') throw new Error(JSON.stringify(result));
    },
    'undici transport adapter, no axios': async () => {
      const response = await transport.adapter({
        method: 'post',
        url,
        data: body,
        headers: new AxiosHeaders(headers),
        timeout: 5000,
        signal: cutOff,
        validateStatus: anyStatus,
      });
      await (response.data as Promise<string>);
    },
    'undici Pool.request (floor)': async () => {
      const response = await pool.request({ path: '/callback', method: 'POST', headers, body });
      await response.body.text();
    },
    'axios, stream, AbortSignal.timeout+any': () =>
      postStreamed(AbortSignal.any([AbortSignal.timeout(5000), new AbortController().signal])),
    'axios, http.Agent, stream (service before)': async () => {
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
  callbackClient.close();
  await Promise.all([transport.close(), pool.close()]);
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
