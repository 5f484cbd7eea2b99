import { Module } from '@nestjs/common';
import { DueNotifier } from './due-notifier';
import { TasksBatchService } from './tasks-batch.service';
import { TasksBulkService } from './tasks-bulk.service';
import { TasksController } from './tasks.controller';
import { TasksRepository } from './tasks.repository';
import { TasksService } from './tasks.service';

@Module({
  controllers: [TasksController],
  providers: [TasksRepository, TasksService, TasksBatchService, TasksBulkService, DueNotifier],
  exports: [TasksRepository, DueNotifier],
})
export class TasksModule {}
