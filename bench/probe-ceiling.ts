/**
 * What one Node process can answer over HTTP on this machine, to put the ingest figure in
 * context: the same load (64 keep-alive connections, autocannon in this process) against a bare
 * node:http server, a minimal NestJS app (one route, platform-express), the service's
 * /health/live (its whole middleware stack, no database) and the service's POST /task.
 *
 *   npm run build && npx ts-node --transpile-only bench/probe-ceiling.ts [seconds]
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase } from './lib/db';
import { startService } from './lib/processes';

@Controller()
class LiveController {
  @Get('/health/live')
  live(): { code: number; msg: string } {
    return { code: 200, msg: 'OK' };
  }
}

@Module({ controllers: [LiveController] })
class MinimalModule {}

/** Child mode: serve `kind` on a free port and report the port to the parent. */
async function serve(kind: string): Promise<void> {
  if (kind === 'bare') {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"code":200,"msg":"OK"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    process.send?.((server.address() as AddressInfo).port);
    return;
  }
  const app = await NestFactory.create(MinimalModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  process.send?.((app.getHttpServer() as import('node:http').Server).address());
}

async function child(kind: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const proc = fork(__filename, ['--serve', kind], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
  });
  const [message] = (await once(proc, 'message')) as [number | AddressInfo];
  const port = typeof message === 'number' ? message : message.port;
  return { child: proc, baseUrl: `http://127.0.0.1:${port}` };
}

async function load(
  url: string,
  seconds: number,
  post?: () => string,
): Promise<{ perSecond: number; p99: number }> {
  const result = await autocannon({
    url,
    connections: 64,
    duration: seconds,
    ...(post
      ? {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          requests: [{ setupRequest: (req) => ({ ...req, body: post() }) }],
        }
      : {}),
  });
  return { perSecond: Math.round(result['2xx'] / seconds), p99: result.latency.p99 };
}

async function main(): Promise<void> {
  const serveIndex = process.argv.indexOf('--serve');
  if (serveIndex !== -1) return serve(process.argv[serveIndex + 1]);
  const seconds = Number(process.argv[2] ?? 8);
  const rows: Array<[string, { perSecond: number; p99: number }]> = [];
  for (const kind of ['bare', 'nest']) {
    const { child: proc, baseUrl } = await child(kind);
    rows.push([
      kind === 'bare' ? 'bare node:http' : 'minimal NestJS route',
      await load(`${baseUrl}/health/live`, seconds),
    ]);
    proc.kill();
  }
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_ceiling');
  const service = await startService({ DATABASE_URL: db });
  rows.push([
    'delay-tasks GET /health/live',
    await load(`${service.baseUrl}/health/live`, seconds),
  ]);
  const due = Math.floor(Date.now() / 1000) + 86_400;
  let key = 0;
  rows.push([
    'delay-tasks POST /task/:cate',
    await load(`${service.baseUrl}/task/ceiling`, seconds, () => {
      key++;
      return `{"timestamp":${due},"key":${key},"params":{"n":${key}}}`;
    }),
  ]);
  await service.stop();
  await dropDatabase(server, 'dt_probe_ceiling');
  for (const [name, { perSecond, p99 }] of rows) {
    console.log(`${name.padEnd(32)} ${String(perSecond).padStart(7)} req/s   p99 ${p99} ms`);
  }
}

main().then(
  () => {
    if (!process.argv.includes('--serve')) process.exit(0);
  },
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
