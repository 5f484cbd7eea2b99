import { IncomingMessage } from 'node:http';
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { BodyShape } from './json-parser';
import { JsonParseError, MAX_JSON_DEPTH, parseJson } from './lossless-json';

/**
 * What of a request body is built into values: the body object; `params` (any JSON, stored and
 * delivered as given) is kept as its text, RawJson, wherever it is; and the objects of `tasks`
 * (POST /tasks/:cate) are built when there are at most 1,000 of them (MAX_BATCH_TASKS: a longer
 * list is refused there anyway). Any other array or object is validated and kept as RawJson: no
 * route reads one, and whitelisting drops unknown fields. Built objects may have up to 64 fields
 * (the API reads at most 5), 8,192 in all (1,000 tasks of 8).
 */
export const BODY_SHAPE: BodyShape = {
  rawMember: 'params',
  listMember: 'tasks',
  maxListItems: 1000,
  maxMembers: 64,
  maxTotalMembers: 8192,
};

export interface BodyLimits {
  maxBytes: number;
  maxDepth: number;
}

export class BodyTooLargeError extends Error {}
/** A Content-Encoding that cannot be decoded. */
export class BodyEncodingError extends Error {}
/** The body could not be read: the client went away, or it does not decompress. */
export class BodyReadError extends Error {}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Collects a request body as its chunks arrive, refusing it at the first byte past the size limit
 * and at the first bracket past the nesting limit, so that neither costs reading (let alone
 * parsing) the rest. Brackets are counted outside strings; within UTF-8 text these ASCII bytes
 * never occur inside a multi-byte character. Then parses the whole, in time linear in its size.
 */
export class JsonBodyScanner {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly limits: BodyLimits) {}

  write(chunk: Buffer): void {
    if (this.size + chunk.length > this.limits.maxBytes) {
      throw new BodyTooLargeError(`request body is larger than ${this.limits.maxBytes} bytes`);
    }
    this.scan(chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The body's value; undefined when it is empty or only whitespace. */
  parse(): unknown {
    const text = Buffer.concat(this.chunks, this.size).toString('utf8');
    if (text.trim() === '') return undefined;
    return parseJson(text, { maxDepth: this.limits.maxDepth, shape: BODY_SHAPE });
  }

  private scan(chunk: Buffer): void {
    let { depth, inString, escaped } = this;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) {
        inString = true;
      } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
        if (++depth > this.limits.maxDepth) {
          throw new JsonParseError(`JSON nesting is deeper than ${this.limits.maxDepth} levels`);
        }
      } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
        depth--;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
  }
}

/** Parses a whole body as JsonBodyMiddleware does, fed in chunks as a socket delivers them. */
export function parseBody(
  body: Buffer,
  limits: BodyLimits = { maxBytes: Infinity, maxDepth: MAX_JSON_DEPTH },
  chunkSize = 65_536,
): unknown {
  const scanner = new JsonBodyScanner(limits);
  for (let start = 0; start < body.length; start += chunkSize) {
    scanner.write(body.subarray(start, start + chunkSize));
  }
  return scanner.parse();
}

/**
 * Feeds the request's body, decompressed as its Content-Encoding says, to the scanner; rejects
 * with the scanner's error as soon as it refuses a chunk, and Content-Length over the limit at
 * once. What is left of a refused body is read and dropped as it comes, unless the answer closes
 * the connection (closeIfBodyUnread).
 */
export async function readBody(
  req: IncomingMessage,
  scanner: JsonBodyScanner,
  maxBytes: number,
): Promise<void> {
  // As body-parser: a body is announced by Transfer-Encoding or a numeric Content-Length.
  const length = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] === undefined && Number.isNaN(length)) {
    return;
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity' && length > maxBytes) {
    throw new BodyTooLargeError(`Content-Length ${length} is over the limit`);
  }
  const decoder = encoding === 'identity' ? undefined : decompressor(encoding);
  if (decoder) req.pipe(decoder);
  await feed(req, decoder, scanner);
}

/** Writes what `decoder` (or, without one, `req`) yields to the scanner, until the end. */
function feed(
  req: IncomingMessage,
  decoder: Transform | undefined,
  scanner: JsonBodyScanner,
): Promise<void> {
  const stream: Readable = decoder ?? req;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      stream.off('data', onData).off('end', finish).off('error', onError);
      req.off('error', onError).off('close', onClose);
      if (decoder) {
        req.unpipe(decoder);
        decoder.on('error', () => undefined).destroy();
      }
      req.resume(); // whatever is left is read and dropped
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      try {
        scanner.write(chunk);
      } catch (error) {
        finish(error as Error);
      }
    };
    const onError = (): void => finish(new BodyReadError('request body could not be read'));
    const onClose = (): void => {
      if (!req.complete) onError(); // closed before the body's end: the client went away
    };
    stream.on('data', onData).on('end', finish).on('error', onError);
    req.on('error', onError).on('close', onClose);
  });
}

/** The decoders body-parser has (zstd where Node has it). */
function decompressor(encoding: string): Transform {
  const zstd = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (encoding === 'gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  if (encoding === 'zstd' && zstd) return zstd();
  throw new BodyEncodingError(`content encoding ${encoding} is not supported`);
}
