import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A body still to come of at most this many bytes is read and discarded after the response, so
 * that the connection serves the client's next request (Go's net/http does so up to 256 KiB).
 */
const DRAINED_BODY_BYTES = 65_536;

/**
 * For a request refused before its body is read: makes its response the connection's last
 * (`Connection: close`) when much of the body may still be to come.
 *
 * Once a response is sent, Node reads and discards whatever is left of the request's body so
 * that the connection can serve the next request: for a client that sent no key, that would be
 * up to whatever its Content-Length announces (or a chunked body that never ends), and a client
 * that announced a body and sends none would hold the connection waiting for it. With
 * `Connection: close`, Node closes the connection as soon as the response is written instead.
 * A small body is drained as usual, and its connection kept.
 */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  const announced = Number(req.headers['content-length'] ?? 0);
  const large =
    req.headers['transfer-encoding'] !== undefined || !(announced <= DRAINED_BODY_BYTES); // NaN too: Node refuses it, but be safe
  if (large && !req.complete) res.setHeader('Connection', 'close');
}
