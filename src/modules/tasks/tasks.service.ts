import {
  BadRequestException,
  Inject,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { LosslessNumber } from 'lossless-json';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { trimEpoch } from '../../common/epoch';
import { parseJson, stringifyJson } from '../../common/lossless-json';
import { DueNotifier } from './due-notifier';
import { DeleteTaskDto, ListTasksQueryDto, TaskPage, TaskView, UpsertTaskDto } from './tasks.dto';
import { TasksRepository } from './tasks.repository';
import { TaskRow } from './tasks.types';

const DEFAULT_LIST_LIMIT = 100;

@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly notifier: DueNotifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates (cate, key) or replaces its time, params and handler. Answers after commit. */
  async upsert(cate: string, dto: UpsertTaskDto): Promise<void> {
    const paramsJson = stringifyJson(dto.params ?? null);
    const size = Buffer.byteLength(paramsJson);
    if (size > this.config.maxParamsBytes) {
      throw new PayloadTooLargeException(
        `params is ${size} bytes, more than the limit of ${this.config.maxParamsBytes} bytes`,
      );
    }
    const result = await this.tasks.upsert({
      cate,
      key: dto.key,
      timestamp: dto.timestamp,
      paramsJson,
      handler: dto.handler ? dto.handler : null,
    });
    if (!result) {
      throw new BadRequestException(
        `timestamp ${dto.timestamp} is more than 60 seconds in the past`,
      );
    }
    this.notifier.taskScheduled(result.dueInMs);
  }

  /** Removes the task; with exec it is first handed over for immediate delivery. Idempotent. */
  async remove(cate: string, dto: DeleteTaskDto): Promise<{ deleted: boolean }> {
    if (dto.exec) {
      const found = await this.tasks.execNow(cate, dto.key, dto.timestamp);
      if (found) this.notifier.taskScheduled(0);
      return { deleted: found };
    }
    return { deleted: await this.tasks.delete(cate, dto.key, dto.timestamp) };
  }

  async get(cate: string, key: string, timestamp?: number): Promise<TaskView> {
    const row = await this.tasks.find(cate, key, timestamp);
    if (!row) throw new NotFoundException('not found');
    return toView(row);
  }

  async list(query: ListTasksQueryDto): Promise<TaskPage> {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    const rows = await this.tasks.list({
      cate: query.cate,
      state: query.state,
      afterId: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      limit,
    });
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return { items: rows.map(toView), nextCursor: last ? encodeCursor(last.id) : null };
  }
}

function toView(row: TaskRow): TaskView {
  return {
    cate: row.cate,
    key: BigInt(row.key),
    timeToRun: new LosslessNumber(trimEpoch(row.due_epoch)),
    params: parseJson(row.params),
    handler: row.handler ?? row.category_handler,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    inAdvance: row.in_advance,
    deliveryId: row.delivery_id,
  };
}

function encodeCursor(id: string): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

const MAX_TASK_ID = 9223372036854775807n; // tasks.id is a PostgreSQL bigint

function decodeCursor(cursor: string): string {
  const match = /^id:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || BigInt(match[1]) > MAX_TASK_ID) {
    throw new BadRequestException('cursor must be a nextCursor value from a previous page');
  }
  return match[1];
}
