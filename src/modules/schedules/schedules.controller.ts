import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiEnvelopeResponse,
  ApiErrorResponses,
  BEARER_SCHEME,
} from '../../common/openapi.decorators';
import { CatePathDto } from '../../common/path.dto';
import { Audited } from '../audit/audited.decorator';
import {
  DeleteScheduleResult,
  ListSchedulesQueryDto,
  SchedulePage,
  SchedulePathDto,
  ScheduleView,
  UpsertScheduleDto,
} from './schedules.dto';
import { SchedulesService } from './schedules.service';

const SCHEDULE_EXAMPLE = {
  cate: 'reports',
  key: 42,
  cron: '0 9 * * 1-5',
  timezone: 'Europe/Berlin',
  params: { report: 'daily' },
  handler: null,
  missed: 'once',
  startAt: null,
  endAt: null,
  paused: false,
  nextRuns: [1796630400, 1796716800, 1796803200, 1796889600, 1797148800],
  createdAt: '2026-12-07T09:00:00.000Z',
  updatedAt: '2026-12-07T09:00:00.000Z',
};

/**
 * Recurring schedules: each occurrence is delivered as a task of the category (same body,
 * retries, signing, flow control), with X-Schedule-Time and a delivery id derived from the
 * schedule and the occurrence. Schedule keys are their own namespace, apart from task keys.
 */
@ApiTags('schedules')
@ApiBearerAuth(BEARER_SCHEME)
@ApiErrorResponses(400, 401)
@Controller()
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  /**
   * Creates or replaces the schedule (cate, key). The definition starts now: its first
   * occurrence is the first after now (at or after startAt); occurrences of a replaced
   * definition not yet due are withdrawn; a paused schedule stays paused. Invalid cron, unknown
   * time zone, a schedule that never fires and endAt not after startAt are 400s naming the field.
   */
  @ApiOperation({ summary: 'Create or replace a schedule' })
  @ApiEnvelopeResponse(ScheduleView, {
    description: 'The schedule as stored (committed).',
    example: SCHEDULE_EXAMPLE,
  })
  @ApiErrorResponses(403, 413)
  @Post('schedule/:cate')
  @Audited('schedule.upsert')
  @HttpCode(200)
  upsert(@Param() { cate }: CatePathDto, @Body() body: UpsertScheduleDto): Promise<ScheduleView> {
    return this.schedules.upsert(cate, body);
  }

  /** The schedule with its next 5 occurrence times; 404 when absent. */
  @ApiOperation({ summary: 'Read a schedule' })
  @ApiEnvelopeResponse(ScheduleView, { description: 'The schedule.', example: SCHEDULE_EXAMPLE })
  @ApiErrorResponses(404)
  @Get('schedule/:cate/:key')
  get(@Param() { cate, key }: SchedulePathDto): Promise<ScheduleView> {
    return this.schedules.get(cate, key);
  }

  /**
   * Removes the schedule; its occurrences not yet due are withdrawn, those already due are
   * delivered. Idempotent: `deleted` says whether it was there.
   */
  @ApiOperation({ summary: 'Delete a schedule' })
  @ApiEnvelopeResponse(DeleteScheduleResult, { description: 'Whether the schedule was there.' })
  @ApiErrorResponses(403)
  @Delete('schedule/:cate/:key')
  @Audited('schedule.delete')
  @HttpCode(200)
  remove(@Param() { cate, key }: SchedulePathDto): Promise<DeleteScheduleResult> {
    return this.schedules.remove(cate, key);
  }

  /** Schedules in creation order, optionally of one category, keyset-paginated. */
  @ApiOperation({ summary: 'List schedules' })
  @ApiEnvelopeResponse(SchedulePage, {
    description: 'One page of schedules.',
    example: { items: [SCHEDULE_EXAMPLE], nextCursor: null },
  })
  @Get('schedules')
  list(@Query() query: ListSchedulesQueryDto): Promise<SchedulePage> {
    return this.schedules.list(query);
  }

  /**
   * Stops the schedule on every replica: occurrences not yet due are withdrawn and none is
   * created until resume. Idempotent; 404 when absent.
   */
  @ApiOperation({ summary: 'Pause a schedule' })
  @ApiEnvelopeResponse(ScheduleView, { description: 'The schedule, paused (committed).' })
  @ApiErrorResponses(403, 404)
  @Post('schedule/:cate/:key/pause')
  @Audited('schedule.pause')
  @HttpCode(200)
  pause(@Param() { cate, key }: SchedulePathDto): Promise<ScheduleView> {
    return this.schedules.pause(cate, key);
  }

  /**
   * Starts the schedule again; the occurrences it missed while paused fire as its missed policy
   * says (skip: none, once: the latest, all: each, up to the latest 1,000). Idempotent.
   */
  @ApiOperation({ summary: 'Resume a schedule' })
  @ApiEnvelopeResponse(ScheduleView, { description: 'The schedule, active (committed).' })
  @ApiErrorResponses(403, 404)
  @Post('schedule/:cate/:key/resume')
  @Audited('schedule.resume')
  @HttpCode(200)
  resume(@Param() { cate, key }: SchedulePathDto): Promise<ScheduleView> {
    return this.schedules.resume(cate, key);
  }
}
