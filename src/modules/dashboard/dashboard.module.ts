import { Module } from '@nestjs/common';
import { DispatchModule } from '../dispatch/dispatch.module';
import { MetricsModule } from '../metrics/metrics.module';
import { DashboardController } from './dashboard.controller';
import { DashboardRepository } from './dashboard.repository';
import { DashboardService } from './dashboard.service';
import { DispatchStatsRecorder } from './dispatch-stats.recorder';
import { DispatchStatsRepository } from './dispatch-stats.repository';
import { OverviewService } from './overview.service';

/**
 * The server side of the operator dashboard: the routes its UI reads (overview, series, forecast,
 * session, a category's attempts) and this replica's delivery statistics for the series. The UI's
 * files are served by serveDashboardUi (ui-static.ts), wired in app.setup.ts. Exports the
 * statistics repository for the retention job.
 */
@Module({
  imports: [MetricsModule, DispatchModule],
  controllers: [DashboardController],
  providers: [
    DashboardRepository,
    DashboardService,
    OverviewService,
    DispatchStatsRepository,
    DispatchStatsRecorder,
  ],
  exports: [DispatchStatsRepository],
})
export class DashboardModule {}
