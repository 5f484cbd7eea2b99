import { Module } from '@nestjs/common';
import { DueNotifier } from './due-notifier';
import { TasksBatchService } from './tasks-batch.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  controllers: [TasksController],
  providers: [TasksRepository, TasksService, TasksBatchService, DueNotifier],
  exports: [TasksRepository],
})
export class TasksModule {}
