import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { LosslessNumber } from 'lossless-json';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { trimEpoch } from '../../common/epoch';
import { paramsJsonWithin } from '../../common/params-json';
import { assertCallbackUrlAllowed } from '../../common/network-policy';
import { RawJson } from '../../common/raw-json';
import { maskUrlSecrets } from '../../common/url-secrets';
import {
  decodeIdCursor,
  DEFAULT_PAGE_LIMIT,
  encodeCursor,
  PageQueryDto,
} from '../../common/page-query';
import { DueNotifier } from './due-notifier';
import { taskDue } from './task-due';
import {
  AttemptPage,
  AttemptView,
  DeleteTaskDto,
  ListTasksQueryDto,
  TaskPage,
  TaskView,
  UpsertTaskDto,
} from './tasks.dto';
import { TasksRepository } from './tasks.repository';
import { AttemptRow, TaskRow } from './tasks.types';

/** Cursor kinds: ids of tasks and of attempt rows. */
const TASK_CURSOR = 'id';
const ATTEMPT_CURSOR = 'attempt';

/**
 * GET /tasks stops adding items once a page holds about this many bytes (it always holds one):
 * uncut, ?limit=1000 over tasks with 60 KB params answered 12 MB and pushed a replica past
 * 800 MB of RSS (bench/probe-list-size.ts).
 */
export const LIST_PAGE_BYTES = 1024 * 1024;

@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly notifier: DueNotifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates (cate, key) or replaces its time, params and handler. Answers after commit. */
  async upsert(cate: string, dto: UpsertTaskDto): Promise<void> {
    assertCallbackUrlAllowed(dto.handler, this.config); // literal IPs now; host names at delivery
    const paramsJson = paramsJsonWithin(dto.params, this.config.maxParamsBytes);
    const due = taskDue(dto);
    const result = await this.tasks.upsert({
      cate,
      key: dto.key,
      timestamp: due.timestamp,
      paramsJson,
      handler: dto.handler ? dto.handler : null,
    });
    if (!result) {
      throw new BadRequestException(`${due.given} is more than 60 seconds in the past`);
    }
    // An unchanged re-POST wrote nothing: the dispatchers already know of the task.
    if (result.written) this.notifier.taskScheduled(result.dueInMs);
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

  /** A page of at most `limit` items and about LIST_PAGE_BYTES; nextCursor goes on after either. */
  async list(query: ListTasksQueryDto): Promise<TaskPage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const rows = await this.tasks.list({
      cate: query.cate,
      state: query.state,
      afterId: query.cursor === undefined ? undefined : decodeIdCursor(query.cursor, TASK_CURSOR),
      limit,
      maxBytes: LIST_PAGE_BYTES,
    });
    const cutBySize = rows.length > 0 && rows.length < rows[0].fetched;
    const last = rows.length === limit || cutBySize ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toView),
      nextCursor: last ? encodeCursor(TASK_CURSOR, last.id) : null,
    };
  }

  /**
   * Re-queues a failed task: due now, attempts from zero, same delivery id (see RETRY_TASK).
   * 404 without the task, 409 when it is not failed (pending or running tasks need no retry).
   */
  async retry(cate: string, key: string): Promise<void> {
    const row = await this.tasks.retryFailed(cate, key);
    if (!row) throw new NotFoundException('not found');
    if (!row.retried) {
      throw new ConflictException(`only a failed task can be retried; this one is ${row.state}`);
    }
    this.notifier.taskScheduled(0);
  }

  /** Attempt history of (cate, key), newest first; it outlives delivered tasks (retention). */
  async attempts(cate: string, key: string, query: PageQueryDto): Promise<AttemptPage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const beforeId =
      query.cursor === undefined ? undefined : decodeIdCursor(query.cursor, ATTEMPT_CURSOR);
    const rows = await this.tasks.listAttempts({ cate, key, beforeId, limit });
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toAttemptView),
      nextCursor: last ? encodeCursor(ATTEMPT_CURSOR, last.id) : null,
    };
  }
}

function toView(row: TaskRow): TaskView {
  return {
    cate: row.cate,
    key: BigInt(row.key),
    timeToRun: new LosslessNumber(trimEpoch(row.due_epoch)),
    params: new RawJson(row.params), // as stored: the text the client sent, as delivered
    // Credentials in the URL are not shown back; delivery reads the stored URL.
    handler: maskHandler(row.handler ?? row.category_handler),
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    inAdvance: row.in_advance,
    deliveryId: row.delivery_id,
  };
}

function maskHandler(url: string | null): string | null {
  return url === null ? null : maskUrlSecrets(url);
}

function toAttemptView(row: AttemptRow): AttemptView {
  return {
    startedAt: row.started_at.toISOString(),
    attempt: row.attempt,
    deliveryId: row.delivery_id,
    statusCode: row.status_code,
    outcome: row.outcome,
    durationMs: row.duration_ms,
    error: row.error,
  };
}
