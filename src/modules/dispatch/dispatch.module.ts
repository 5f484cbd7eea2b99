import { HttpService } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { HandlersModule } from '../handlers/handlers.module';
import { MetricsModule } from '../metrics/metrics.module';
import { callbackHttpService } from './callback-http';
import { CallbackClient } from './callback.client';
import { DispatchWorker } from './dispatch.worker';
import { LeaseSweeper } from './lease.sweeper';
import { QueueRepository } from './queue.repository';

@Module({
  imports: [MetricsModule, HandlersModule],
  providers: [
    // Callbacks' own axios instance (callback-http.ts), not the application's shared one.
    { provide: HttpService, useFactory: callbackHttpService },
    QueueRepository,
    CallbackClient,
    DispatchWorker,
    LeaseSweeper,
  ],
  exports: [DispatchWorker],
})
export class DispatchModule {}
