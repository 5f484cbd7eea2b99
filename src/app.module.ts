import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { ApiKeyMiddleware } from './common/api-key.middleware';
import { CrossSiteRequestMiddleware } from './common/cross-site-request.middleware';
import { EnvelopeExceptionFilter } from './common/envelope-exception.filter';
import { JsonBodyMiddleware } from './common/json-body.middleware';
import { loggerModuleParams } from './common/logging/logging.options';
import { AppValidationPipe } from './common/validation.pipe';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { AuditModule } from './modules/audit/audit.module';
import { DashboardModule } from './modules/dashboard/dashboard.module';
import { DispatchModule } from './modules/dispatch/dispatch.module';
import { EventsModule } from './modules/events/events.module';
import { HandlersModule } from './modules/handlers/handlers.module';
import { HealthModule } from './modules/health/health.module';
import { HttpMetricsMiddleware } from './modules/metrics/http-metrics.middleware';
import { MetricsModule } from './modules/metrics/metrics.module';
import { RetentionModule } from './modules/retention/retention.module';
import { SchedulesModule } from './modules/schedules/schedules.module';
import { TasksModule } from './modules/tasks/tasks.module';

@Module({})
export class AppModule implements NestModule {
  /** `databaseUrl` is the resolved server: DATABASE_URL, or the embedded one main.ts started. */
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerModuleParams(config)),
        DatabaseModule.forRoot({
          url: databaseUrl,
          poolSize: config.databasePoolSize,
          lockTimeoutMs: config.databaseLockTimeoutMs,
        }),
        ScheduleModule.forRoot(),
        HealthModule,
        MetricsModule,
        AuditModule,
        HandlersModule,
        TasksModule,
        DispatchModule,
        EventsModule,
        DashboardModule,
        SchedulesModule,
        RetentionModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: AppValidationPipe },
        { provide: APP_FILTER, useClass: EnvelopeExceptionFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // HTTP metrics first, so that refused requests are timed and counted too. Then the API key
    // (API_KEYS) and cross-site checks, before the body is read and before routing: a refused
    // request costs no body parsing, and an unknown path without a key is a 401, not a 404.
    consumer
      .apply(
        HttpMetricsMiddleware,
        ApiKeyMiddleware,
        CrossSiteRequestMiddleware,
        JsonBodyMiddleware,
      )
      .forRoutes('{*path}');
  }
}
