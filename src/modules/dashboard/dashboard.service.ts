import { Inject, Injectable } from '@nestjs/common';
import { Response } from 'express';
import { apiKeyIdOf, apiKeyRoleOf } from '../../common/api-key.middleware';
import { decodeIdCursor, DEFAULT_PAGE_LIMIT, encodeCursor } from '../../common/page-query';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { AttemptOutcome } from '../tasks/tasks.types';
import {
  CategoryAttemptPage,
  CategoryAttemptsQueryDto,
  DashboardForecast,
  DashboardSeries,
  DashboardSession,
  ForecastMinute,
  SeriesPoint,
} from './dashboard.dto';
import { CategoryAttemptRow, DashboardRepository } from './dashboard.repository';
import { BUCKET_SECONDS } from './dispatch-stats.buckets';
import { DispatchStatsRepository, SeriesRow } from './dispatch-stats.repository';
import { histogramQuantile } from './lateness-histogram';

/** A forecast minute counts at most this many tasks (then says capped). */
export const FORECAST_CAP = 10_000;
const ATTEMPTS_CURSOR = 'cate-attempt';
/** Above every bigint id: the first page starts from the newest attempt. */
const MAX_ID = '9223372036854775807';

/** The dashboard's reads but the overview (OverviewService): series, forecast, session, attempts. */
@Injectable()
export class DashboardService {
  constructor(
    private readonly dashboard: DashboardRepository,
    private readonly stats: DispatchStatsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The last `minutes` minutes in 10-second buckets, every replica's statistics merged. */
  async series(minutes: number): Promise<DashboardSeries> {
    const rows = await this.stats.series((minutes * 60) / BUCKET_SECONDS);
    return { bucketSeconds: BUCKET_SECONDS, points: rows.map(toPoint) };
  }

  async forecast(): Promise<DashboardForecast> {
    const rows = await this.dashboard.forecast(FORECAST_CAP);
    const minutes = rows.map((row): ForecastMinute => {
      const minute: ForecastMinute = { t: Number(row.t), count: row.count };
      if (row.capped) minute.capped = true;
      return minute;
    });
    return { from: minutes[0].t, minutes };
  }

  /** Who the UI is: from what the API-key middleware decided for this request. */
  session(res: Response): DashboardSession {
    const keysConfigured =
      this.config.apiKeyHashes.length + this.config.apiKeyReadonlyHashes.length > 0;
    if (!keysConfigured) return { auth: 'none', role: 'admin', keyId: null };
    return {
      auth: 'key',
      role: apiKeyRoleOf(res) === 'readonly' ? 'readonly' : 'admin',
      keyId: apiKeyIdOf(res),
    };
  }

  /** A category's attempts, newest first, keyset-paginated on the attempt id. */
  async attempts(query: CategoryAttemptsQueryDto): Promise<CategoryAttemptPage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const before =
      query.cursor === undefined ? MAX_ID : decodeIdCursor(query.cursor, ATTEMPTS_CURSOR);
    const rows = await this.dashboard.listCategoryAttempts(query.cate, before, limit);
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toAttemptView),
      nextCursor: last ? encodeCursor(ATTEMPTS_CURSOR, last.id) : null,
    };
  }
}

function toPoint(row: SeriesRow): SeriesPoint {
  const outcomes: Partial<Record<AttemptOutcome, number>> = {};
  let deliveries = 0;
  for (const [outcome, count] of Object.entries(row.outcomes ?? {})) {
    outcomes[outcome as AttemptOutcome] = Number(count);
    deliveries += Number(count);
  }
  const lateness = row.lateness ?? [];
  return {
    t: Number(row.t),
    outcomes,
    deliveries,
    latenessP50Ms: roundMs(histogramQuantile(lateness, 0.5)),
    latenessP99Ms: roundMs(histogramQuantile(lateness, 0.99)),
  };
}

/** Estimates from a histogram: a tenth of a millisecond is more than they are worth. */
function roundMs(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

function toAttemptView(row: CategoryAttemptRow) {
  return {
    key: BigInt(row.key),
    startedAt: row.started_at.toISOString(),
    attempt: row.attempt,
    deliveryId: row.delivery_id,
    statusCode: row.status_code,
    outcome: row.outcome,
    durationMs: row.duration_ms,
    error: row.error,
  };
}
