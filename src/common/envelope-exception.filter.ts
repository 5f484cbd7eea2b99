import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { requestIdOf } from './logging/logging.options';
import { Response } from 'express';
import { isTransientDatabaseError } from '../database/transient-retry';
import { envelopeJson, JSON_CONTENT_TYPE } from './envelope';

/** SQLSTATE classes and driver messages that mean "the database is unreachable right now". */
const UNAVAILABLE_CODES = /^(08|57P0|53300)/;
const UNAVAILABLE_MESSAGES =
  /Connection terminated|ECONNREFUSED|ECONNRESET|timeout exceeded when trying to connect|Client has encountered a connection error/i;
/** Retry-After (seconds) of a 503 for a database that is away or busy: clients come back soon. */
const DATABASE_RETRY_AFTER_SECONDS = 1;

/**
 * Turns every error into the `{code,msg}` envelope. Client errors keep their message; anything
 * else is logged with its stack and answered without driver or stack text.
 */
@Catch()
export class EnvelopeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const { status, msg, retryAfterSeconds } = this.describe(exception);
    if (status >= 500) {
      this.logger.error({
        requestId: requestIdOf(http.getRequest()),
        msg: `${status} ${msg}: ${(exception as Error)?.message}`,
        stack: (exception as Error)?.stack,
      });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).setHeader('Content-Type', JSON_CONTENT_TYPE);
    if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
    res.send(envelopeJson(status, msg));
  }

  private describe(exception: unknown): {
    status: number;
    msg: string;
    retryAfterSeconds?: number;
  } {
    if (exception instanceof HttpException) {
      return { status: exception.getStatus(), msg: messageOf(exception) };
    }
    const retryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS;
    if (isDatabaseUnavailable(exception)) {
      return { status: 503, msg: 'database unavailable, retry later', retryAfterSeconds };
    }
    // A deadlock, serialization failure or lock timeout that outlasted the repository's retries
    // (retryTransient): nothing was written, and the same request is likely to succeed soon.
    if (isTransientDatabaseError(exception)) {
      return { status: 503, msg: 'database busy, retry later', retryAfterSeconds };
    }
    return { status: 500, msg: 'internal error' };
  }
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) ||
    UNAVAILABLE_MESSAGES.test(error.message)
  );
}
