import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DispatchModule } from '../dispatch/dispatch.module';
import { HealthController } from './health.controller';
import { AppHealthIndicators } from './health.indicators';
import { HealthService } from './health.service';

@Module({
  // HealthService logs readiness changes itself; terminus would log every failed probe.
  imports: [TerminusModule.forRoot({ logger: false }), DispatchModule],
  controllers: [HealthController],
  providers: [HealthService, AppHealthIndicators],
})
export class HealthModule {}
