import { Logger as NestPinoLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { DestinationStream, LevelWithSilent, Logger } from 'pino';
import { IncomingMessage, ServerResponse } from 'node:http';
import pretty from 'pino-pretty';
import { AppConfig, LogLevel } from '../../config/app-config';
import { resolveLogFormat } from '../../config/load-config';
import { maskQuerySecrets } from '../url-secrets';
import { assignRequestId } from './request-id';

/** LOG_LEVEL uses Nest's names; pino calls Nest's `log` info and `verbose` trace. */
export const PINO_LEVELS: Record<LogLevel, LevelWithSilent> = {
  silent: 'silent',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Credentials a request may carry, in headers (also where clients put API keys by mistake: the
 * service reads only Authorization); the values never reach the logs. Credentials in the query
 * string (SECRET_QUERY_PARAMS) are redacted from the URL by requestLogger.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
];

const REDACTED = '[redacted]';

/** Probes and scrapes arrive every few seconds from every client: no log line for each. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

const rootLoggers = new WeakMap<AppConfig, Logger>();

/**
 * The pino logger of a configuration, created once, so that the bootstrap logger (main.ts) and
 * the application write through the same instance. Writes are synchronous: lines logged just
 * before process.exit() are not lost. `destination` replaces stdout (tests).
 */
export function rootLogger(config: AppConfig, destination?: DestinationStream): Logger {
  let logger = rootLoggers.get(config);
  if (logger) return logger;
  const json = resolveLogFormat(config.logFormat) === 'json';
  const options: pino.LoggerOptions = {
    level: PINO_LEVELS[config.logLevel],
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names ("warn") read better than numbers in JSON; pino-pretty wants the numbers.
    formatters: json ? { level: (label) => ({ level: label }) } : {},
  };
  const stream = destination ?? (json ? pino.destination({ dest: 1, sync: true }) : prettyStream());
  logger = pino(options, stream);
  rootLoggers.set(config, logger);
  return logger;
}

/** For a developer's terminal: one line per event, the request line without its headers. */
function prettyStream(): DestinationStream {
  return pretty({
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    messageFormat: '{if context}[{context}] {end}{msg}',
    ignore: 'pid,hostname,context,req,res',
  });
}

interface LoggedRequest extends IncomingMessage {
  /** The request id, set by requestLogger; the exception filter tags its lines with it. */
  requestId?: string;
  originalUrl?: string;
}

/**
 * Assigns each request its id (echoed in X-Request-Id) and writes one line when it completes:
 * method, URL (values of credential query parameters redacted), status, time, the request id
 * and the request's headers (credentials redacted by the logger), never a body. 5xx lines are
 * errors, 4xx warnings, the rest info; probes and scrapes are not logged. Nothing is computed for
 * a line the level leaves out.
 *
 * Deliberately not pino-http behind nestjs-pino's per-request AsyncLocalStorage: on Node 20 that
 * context makes every promise of every request dearer (bench/probe-ingest.ts: 858–868/s with
 * both, 1,184/s without the context, 1,493/s without either).
 * Lines logged while serving a request that matter (the exception filter's) carry the id
 * explicitly instead.
 */
export function requestLogger(
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (request, res, next) => {
    const req = request as LoggedRequest;
    const id = assignRequestId(req, res);
    req.requestId = id;
    const started = performance.now();
    res.once('close', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level) || QUIET_PATHS.has(pathOf(req))) return;
      const url = maskQuerySecrets(req.originalUrl ?? req.url ?? '', REDACTED);
      const aborted = !res.writableFinished;
      logger[level](
        {
          requestId: id,
          req: {
            id,
            method: req.method,
            url,
            headers: { ...req.headers },
            remoteAddress: req.socket.remoteAddress,
            remotePort: req.socket.remotePort,
          },
          res: { statusCode: status },
          responseTime: Math.round(performance.now() - started),
          ...(aborted ? { aborted: true } : {}),
        },
        `${req.method} ${url} ${status}${aborted ? ' (connection closed before the response ended)' : ''}`,
      );
    });
    next();
  };
}

/** The request id requestLogger gave `req`, if any. */
export function requestIdOf(req: unknown): string | undefined {
  return (req as LoggedRequest | undefined)?.requestId;
}

/**
 * nestjs-pino's settings: its Logger carries Nest's and the app's logs to the configuration's
 * pino logger; it mounts no per-request middleware (requestLogger does the request lines).
 */
export function loggerModuleParams(config: AppConfig): Params {
  return {
    pinoHttp: { logger: rootLogger(config), autoLogging: false, quietReqLogger: true },
    forRoutes: [],
  };
}

/** A Nest logger for what main.ts logs before the application (and its Logger) exists. */
export function bootstrapLogger(config: AppConfig): NestPinoLogger {
  const params = loggerModuleParams(config);
  return new NestPinoLogger(new PinoLogger(params), params);
}

function pathOf(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
