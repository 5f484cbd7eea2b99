import { INestApplication } from '@nestjs/common';
import { AppConfig } from './config/app-config';

/**
 * Application-level setup that is not a module (HTTP headers, API docs, …). Called by main.ts
 * and by the tests' app factory, so that tests exercise what production runs.
 */
export function configureApp(app: INestApplication, config: AppConfig): void {
  void config;
  void app;
}
