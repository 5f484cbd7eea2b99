import { IncomingMessage, ServerResponse } from 'node:http';
import { closeIfBodyUnread } from './unread-body';

/** The Connection header closeIfBodyUnread sets for a request, if any. */
function connectionHeader(headers: Record<string, string>, complete: boolean): string | undefined {
  const set: Record<string, string> = {};
  const req = { headers, complete } as unknown as IncomingMessage;
  const res = { setHeader: (name: string, value: string) => (set[name] = value) };
  closeIfBodyUnread(req, res as unknown as ServerResponse);
  return set.Connection;
}

describe('closeIfBodyUnread', () => {
  it.each([
    ['a large body still to come', { 'content-length': '65537' }, false, 'close'],
    ['a chunked body still to come', { 'transfer-encoding': 'chunked' }, false, 'close'],
    ['a small body still to come (drained)', { 'content-length': '65536' }, false, undefined],
    ['a large body received whole', { 'content-length': '1048576' }, true, undefined],
    ['no body', {}, false, undefined],
    ['an empty body', { 'content-length': '0' }, false, undefined],
  ])('for %s: Connection %s', (_name, headers, complete, expected) => {
    expect(connectionHeader(headers, complete)).toBe(expected);
  });
});
