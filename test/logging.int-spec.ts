import { useTestDatabase } from './support/fixtures';
import { spawnService, waitUntilHealthy } from './support/service-process';

/** The lines a process wrote, each parsed as JSON (fails on the first line that is not). */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

describe('logs of the service process', () => {
  const fixture = useTestDatabase();

  it('writes JSON lines: Nest and app logs, one per request with its id, no secrets or bodies', async () => {
    const service = await spawnService({
      DATABASE_URL: fixture.db.url,
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
    });
    await waitUntilHealthy(service);
    const res = await fetch(`${service.baseUrl}/task/logs`, {
      method: 'POST',
      headers: {
        'X-Request-Id': 'log-test-1',
        Authorization: 'Bearer very-secret-api-key',
        'Content-Type': 'application/json',
      },
      body: `{"timestamp":${Date.now() / 1000 + 3600},"key":1,"params":{"m":"body-marker-text"}}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('log-test-1');
    // API keys where the service does not read them: other headers, the query string.
    const query = ['access_token', 'api_key', 'apikey', 'key', 'token']
      .map((name, i) => `${name}=query-secret-${i}`)
      .join('&');
    const keys = await fetch(`${service.baseUrl}/tasks?limit=1&${query}`, {
      headers: {
        'X-Request-Id': 'log-test-keys',
        'Api-Key': 'header-secret-1',
        'X-Api-Key': 'header-secret-2',
      },
    });
    await keys.text();
    service.child.kill('SIGTERM');
    await expect(service.exited).resolves.toBe(0);

    const output = service.output();
    const lines = jsonLines(output);
    const contexts = new Set(lines.map((line) => line.context));
    // Nest's own logs, and `new Logger(context)` in the app's code, all go through pino.
    for (const context of ['NestApplication', 'RouterExplorer', 'Main', 'DispatchWorker']) {
      expect(contexts).toContain(context);
    }
    expect(lines.find((line) => line.requestId === 'log-test-1' && line.res)).toMatchObject({
      level: 'info',
      msg: 'POST /task/logs 200',
      req: { method: 'POST', url: '/task/logs', headers: { authorization: '[redacted]' } },
      res: { statusCode: 200 },
    });
    // Written just before process.exit(0): logging is synchronous, nothing is lost.
    expect(lines.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(/^dispatcher .* stopped$/),
    );
    expect(output).not.toContain('very-secret-api-key');
    expect(output).not.toMatch(/query-secret|header-secret/);
    const redactedUrl =
      '/tasks?limit=1&access_token=[redacted]&api_key=[redacted]&apikey=[redacted]' +
      '&key=[redacted]&token=[redacted]';
    expect(lines.find((line) => line.requestId === 'log-test-keys' && line.res)).toMatchObject({
      msg: expect.stringContaining(`GET ${redactedUrl} `),
      req: { url: redactedUrl, headers: { 'api-key': '[redacted]', 'x-api-key': '[redacted]' } },
    });
    expect(output).not.toContain('body-marker-text');
    // The health probes of waitUntilHealthy are not logged.
    expect(lines.filter((line) => line.res && String(line.msg).includes('/health'))).toStrictEqual(
      [],
    );
  });

  it('writes human-readable lines with LOG_FORMAT=pretty', async () => {
    const service = await spawnService({
      DATABASE_URL: fixture.db.url,
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'pretty',
    });
    await waitUntilHealthy(service);
    service.child.kill('SIGTERM');
    await expect(service.exited).resolves.toBe(0);
    expect(service.output()).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[Main\] delay-tasks listening on \*:\d+$/m,
    );
    expect(service.output()).not.toMatch(/^\{/m);
  });
});
