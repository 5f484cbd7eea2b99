import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import {
  ApiEnvelopeResponse,
  ApiErrorResponses,
  BEARER_SCHEME,
} from '../../common/openapi.decorators';
import {
  CategoryAttemptPage,
  CategoryAttemptsQueryDto,
  DashboardForecast,
  DashboardOverview,
  DashboardSeries,
  DashboardSession,
  SeriesQueryDto,
} from './dashboard.dto';
import { DashboardService } from './dashboard.service';
import { OverviewService } from './overview.service';

/** The routes the dashboard (/ui) reads; any key may read them, a read-only one too. */
@ApiTags('dashboard')
@ApiBearerAuth(BEARER_SCHEME)
@ApiErrorResponses(400, 401)
@Controller()
export class DashboardController {
  constructor(
    private readonly overviews: OverviewService,
    private readonly dashboard: DashboardService,
  ) {}

  /**
   * Task counts per category and in total, with each category's flow state. The counts are a
   * snapshot recounted when a request finds it older than 5 s (by one replica at a time): asOf
   * says when they were taken. Category settings and oldestDueAgeSeconds are read now.
   */
  @ApiOperation({ summary: 'Dashboard: task counts per category' })
  @ApiEnvelopeResponse(DashboardOverview, { description: 'The counts, as of asOf.' })
  @Get('dashboard/overview')
  overview(): Promise<DashboardOverview> {
    return this.overviews.overview();
  }

  /**
   * Attempts by outcome and first-attempt lateness (p50, p99) per 10-second bucket over the last
   * `minutes` minutes, every replica's summed; each replica writes its buckets every 10 s.
   */
  @ApiOperation({ summary: 'Dashboard: deliveries and lateness over time' })
  @ApiEnvelopeResponse(DashboardSeries, {
    description: 'Every bucket of the window, oldest first.',
  })
  @Get('dashboard/series')
  series(@Query() query: SeriesQueryDto): Promise<DashboardSeries> {
    return this.dashboard.series(query.minutes);
  }

  /**
   * Pending tasks falling due (next run time) in each minute of the next hour, from the current
   * minute; held-back (parked) tasks are not included. A minute counts at most 10,000 tasks and
   * then says `capped: true`.
   */
  @ApiOperation({ summary: 'Dashboard: tasks falling due per minute, next hour' })
  @ApiEnvelopeResponse(DashboardForecast, { description: '60 minutes from the current one.' })
  @Get('dashboard/forecast')
  forecast(): Promise<DashboardForecast> {
    return this.dashboard.forecast();
  }

  /** Whether the service runs with API keys, and the role and id of the key presented. */
  @ApiOperation({ summary: 'Dashboard: the access of the caller' })
  @ApiEnvelopeResponse(DashboardSession, { description: 'The session.' })
  @Get('dashboard/session')
  session(@Res({ passthrough: true }) res: Response): DashboardSession {
    return this.dashboard.session(res);
  }

  /**
   * A category's delivery attempts across its tasks, newest first, keyset-paginated; items as
   * GET /task/:cate/:key/attempts, with the task key.
   */
  @ApiOperation({ summary: "List a category's recent delivery attempts" })
  @ApiEnvelopeResponse(CategoryAttemptPage, { description: 'One page of attempts, newest first.' })
  @Get('attempts')
  attempts(@Query() query: CategoryAttemptsQueryDto): Promise<CategoryAttemptPage> {
    return this.dashboard.attempts(query);
  }
}
