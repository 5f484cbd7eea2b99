import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { paramsJsonWithin } from '../../common/params-json';
import { assertCallbackUrlAllowed } from '../../common/network-policy';
import { decodeIdCursor, DEFAULT_PAGE_LIMIT, encodeCursor } from '../../common/page-query';
import { RawJson } from '../../common/raw-json';
import { maskUrlSecrets } from '../../common/url-secrets';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { parsedSchedule } from './schedule-cache';
import { firstOccurrenceAfter } from './schedule-plan';
import { nextOccurrences, parseSchedule, ScheduleError } from './schedule-occurrences';
import { ScheduleMaterializer } from './schedule.materializer';
import {
  DeleteScheduleResult,
  ListSchedulesQueryDto,
  SchedulePage,
  ScheduleView,
  UpsertScheduleDto,
} from './schedules.dto';
import { ScheduleRow, SchedulesRepository } from './schedules.repository';

const SCHEDULE_CURSOR = 'schedule';
/** GET answers show this many next occurrences. */
export const NEXT_RUNS = 5;

@Injectable()
export class SchedulesService {
  constructor(
    private readonly schedules: SchedulesRepository,
    private readonly materializer: ScheduleMaterializer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Creates or replaces (cate, key). The new definition starts now: its first occurrence is the
   * first after now (and at or after startAt); occurrences of the old one not yet due are
   * withdrawn. Answers the schedule as stored, after commit.
   */
  async upsert(cate: string, dto: UpsertScheduleDto): Promise<ScheduleView> {
    let schedule;
    try {
      schedule = parseSchedule({
        cron: dto.cron,
        timezone: dto.timezone ?? undefined,
        startAt: dto.startAt ?? undefined,
        endAt: dto.endAt ?? undefined,
      });
    } catch (error) {
      if (error instanceof ScheduleError) throw new BadRequestException(error.message);
      throw error;
    }
    const handler = dto.handler ? dto.handler : null;
    assertCallbackUrlAllowed(handler, this.config); // literal IPs now; host names at delivery
    const paramsJson = paramsJsonWithin(dto.params, this.config.maxParamsBytes);
    const row = await this.schedules.upsert(
      {
        cate,
        key: dto.key,
        cron: schedule.cron,
        timezone: schedule.timezone,
        paramsJson,
        handler,
        missed: dto.missed ?? 'once',
        startAt: schedule.startAt ?? null,
        endAt: schedule.endAt ?? null,
      },
      (nowMs) => firstOccurrenceAfter(schedule, nowMs),
    );
    this.materializer.wake();
    return toView(row);
  }

  async get(cate: string, key: string): Promise<ScheduleView> {
    const row = await this.schedules.find(cate, key);
    if (!row) throw new NotFoundException('not found');
    return toView(row);
  }

  async list(query: ListSchedulesQueryDto): Promise<SchedulePage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const afterId =
      query.cursor === undefined ? '0' : decodeIdCursor(query.cursor, SCHEDULE_CURSOR);
    const rows = await this.schedules.list(query.cate, afterId, limit);
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toView),
      nextCursor: last ? encodeCursor(SCHEDULE_CURSOR, last.id) : null,
    };
  }

  async remove(cate: string, key: string): Promise<DeleteScheduleResult> {
    return { deleted: await this.schedules.delete(cate, key) };
  }

  /** Stops the schedule: occurrences not yet due are withdrawn, none is created until resume. */
  async pause(cate: string, key: string): Promise<ScheduleView> {
    const row = await this.schedules.pause(cate, key);
    if (!row) throw new NotFoundException('not found');
    return toView(row);
  }

  /** Starts it again; what it missed meanwhile fires as its missed policy says. */
  async resume(cate: string, key: string): Promise<ScheduleView> {
    const row = await this.schedules.resume(cate, key);
    if (!row) throw new NotFoundException('not found');
    this.materializer.wake();
    return toView(row);
  }
}

function toView(row: ScheduleRow): ScheduleView {
  return {
    cate: row.cate,
    key: BigInt(row.key),
    cron: row.cron,
    timezone: row.timezone,
    params: new RawJson(row.params),
    handler: row.handler === null ? null : maskUrlSecrets(row.handler),
    missed: row.missed,
    startAt: row.start_at,
    endAt: row.end_at,
    paused: row.paused,
    nextRuns: row.paused || row.next_run_ms === null ? [] : nextRuns(row),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The next occurrences after now by the database clock of the read, Unix seconds. */
function nextRuns(row: ScheduleRow): number[] {
  return nextOccurrences(parsedSchedule(row), new Date(row.now_ms), NEXT_RUNS).map((date) =>
    Math.floor(date.getTime() / 1000),
  );
}
