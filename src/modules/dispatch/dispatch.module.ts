import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { HandlersModule } from '../handlers/handlers.module';
import { MetricsModule } from '../metrics/metrics.module';
import { CallbackClient } from './callback.client';
import { DispatchWorker } from './dispatch.worker';
import { LeaseSweeper } from './lease.sweeper';
import { QueueRepository } from './queue.repository';

@Module({
  imports: [HttpModule, MetricsModule, HandlersModule],
  providers: [QueueRepository, CallbackClient, DispatchWorker, LeaseSweeper],
  exports: [DispatchWorker],
})
export class DispatchModule {}
