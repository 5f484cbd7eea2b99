import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { TasksModule } from '../tasks/tasks.module';
import { CallbackClient } from './callback.client';
import { DispatchWorker } from './dispatch.worker';
import { LeaseSweeper } from './lease.sweeper';

@Module({
  imports: [HttpModule, TasksModule, MetricsModule],
  providers: [CallbackClient, DispatchWorker, LeaseSweeper],
  exports: [DispatchWorker],
})
export class DispatchModule {}
