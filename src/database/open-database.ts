import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface OpenDatabase {
  url: string;
  /** Stops the embedded server, if one was started; a no-op for an external DATABASE_URL. */
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise a real PostgreSQL started under the data directory. */
export async function openDatabase(config: AppConfig): Promise<OpenDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: () => Promise.resolve() };
  const logger = new Logger('EmbeddedPostgres');
  const handle = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPostgresPort,
    log: (message) => logger.log(message),
  });
  logger.log(`embedded PostgreSQL serving on 127.0.0.1:${handle.port} (data in ${config.dataDir})`);
  return { url: handle.url, stop: () => handle.stop() };
}
