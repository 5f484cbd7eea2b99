import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { EnvelopeExpressAdapter } from './common/envelope.adapter';
import { bootstrapLogger } from './common/logging/logging.options';
import { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { OpenDatabase, openDatabase } from './database/open-database';

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Invalid configuration: ${error.message}`);
    process.exit(1);
  }
}

/** SIGTERM/SIGINT: drain the dispatcher, close HTTP and the pool, stop PostgreSQL, exit 0. */
function handleSignals(app: INestApplication, database: OpenDatabase, logger: Logger): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received, shutting down`);
    void app
      .close()
      .then(() => database.stop())
      .then(() => process.exit(0))
      .catch((error: Error) => {
        logger.error(`shutdown failed: ${error.message}`, error.stack);
        void database.stop().finally(() => process.exit(1));
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function bootstrap(): Promise<void> {
  const config = readConfig();
  // pino from the first line on (embedded PostgreSQL's start too); configureApp hands over to the
  // app's logger, which flushes what Nest buffered while creating the app.
  Logger.overrideLogger(bootstrapLogger(config));
  const logger = new Logger('Main');
  const database = await openDatabase(config);
  try {
    const app = await NestFactory.create(
      AppModule.forRoot(config, database.url),
      new EnvelopeExpressAdapter(), // answers in the envelope
      {
        bodyParser: false, // JsonBodyMiddleware parses bodies losslessly
        bufferLogs: true,
      },
    );
    configureApp(app, config);
    handleSignals(app, database, logger);
    if (config.listenHost) await app.listen(config.port, config.listenHost);
    else await app.listen(config.port); // all interfaces, as the original
    logger.log(`delay-tasks listening on ${config.listenHost || '*'}:${config.port}`);
  } catch (error) {
    await database.stop();
    throw error;
  }
}

bootstrap().catch((error: Error) => {
  console.error(`delay-tasks failed to start: ${error.stack ?? error.message}`);
  process.exit(1);
});
