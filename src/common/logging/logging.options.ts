import { RequestMethod } from '@nestjs/common';
import { Logger as NestPinoLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { DestinationStream, LevelWithSilent, Logger } from 'pino';
import { Options as HttpLoggerOptions, StdSerializedResults } from 'pino-http';
import pretty from 'pino-pretty';
import { AppConfig, LogLevel } from '../../config/app-config';
import { resolveLogFormat } from '../../config/load-config';
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

/** Credentials a request may carry; the values never reach the logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
];

/** Probes and scrapes arrive every few seconds from every client: no log line for each. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

type SerializedRequest = StdSerializedResults['req'];

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
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
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

/** One line per request when it completes: method, URL, status, time and the request id. */
export function httpLoggerOptions(logger: Logger): HttpLoggerOptions {
  const line = (req: { method?: string; originalUrl?: string; url?: string }, status: number) =>
    `${req.method} ${req.originalUrl ?? req.url} ${status}`;
  return {
    logger,
    genReqId: assignRequestId,
    customAttributeKeys: { reqId: 'requestId' },
    // Logs written while serving a request carry its id, not the whole request.
    quietReqLogger: true,
    autoLogging: { ignore: (req) => QUIET_PATHS.has(pathOf(req)) },
    customLogLevel: (_req, res, error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    customSuccessMessage: (req, res) => line(req, res.statusCode),
    customErrorMessage: (req, res) => line(req, res.statusCode),
    // pino-http makes up an Error for every 5xx; its stack points into pino-http, not at a cause.
    customErrorObject: (_req, _res, error, value: Record<string, unknown>) => {
      const { err: _madeUp, ...rest } = value;
      return { ...rest, error: error.message };
    },
    // Bodies are never logged, neither requests' nor responses'; response headers are noise.
    serializers: {
      req: requestFields,
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/** nestjs-pino's settings: request logging on every route, through the configuration's logger. */
export function loggerModuleParams(config: AppConfig): Params {
  return {
    pinoHttp: httpLoggerOptions(rootLogger(config)),
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
  };
}

/** A Nest logger for what main.ts logs before the application (and its Logger) exists. */
export function bootstrapLogger(config: AppConfig): NestPinoLogger {
  const params = loggerModuleParams(config);
  return new NestPinoLogger(new PinoLogger(params), params);
}

/** pino-http's request fields minus `query` and `params`, which repeat the URL. */
function requestFields(req: SerializedRequest): Partial<SerializedRequest> {
  const { id, method, url, headers, remoteAddress, remotePort } = req;
  return { id, method, url, headers, remoteAddress, remotePort };
}

function pathOf(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
