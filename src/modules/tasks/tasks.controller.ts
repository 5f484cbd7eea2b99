import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiEnvelopeResponse,
  ApiErrorResponses,
  BEARER_SCHEME,
} from '../../common/openapi.decorators';
import { CatePathDto } from '../../common/path.dto';
import { MAX_UINT64 } from '../../common/task-fields';
import { Audited } from '../audit/audited.decorator';
import {
  AttemptPage,
  BatchUpsertTasksDto,
  BatchUpsertView,
  BulkActionView,
  BulkDeleteDto,
  BulkRetryDto,
  DeleteTaskDto,
  DeleteTaskResult,
  ListAttemptsQueryDto,
  ListTasksQueryDto,
  TaskPage,
  TaskPathDto,
  TaskQueryDto,
  TaskView,
  UpsertTaskDto,
} from './tasks.dto';
import { TasksBatchService } from './tasks-batch.service';
import { TasksBulkService } from './tasks-bulk.service';
import { TasksService } from './tasks.service';

const TASK_EXAMPLE = {
  cate: 'orders',
  key: MAX_UINT64,
  timeToRun: 1795800000.25,
  params: { orderId: 9007199254740993n },
  handler: 'http://10.0.0.5:8080/hooks/orders',
  state: 'pending',
  attempts: 0,
  lastError: null,
  inAdvance: false,
  deliveryId: '0b6c7f2e-8f5a-4c1e-9d3b-2a4f6e8c1d90',
};

@ApiTags('tasks')
@ApiBearerAuth(BEARER_SCHEME)
@ApiErrorResponses(400, 401)
@Controller()
export class TasksController {
  constructor(
    private readonly tasks: TasksService,
    private readonly batch: TasksBatchService,
    private readonly bulk: TasksBulkService,
  ) {}

  /**
   * Creates the task, or replaces the time, params and handler of an existing (cate, key). The
   * answer comes after the write is committed.
   */
  @ApiOperation({ summary: 'Create or update a task' })
  @ApiEnvelopeResponse(undefined, { description: 'Scheduled (committed).' })
  @ApiErrorResponses(403, 413)
  @Post('task/:cate')
  @HttpCode(200)
  upsert(@Param() { cate }: CatePathDto, @Body() body: UpsertTaskDto): Promise<void> {
    return this.tasks.upsert(cate, body);
  }

  /**
   * Removes the task; with `exec: true` it is first delivered now, with `inAdvance: true`.
   * Idempotent: `deleted` says whether it was there.
   */
  @ApiOperation({ summary: 'Delete a task, or run it now and delete it' })
  @ApiEnvelopeResponse(DeleteTaskResult, { description: 'Whether the task was there.' })
  @ApiErrorResponses(403, 413)
  @Delete('task/:cate')
  @HttpCode(200)
  remove(@Param() { cate }: CatePathDto, @Body() body: DeleteTaskDto): Promise<DeleteTaskResult> {
    return this.tasks.remove(cate, body);
  }

  /** The task with its effective handler, state, attempts and last error; 404 when absent. */
  @ApiOperation({ summary: 'Read a task' })
  @ApiEnvelopeResponse(TaskView, { description: 'The task.', example: TASK_EXAMPLE })
  @ApiErrorResponses(404)
  @Get('task/:cate/:key')
  get(@Param() { cate, key }: TaskPathDto, @Query() query: TaskQueryDto): Promise<TaskView> {
    return this.tasks.get(cate, key, query.timestamp);
  }

  /**
   * Tasks in id order, filtered by category and state, keyset-paginated: a page ends at limit
   * tasks or once it holds about 1 MiB (at least one task), and nextCursor goes on from there.
   */
  @ApiOperation({ summary: 'List tasks' })
  @ApiEnvelopeResponse(TaskPage, {
    description: 'One page of tasks.',
    example: { items: [TASK_EXAMPLE], nextCursor: null },
  })
  @Get('tasks')
  list(@Query() query: ListTasksQueryDto): Promise<TaskPage> {
    return this.tasks.list(query);
  }

  /**
   * Creates or updates up to 1,000 tasks of the category in one statement, all or nothing: any
   * invalid item (named by its index), a repeated key or a time over 60 s in the past rejects the
   * whole batch and writes nothing.
   */
  @ApiOperation({ summary: 'Create or update many tasks of a category' })
  @ApiEnvelopeResponse(BatchUpsertView, { description: 'Every task written (committed).' })
  @ApiErrorResponses(403, 413)
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
  @ApiOperation({ summary: 'Retry a failed task' })
  @ApiEnvelopeResponse(undefined, { description: 'Re-queued (committed).' })
  @ApiErrorResponses(403, 404, 409)
  @Post('task/:cate/:key/retry')
  @Audited('task.retry')
  @HttpCode(200)
  retry(@Param() { cate, key }: TaskPathDto): Promise<void> {
    return this.tasks.retry(cate, key);
  }

  /**
   * Re-queues every failed task of the category that failed in [failedAfter, failedBefore), as
   * the single retry does (due now, attempts from zero, same delivery id), in chunks each
   * committed on its own. With dryRun, counts them and changes nothing. An unknown category
   * answers its count (0), not 404.
   */
  @ApiOperation({ summary: 'Retry the failed tasks of a category by filter' })
  @ApiEnvelopeResponse(BulkActionView, { description: 'Tasks re-queued (or, dry run, matching).' })
  @ApiErrorResponses(403, 413)
  @Post('tasks/:cate/retry')
  @Audited('tasks.bulk_retry')
  @HttpCode(200)
  retryMany(@Param() { cate }: CatePathDto, @Body() body: BulkRetryDto): Promise<BulkActionView> {
    return this.bulk.retry(cate, body);
  }

  /**
   * Deletes the tasks of the category in a state (omitted: any) due in [dueAfter, dueBefore), in
   * chunks each committed on its own. A running delivery finishes, and nothing is retried or
   * delivered after it. With dryRun, counts them and changes nothing.
   */
  @ApiOperation({ summary: 'Delete the tasks of a category by filter' })
  @ApiEnvelopeResponse(BulkActionView, { description: 'Tasks deleted (or, dry run, matching).' })
  @ApiErrorResponses(403, 413)
  @Post('tasks/:cate/delete')
  @Audited('tasks.bulk_delete')
  @HttpCode(200)
  deleteMany(@Param() { cate }: CatePathDto, @Body() body: BulkDeleteDto): Promise<BulkActionView> {
    return this.bulk.delete(cate, body);
  }

  /** Delivery attempts of (cate, key), newest first; kept after delivery until retention. */
  @ApiOperation({ summary: "List a task key's delivery attempts" })
  @ApiEnvelopeResponse(AttemptPage, { description: 'One page of attempts, newest first.' })
  @Get('task/:cate/:key/attempts')
  attempts(
    @Param() { cate, key }: TaskPathDto,
    @Query() query: ListAttemptsQueryDto,
  ): Promise<AttemptPage> {
    return this.tasks.attempts(cate, key, query);
  }
}
