import { createServer, get as httpGet, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DestinationStream } from 'pino';
import request from 'supertest';
import { AppConfig } from '../../config/app-config';
import { loadConfig } from '../../config/load-config';
import { requestIdOf, requestLogger, rootLogger } from './logging.options';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed log lines, read loosely
type LogLine = Record<string, any>;

/** A pino destination that keeps the parsed lines. */
function memoryDestination(): DestinationStream & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line)) };
}

/** A plain HTTP server behind the request logger, answering with `status` and a body. */
function loggedServer(config: AppConfig, status = 200) {
  const destination = memoryDestination();
  const logger = rootLogger(config, destination);
  const logRequest = requestLogger(logger);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    logRequest(req, res, () => {
      logger.info({ requestId: requestIdOf(req) }, 'inside the handler');
      req.resume();
      req.on('end', () => res.writeHead(status).end('response-body-text'));
    });
  });
  return { server, lines: destination.lines };
}

/** Waits (bounded) until a request line was written. */
async function waitForLine(lines: LogLine[]): Promise<void> {
  for (let i = 0; i < 100 && !lines.some((l) => l.res); i++) await sleep(10);
}

const jsonConfig = (level = 'log'): AppConfig =>
  loadConfig({ LOG_LEVEL: level, LOG_FORMAT: 'json' });

describe('request logging', () => {
  it('writes one JSON line per request with its id, method, URL, status and time', async () => {
    const { server, lines } = loggedServer(jsonConfig());
    const res = await request(server).get('/task/c/1?x=2').set('X-Request-Id', 'r-1');
    expect(res.headers['x-request-id']).toBe('r-1');
    const line = lines.find((l) => l.res);
    expect(line).toMatchObject({
      level: 'info',
      requestId: 'r-1',
      msg: 'GET /task/c/1?x=2 200',
      req: { id: 'r-1', method: 'GET', url: '/task/c/1?x=2' },
      res: { statusCode: 200 },
    });
    expect(typeof line?.responseTime).toBe('number');
    expect(typeof line?.time).toBe('string');
  });

  it('gives the code serving a request its id, for its own lines', async () => {
    const { server, lines } = loggedServer(jsonConfig());
    await request(server).get('/x').set('X-Request-Id', 'r-2');
    const inside = lines.find((l) => l.msg === 'inside the handler');
    expect(inside).toMatchObject({ requestId: 'r-2' });
    expect(inside).not.toHaveProperty('req');
  });

  it('redacts credentials and never writes request or response bodies', async () => {
    const { server, lines } = loggedServer(jsonConfig());
    await request(server)
      .post('/task/c')
      .set('Authorization', 'Bearer top-secret-key')
      .set('Cookie', 'session=top-secret-cookie')
      .send('{"params":"request-body-text"}');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('top-secret');
    expect(text).not.toContain('request-body-text');
    expect(text).not.toContain('response-body-text');
    expect(lines.find((l) => l.res)?.req.headers).toMatchObject({
      authorization: '[redacted]',
      cookie: '[redacted]',
    });
  });

  it('redacts API keys sent in the wrong header or in the query string', async () => {
    const { server, lines } = loggedServer(jsonConfig());
    await request(server)
      .get(
        '/tasks?limit=5&access_token=top-secret-1&API_KEY=top-secret-2&apikey=top-secret-3' +
          '&key=top-secret-4&token=top-secret-5&tokens=kept',
      )
      .set('Api-Key', 'top-secret-header-1')
      .set('X-Api-Key', 'top-secret-header-2');
    expect(JSON.stringify(lines)).not.toContain('top-secret');
    const url =
      '/tasks?limit=5&access_token=[redacted]&API_KEY=[redacted]&apikey=[redacted]' +
      '&key=[redacted]&token=[redacted]&tokens=kept';
    expect(lines.find((l) => l.res)).toMatchObject({
      msg: `GET ${url} 200`,
      req: { url, headers: { 'api-key': '[redacted]', 'x-api-key': '[redacted]' } },
    });
  });

  it.each([
    [404, 'warn'],
    [503, 'error'],
  ])('logs a %i response at %s level', async (status, level) => {
    const { server, lines } = loggedServer(jsonConfig(), status);
    await request(server).get('/x');
    expect(lines.find((l) => l.res)).toMatchObject({ level, res: { statusCode: status } });
  });

  it('writes a 5xx line without an error object or stack', async () => {
    const { server, lines } = loggedServer(jsonConfig(), 500);
    await request(server).get('/x');
    const line = lines.find((l) => l.res);
    expect(line).toMatchObject({ level: 'error', msg: 'GET /x 500' });
    expect(line).not.toHaveProperty('err');
    expect(line).not.toHaveProperty('stack');
  });

  it('marks a request whose connection closed before the response ended', async () => {
    const destination = memoryDestination();
    const logRequest = requestLogger(rootLogger(jsonConfig(), destination));
    const server = createServer((req, res) => logRequest(req, res, () => res.write('partial')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      const client = httpGet(`http://127.0.0.1:${port}/slow`, (res) => {
        res.once('data', () => client.destroy());
      });
      client.on('error', () => undefined);
      client.on('close', () => resolve());
    });
    await waitForLine(destination.lines);
    server.close();
    expect(destination.lines.find((l) => l.res)).toMatchObject({
      aborted: true,
      msg: 'GET /slow 200 (connection closed before the response ended)',
    });
  });

  it.each(['/health', '/health/live', '/health/ready', '/metrics', '/metrics?name=x'])(
    'writes no line for the probe %s',
    async (path) => {
      const { server, lines } = loggedServer(jsonConfig());
      await request(server).get(path);
      expect(lines.filter((l) => l.res)).toStrictEqual([]);
    },
  );

  it.each([
    ['warn', 0],
    ['silent', 0],
    ['log', 2],
    ['verbose', 2],
  ])('follows LOG_LEVEL=%s for a successful request (%i lines)', async (level, count) => {
    const { server, lines } = loggedServer(jsonConfig(level));
    await request(server).get('/x');
    expect(lines).toHaveLength(count);
  });
});

describe('rootLogger', () => {
  it('creates one logger per configuration, shared by the bootstrap and the app', () => {
    const config = jsonConfig();
    expect(rootLogger(config)).toBe(rootLogger(config));
    expect(rootLogger(jsonConfig())).not.toBe(rootLogger(config));
  });

  it.each([
    ['error', 'error'],
    ['warn', 'warn'],
    ['log', 'info'],
    ['debug', 'debug'],
    ['verbose', 'trace'],
    ['silent', 'silent'],
  ])("maps LOG_LEVEL=%s to pino's %s", (level, pinoLevel) => {
    expect(rootLogger(jsonConfig(level)).level).toBe(pinoLevel);
  });
});
