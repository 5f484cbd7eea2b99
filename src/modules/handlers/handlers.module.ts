import { Module } from '@nestjs/common';
import { EventsWrittenSignal } from './events-written.signal';
import { HandlersController } from './handlers.controller';
import { HandlersRepository } from './handlers.repository';
import { HandlersService } from './handlers.service';

@Module({
  controllers: [HandlersController],
  providers: [HandlersRepository, HandlersService, EventsWrittenSignal],
  exports: [HandlersService, EventsWrittenSignal],
})
export class HandlersModule {}
