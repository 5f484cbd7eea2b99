import { connect } from 'node:net';
import { useTestApp } from './support/fixtures';

/** Writes `raw` on a fresh connection and returns everything the server sent until it closed. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(raw));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function parse(reply: string): { status: number; headers: string; body: unknown } {
  const [head, body] = reply.split('\r\n\r\n', 2);
  return {
    status: Number(head.split(' ')[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(body) as unknown,
  };
}

describe('requests the HTTP parser rejects', () => {
  const fixture = useTestApp({ dispatchEnabled: false }, { listen: true });

  it('answers a malformed request line with 400 in the envelope', async () => {
    const reply = parse(await exchange(fixture.port, 'NOT HTTP AT ALL\r\n\r\n'));
    expect(reply.status).toBe(400);
    expect(reply.headers).toContain('content-type: application/json');
    expect(reply.headers).toContain('connection: close');
    expect(reply.body).toEqual({ code: 400, msg: 'malformed HTTP request' });
  });

  it('answers an invalid header with 400 in the envelope', async () => {
    const raw = 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n';
    const reply = parse(await exchange(fixture.port, raw));
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ code: 400, msg: 'malformed HTTP request' });
  });

  it('answers headers over the limit with 431 in the envelope', async () => {
    const raw = `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    const reply = parse(await exchange(fixture.port, raw));
    expect(reply.status).toBe(431);
    expect(reply.body).toEqual({ code: 431, msg: 'request headers too large' });
  });

  it('sends no body to a HEAD request', async () => {
    const reply = await exchange(fixture.port, 'HEAD /h\u00fc HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply.endsWith('\r\n\r\n')).toBe(true);
  });

  it('keeps serving well-formed requests afterwards', async () => {
    const reply = await exchange(
      fixture.port,
      'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(reply.startsWith('HTTP/1.1 200')).toBe(true);
    expect(reply.endsWith('OK')).toBe(true);
  });
});
