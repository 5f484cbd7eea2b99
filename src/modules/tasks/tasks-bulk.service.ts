import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DueNotifier } from './due-notifier';
import { BulkActionView, BulkDeleteDto, BulkRetryDto } from './tasks.dto';
import { TasksRepository } from './tasks.repository';
import { BulkChunkResult, BulkDeleteFilter, BulkRetryFilter } from './tasks.types';

/**
 * Rows a bulk action reads per statement (see bulkChunk in tasks.sql.ts). Each chunk is its own
 * transaction holding its rows' locks for a few milliseconds (2,000 rows: ~20–40 ms), so
 * deliveries of the category and writes to its tasks wait no longer than that; larger chunks
 * save little (the round trip is a small part of a chunk's time).
 */
export const BULK_CHUNK_SIZE = 2000;

/**
 * POST /tasks/:cate/retry and /delete: re-queue or delete a category's tasks by filter, chunk
 * by chunk, each chunk committed before the next; `count` is the sum of the chunks. Both are
 * idempotent: run again, they find nothing more to do (or what matches now). An unknown
 * category is no error: tasks may exist with their own handler and no registered category.
 * A failure part-way (a database error) leaves the chunks done before it done.
 */
@Injectable()
export class TasksBulkService {
  private readonly logger = new Logger(TasksBulkService.name);

  constructor(
    private readonly tasks: TasksRepository,
    private readonly notifier: DueNotifier,
  ) {}

  /** Re-queues the category's failed tasks that match, as POST /task/:cate/:key/retry does. */
  async retry(cate: string, dto: BulkRetryDto): Promise<BulkActionView> {
    const filter: BulkRetryFilter = {
      cate,
      failedAfter: dto.failedAfter ?? null,
      failedBefore: dto.failedBefore ?? null,
    };
    const dryRun = dto.dryRun ?? false;
    const started = performance.now();
    const count = await eachChunk(async (afterId) => {
      const chunk = await this.tasks.retryFailedChunk(filter, afterId, BULK_CHUNK_SIZE, dryRun);
      // The chunk is committed and due now: wake the dispatchers so that its deliveries start
      // while the next chunk is being written.
      if (!dryRun && chunk.count > 0) this.notifier.taskScheduled(0);
      return chunk;
    });
    this.logDone('retry', filter, dryRun, count, started);
    return { count };
  }

  /** Deletes the category's tasks that match; running deliveries finish, fenced (DELETE_…CHUNK). */
  async delete(cate: string, dto: BulkDeleteDto): Promise<BulkActionView> {
    const filter: BulkDeleteFilter = {
      cate,
      state: dto.state ?? null,
      dueAfter: dto.dueAfter ?? null,
      dueBefore: dto.dueBefore ?? null,
    };
    const dryRun = dto.dryRun ?? false;
    const started = performance.now();
    const count = await eachChunk((afterId) =>
      this.tasks.deleteChunk(filter, afterId, BULK_CHUNK_SIZE, dryRun),
    );
    this.logDone('delete', filter, dryRun, count, started);
    return { count };
  }

  /** One line per bulk action (not per chunk); dry runs at debug level. */
  private logDone(
    action: 'retry' | 'delete',
    { cate, ...filter }: BulkRetryFilter | BulkDeleteFilter,
    dryRun: boolean,
    count: number,
    started: number,
  ): void {
    const durationMs = Math.round(performance.now() - started);
    const fields = { bulkAction: action, cate, filter, dryRun, count, durationMs };
    if (dryRun) {
      this.logger.debug(fields, `bulk ${action} of ${cate} (dry run): ${count} tasks match`);
    } else {
      const verb = action === 'retry' ? 're-queued' : 'deleted';
      this.logger.log(
        fields,
        `bulk ${action} of ${cate}: ${count} tasks ${verb} in ${durationMs} ms`,
      );
    }
  }
}

/**
 * Runs `chunk` from the start of the keyset ('0') until a chunk reads fewer rows than
 * BULK_CHUNK_SIZE, each from where the previous one stopped; returns the sum of their counts.
 */
async function eachChunk(chunk: (afterId: string) => Promise<BulkChunkResult>): Promise<number> {
  let total = 0;
  let afterId = '0';
  for (;;) {
    const result = await chunk(afterId);
    total += result.count;
    if (result.scanned < BULK_CHUNK_SIZE || result.lastId === null) return total;
    afterId = result.lastId;
  }
}
