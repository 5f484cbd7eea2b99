import { BadRequestException, HttpException, Inject, Injectable } from '@nestjs/common';
import { paramsJsonWithin } from '../../common/params-json';
import { assertCallbackUrlAllowed } from '../../common/network-policy';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DueNotifier } from './due-notifier';
import { taskDue } from './task-due';
import { BatchUpsertTasksDto, BatchUpsertView, UpsertTaskDto } from './tasks.dto';
import { TasksRepository } from './tasks.repository';
import { BatchTaskInput } from './tasks.types';

/**
 * POST /tasks/:cate: many tasks of one category, all or nothing. Every item is checked before
 * anything is written (the shape by the validation pipe, the rest here and, for the database
 * clock's 60-second rule, in the one statement that writes them all); errors name the item.
 */
@Injectable()
export class TasksBatchService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly notifier: DueNotifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async upsert(cate: string, dto: BatchUpsertTasksDto): Promise<BatchUpsertView> {
    const dues = dto.tasks.map((task, index) => taskDue(task, `tasks[${index}].`));
    const items = dto.tasks.map((task, index) => this.toInput(task, index, dues[index].timestamp));
    assertDistinctKeys(items);
    const result = await this.tasks.upsertBatch(cate, items);
    if (result.kind === 'too_old') {
      throw new BadRequestException(
        `${dues[result.item].given} is more than 60 seconds in the past`,
      );
    }
    if (result.earliestDueInMs !== null) this.notifier.taskScheduled(result.earliestDueInMs);
    return { count: result.count };
  }

  private toInput(task: UpsertTaskDto, index: number, timestamp: number): BatchTaskInput {
    const handler = task.handler ? task.handler : null;
    try {
      assertCallbackUrlAllowed(handler, this.config);
    } catch (error) {
      if (error instanceof HttpException) {
        throw new BadRequestException(`tasks[${index}].${error.message}`);
      }
      throw error;
    }
    const paramsJson = paramsJsonWithin(
      task.params,
      this.config.maxParamsBytes,
      `tasks[${index}].params`,
    );
    return { key: task.key, timestamp, paramsJson, handler };
  }
}

/** A key twice in one batch is ambiguous (which one wins?) and one statement cannot write both. */
function assertDistinctKeys(items: BatchTaskInput[]): void {
  const seen = new Map<string, number>();
  items.forEach(({ key }, index) => {
    const first = seen.get(key);
    if (first !== undefined) {
      throw new BadRequestException(
        `tasks[${index}].key ${key} repeats tasks[${first}].key; keys in a batch must be distinct`,
      );
    }
    seen.set(key, index);
  });
}
