import { Module } from '@nestjs/common';
import { DashboardModule } from '../dashboard/dashboard.module';
import { TasksModule } from '../tasks/tasks.module';
import { RetentionJob } from './retention.job';

@Module({
  imports: [TasksModule, DashboardModule],
  providers: [RetentionJob],
})
export class RetentionModule {}
