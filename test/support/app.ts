import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { EnvelopeExpressAdapter } from '../../src/common/envelope.adapter';
import { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';

/**
 * Defaults as in production (no environment read) but silent logs, with a test's overrides.
 * Callbacks may reach 127.0.0.1 (and only that loopback address), where the tests' receivers
 * listen; the SSRF guard refuses the rest of loopback as in production.
 */
export function testConfig(databaseUrl: string, overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    ...loadConfig({}),
    databaseUrl,
    logLevel: 'silent',
    callbackAllowCidrs: ['127.0.0.1/32'],
    ...overrides,
  };
}

/** The whole application on `databaseUrl`, initialised (migrations applied, dispatcher running). */
export async function startTestApp(
  databaseUrl: string,
  overrides: Partial<AppConfig> = {},
): Promise<INestApplication> {
  const config = testConfig(databaseUrl, overrides);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config, databaseUrl)],
  }).compile();
  const app = moduleRef.createNestApplication(new EnvelopeExpressAdapter(), {
    bodyParser: false,
    logger: ['error', 'warn'],
  });
  configureApp(app, config);
  await app.init();
  return app;
}
