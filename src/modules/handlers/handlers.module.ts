import { Module } from '@nestjs/common';
import { HandlersController } from './handlers.controller';
import { HandlersRepository } from './handlers.repository';
import { HandlersService } from './handlers.service';

@Module({
  controllers: [HandlersController],
  providers: [HandlersRepository, HandlersService],
  exports: [HandlersService],
})
export class HandlersModule {}
