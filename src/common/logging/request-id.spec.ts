import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { assignRequestId, sanitizeRequestId } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function exchange(headers: Record<string, string | string[]>): {
  req: IncomingMessage;
  res: ServerResponse;
} {
  const req = new IncomingMessage(new Socket());
  Object.assign(req.headers, headers);
  return { req, res: new ServerResponse(req) };
}

describe('sanitizeRequestId', () => {
  it.each(['abc', 'req-1.2_3:4', 'A'.repeat(128), '0b6f2c5e-8a7d-4d8e-9f0a-1b2c3d4e5f60'])(
    'keeps %p',
    (id) => {
      expect(sanitizeRequestId(id)).toBe(id);
    },
  );

  it.each([
    ['too long', 'A'.repeat(129)],
    ['empty', ''],
    ['with a space', 'a b'],
    ['with a newline (log injection)', 'a\nb'],
    ['with a slash', 'a/b'],
    ['with non-ASCII letters', 'é'],
    ['with JSON', '{"a":1}'],
  ])('refuses an id %s', (_what, id) => {
    expect(sanitizeRequestId(id)).toBeUndefined();
  });

  it('refuses a missing or repeated header', () => {
    expect(sanitizeRequestId(undefined)).toBeUndefined();
    expect(sanitizeRequestId(['a', 'b'])).toBeUndefined();
  });
});

describe('assignRequestId', () => {
  it("uses and echoes the caller's valid X-Request-Id", () => {
    const { req, res } = exchange({ 'x-request-id': 'caller-42' });
    expect(assignRequestId(req, res)).toBe('caller-42');
    expect(res.getHeader('X-Request-Id')).toBe('caller-42');
  });

  it.each([
    ['absent', {}],
    ['invalid', { 'x-request-id': 'not valid!' }],
  ])('generates and echoes a UUID when the header is %s', (_what, headers) => {
    const { req, res } = exchange(headers);
    const id = assignRequestId(req, res);
    expect(id).toMatch(UUID);
    expect(res.getHeader('X-Request-Id')).toBe(id);
  });

  it('generates a different id for each request', () => {
    const first = exchange({});
    const second = exchange({});
    expect(assignRequestId(first.req, first.res)).not.toBe(assignRequestId(second.req, second.res));
  });
});
