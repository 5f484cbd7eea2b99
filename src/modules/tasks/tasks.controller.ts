import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CatePathDto } from '../../common/path.dto';
import {
  AttemptPage,
  BatchUpsertTasksDto,
  BatchUpsertView,
  DeleteTaskDto,
  ListAttemptsQueryDto,
  ListTasksQueryDto,
  TaskPage,
  TaskPathDto,
  TaskQueryDto,
  TaskView,
  UpsertTaskDto,
} from './tasks.dto';
import { TasksBatchService } from './tasks-batch.service';
import { TasksService } from './tasks.service';

@Controller()
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly batch: TasksBatchService,
  ) {}

  @Post('task/:cate')
  @HttpCode(200)
  upsert(@Param() { cate }: CatePathDto, @Body() body: UpsertTaskDto): Promise<void> {
    return this.tasks.upsert(cate, body);
  }

  @Delete('task/:cate')
  @HttpCode(200)
  remove(
    @Param() { cate }: CatePathDto,
    @Body() body: DeleteTaskDto,
  ): Promise<{ deleted: boolean }> {
    return this.tasks.remove(cate, body);
  }

  @Get('task/:cate/:key')
  get(@Param() { cate, key }: TaskPathDto, @Query() query: TaskQueryDto): Promise<TaskView> {
    return this.tasks.get(cate, key, query.timestamp);
  }

  @Get('tasks')
  list(@Query() query: ListTasksQueryDto): Promise<TaskPage> {
    return this.tasks.list(query);
  }

  /**
   * Creates or updates up to 1,000 tasks of the category in one statement, all or nothing: any
   * invalid item (named by its index), a repeated key or a time over 60 s in the past rejects the
   * whole batch and writes nothing.
   */
  @Post('tasks/:cate')
  @HttpCode(200)
  upsertBatch(
    @Param() { cate }: CatePathDto,
    @Body() body: BatchUpsertTasksDto,
  ): Promise<BatchUpsertView> {
    return this.batch.upsert(cate, body);
  }

  /**
   * Re-queues a failed task now, attempts from zero, with the same delivery id (receivers'
   * de-duplication still holds); 404 when missing, 409 when the task is not failed.
   */
  @Post('task/:cate/:key/retry')
  @HttpCode(200)
  retry(@Param() { cate, key }: TaskPathDto): Promise<void> {
    return this.tasks.retry(cate, key);
  }

  /** Delivery attempts of (cate, key), newest first; kept after delivery until retention. */
  @Get('task/:cate/:key/attempts')
  attempts(
    @Param() { cate, key }: TaskPathDto,
    @Query() query: ListAttemptsQueryDto,
  ): Promise<AttemptPage> {
    return this.tasks.attempts(cate, key, query);
  }
}
