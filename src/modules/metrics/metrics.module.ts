import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { DispatchMetrics } from './dispatch.metrics';
import { EventsMetrics } from './events.metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { ScheduleMetrics } from './schedule.metrics';
import { TaskStatsMetrics } from './task-stats.metrics';

/**
 * GET /metrics. Dispatch imports this module to report through DispatchMetrics; AppModule
 * applies HttpMetricsMiddleware (which needs the registry) ahead of its other middleware.
 */
@Module({
  imports: [TasksModule],
  controllers: [MetricsController],
  providers: [MetricsRegistry, DispatchMetrics, TaskStatsMetrics, EventsMetrics, ScheduleMetrics],
  exports: [MetricsRegistry, DispatchMetrics, EventsMetrics, ScheduleMetrics],
})
export class MetricsModule {}
