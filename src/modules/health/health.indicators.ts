import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MigrationRunner } from '../../database/migration.runner';
import { DispatchWorker } from '../dispatch/dispatch.worker';

/** Readiness checks of this service's own state (the database ping is terminus's). */
@Injectable()
export class AppHealthIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly migrationRunner: MigrationRunner,
    private readonly worker: DispatchWorker,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  migrations(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    return this.migrationRunner.migrationsApplied ? check.up() : check.down('not applied yet');
  }

  /** An API-only replica (DISPATCH_ENABLED=false) is ready without a dispatcher. */
  dispatcher(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    if (!this.config.dispatchEnabled) return check.up({ enabled: false });
    return this.worker.running ? check.up() : check.down('not running');
  }
}
