import { INestApplication } from '@nestjs/common';
import { Server } from 'node:http';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { answerClientErrorsInEnvelope } from './common/client-error';
import { EnvelopeExpressAdapter } from './common/envelope.adapter';
import { requestLogger, rootLogger } from './common/logging/logging.options';
import { createApiDocument, setupApiDocs } from './common/openapi.document';
import { securityHeaders } from './common/security-headers';
import { AppConfig } from './config/app-config';
import { serveDashboardUi, UI_MOUNT } from './modules/dashboard/ui-static';

/**
 * Application-level setup that is not a module (HTTP headers, API docs, …). Called by main.ts
 * and by the tests' app factory, so that tests exercise what production runs.
 */
export function configureApp(app: INestApplication, config: AppConfig): void {
  if (!(app.getHttpAdapter() instanceof EnvelopeExpressAdapter)) {
    throw new Error('create the app with new EnvelopeExpressAdapter(): it answers in the envelope');
  }
  app.useLogger(app.get(PinoNestLogger)); // every `new Logger(context)` writes through pino
  app.use(requestLogger(rootLogger(config))); // request id and one log line per request
  app.use(securityHeaders()); // helmet, with a CSP the Swagger UI at /docs works under
  app.use(UI_MOUNT, serveDashboardUi(config.uiDir)); // the dashboard's files, open without a key
  setupApiDocs(app, createApiDocument(app)); // /docs and /docs-json, open without an API key
  answerClientErrorsInEnvelope(app.getHttpServer() as Server); // parser errors, in the envelope
}
