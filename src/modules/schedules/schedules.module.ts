import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { TasksModule } from '../tasks/tasks.module';
import { ScheduleMaterializer } from './schedule.materializer';
import { SchedulesController } from './schedules.controller';
import { SchedulesRepository } from './schedules.repository';
import { SchedulesService } from './schedules.service';

@Module({
  imports: [TasksModule, MetricsModule],
  controllers: [SchedulesController],
  providers: [SchedulesRepository, SchedulesService, ScheduleMaterializer],
  exports: [ScheduleMaterializer],
})
export class SchedulesModule {}
