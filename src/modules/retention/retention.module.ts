import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { RetentionJob } from './retention.job';

@Module({
  imports: [TasksModule],
  providers: [RetentionJob],
})
export class RetentionModule {}
