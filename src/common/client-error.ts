import { Server, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import { envelopeJson, JSON_CONTENT_TYPE } from './envelope';

/** Node's HTTP parser errors that get an answer, and what the envelope says about them. */
const ANSWERS: Record<string, { status: number; msg: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, msg: 'request headers too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, msg: 'request timed out' },
};
const MALFORMED = { status: 400, msg: 'malformed HTTP request' };

interface ParserError extends Error {
  code?: string;
  /** The bytes the parser was reading when it failed. */
  rawPacket?: Buffer;
}

/** A socket's response in progress, which Node keeps on it (not part of the typed API). */
interface SocketWithResponse extends Duplex {
  _httpMessage?: { headersSent?: boolean };
}

/**
 * A request Node's HTTP parser rejects (malformed request line or headers, headers over the
 * limit, a request that timed out) never reaches Nest; by default Node answers it with a bare
 * status line. This answers it in the API's envelope instead, like every other error, and closes
 * the connection (the parser cannot resynchronise on it).
 */
export function answerClientErrorsInEnvelope(server: Server): void {
  server.on('clientError', (error: ParserError, socket: SocketWithResponse) => {
    const responding = socket._httpMessage?.headersSent === true;
    if (error.code === 'ECONNRESET' || !socket.writable || responding) {
      socket.destroy();
      return;
    }
    const { status, msg } = (error.code && ANSWERS[error.code]) || MALFORMED;
    const body = envelopeJson(status, msg);
    // The answer to a HEAD request has no body (a client would read one as the next response).
    const head = error.rawPacket?.toString('latin1', 0, 5) === 'HEAD ';
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: ${JSON_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        (head ? '' : body),
    );
  });
}
