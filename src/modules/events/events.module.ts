import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { CallbackClient } from '../dispatch/callback.client';
import { HandlersModule } from '../handlers/handlers.module';
import { MetricsModule } from '../metrics/metrics.module';
import { EVENTS_CLIENT, EventsDispatcher } from './events.dispatcher';
import { EventsRepository } from './events.repository';

/**
 * The sender of category events (task.failed, circuit changes) from the outbox. It has its own
 * CallbackClient (the deliveries' client and SSRF guard, its own connections), so that neither
 * shutdown closes the other's sockets.
 */
@Module({
  imports: [HttpModule, MetricsModule, HandlersModule],
  providers: [
    EventsRepository,
    EventsDispatcher,
    { provide: EVENTS_CLIENT, useClass: CallbackClient },
  ],
})
export class EventsModule {}
