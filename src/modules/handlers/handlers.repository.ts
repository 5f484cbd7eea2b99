import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { rowsOf } from '../../database/query-rows';
import { retryTransient } from '../../database/transient-retry';
import { EventsWrittenSignal } from './events-written.signal';
import * as sql from './handlers.sql';

export interface HandlerRow {
  cate: string;
  url: string;
  /** Per-category settings; null means the service default. */
  max_attempts: number | null;
  timeout_ms: number | null;
  concurrency: number | null;
  /** Signing secrets, newest first. */
  secrets: string[];
  created_at: Date;
  updated_at: Date;
  paused: boolean;
  circuit_enabled: boolean;
  /** null: the service defaults. */
  circuit_threshold: number | null;
  circuit_cooldown_ms: number | null;
  circuit_state: 'closed' | 'open' | 'half_open';
  circuit_failures: number;
  circuit_opened_at: Date | null;
  circuit_next_probe_at: Date | null;
  /** Rate limit (token bucket): both null when the category has none. */
  rate_per_second: number | null;
  rate_burst: number | null;
  /** Where the category's events are POSTed; null: none are written. */
  events_handler: string | null;
}

/** A rate limit: at most `burst` starts at once, refilled at `perSecond`. */
export interface RateLimitSetting {
  perSecond: number;
  burst: number;
}

/** The flow state of a category before a change (LOCK_HANDLER). */
interface FlowStateRow {
  circuit_state: 'closed' | 'open' | 'half_open';
  rate_per_second: number | null;
  rate_burst: number | null;
}

/** A circuit breaker setting: false turns it off; null fields are the service defaults. */
export type CircuitBreakerSetting =
  false | { failureThreshold: number | null; cooldownMs: number | null };

/** Settings of a registration: undefined keeps the stored value, null resets it. */
export interface HandlerSettings {
  maxAttempts?: number | null;
  timeoutMs?: number | null;
  concurrency?: number | null;
  secret?: string | null;
  /** undefined keeps the stored setting; null resets it to the defaults (on). */
  circuitBreaker?: CircuitBreakerSetting | null;
  /** undefined keeps the stored limit; null removes it. */
  rateLimit?: RateLimitSetting | null;
  /** undefined keeps the stored URL; null removes it. */
  eventsHandler?: string | null;
}

@Injectable()
export class HandlersRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly eventsWritten: EventsWrittenSignal,
  ) {}

  /**
   * Registers or replaces the category, in one transaction with its row locked first: turning
   * the breaker off closes an open circuit (a circuit_closed event), and a change of the rate
   * limit tells the dispatchers (NOTIFY), both judged against the locked row.
   */
  async upsert(cate: string, url: string, settings: HandlerSettings): Promise<void> {
    const pair = (value: number | string | null | undefined) => [
      value !== undefined,
      value ?? null,
    ];
    const events = await this.transaction(async (manager) => {
      const [before] = rowsOf<FlowStateRow>(await manager.query(sql.LOCK_HANDLER, [cate]));
      const closing =
        before !== undefined &&
        before.circuit_state !== 'closed' &&
        settings.circuitBreaker === false;
      const rows = rowsOf<{ events: number }>(
        await manager.query(sql.UPSERT_HANDLER, [
          cate,
          url,
          ...pair(settings.maxAttempts),
          ...pair(settings.timeoutMs),
          ...pair(settings.concurrency),
          ...pair(settings.secret),
          ...circuitParams(settings.circuitBreaker),
          settings.rateLimit !== undefined,
          settings.rateLimit?.perSecond ?? null,
          settings.rateLimit?.burst ?? null,
          ...pair(settings.eventsHandler),
          closing,
          closing || rateLimitChanged(before, settings.rateLimit),
        ]),
      );
      return rows[0]?.events ?? 0;
    });
    this.eventsWritten.written(events);
  }

  /** True when the category exists. */
  async pause(cate: string): Promise<boolean> {
    return rowsOf(await this.query(sql.PAUSE_HANDLER, [cate])).length > 0;
  }

  /**
   * Resumes the category and closes its circuit (a circuit_closed event when it was not closed);
   * true when it exists.
   */
  async resume(cate: string): Promise<boolean> {
    const resumed = await this.transaction(async (manager) => {
      const [before] = rowsOf<FlowStateRow>(await manager.query(sql.LOCK_HANDLER, [cate]));
      if (!before) return undefined;
      const wasOpen = before.circuit_state !== 'closed';
      const rows = rowsOf<{ events: number }>(
        await manager.query(sql.RESUME_HANDLER, [cate, wasOpen]),
      );
      return { events: rows[0]?.events ?? 0 };
    });
    this.eventsWritten.written(resumed?.events ?? 0);
    return resumed !== undefined;
  }

  async find(cate: string): Promise<HandlerRow | undefined> {
    const rows = rowsOf<HandlerRow>(await this.query(sql.FIND_HANDLER, [cate]));
    return rows[0];
  }

  async list(afterCate: string | undefined, limit: number): Promise<HandlerRow[]> {
    return rowsOf<HandlerRow>(await this.query(sql.LIST_HANDLERS, [afterCate ?? null, limit]));
  }

  /** True when the category existed. */
  async delete(cate: string): Promise<boolean> {
    return rowsOf(await this.query(sql.DELETE_HANDLER, [cate])).length > 0;
  }

  /** One statement in autocommit, run again after a deadlock or lock timeout (retryTransient). */
  private query(text: string, params: unknown[]): Promise<unknown> {
    return retryTransient(() => this.dataSource.query<unknown>(text, params));
  }

  /** One transaction, run again whole after a deadlock or lock timeout (retryTransient). */
  private transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return retryTransient(() => this.dataSource.transaction(work));
  }
}

/** Whether a registration sets, changes or removes the stored rate limit (locked row `before`). */
function rateLimitChanged(
  before: FlowStateRow | undefined,
  setting: RateLimitSetting | null | undefined,
): boolean {
  if (setting === undefined) return false;
  const perSecond = before?.rate_per_second ?? null;
  const burst = before?.rate_burst ?? null;
  return setting === null
    ? perSecond !== null
    : perSecond !== setting.perSecond || burst !== setting.burst;
}

/** $11–$14 of UPSERT_HANDLER: given?, enabled, threshold, cooldown. */
function circuitParams(setting: CircuitBreakerSetting | null | undefined): unknown[] {
  if (setting === undefined) return [false, null, null, null];
  if (setting === null) return [true, true, null, null];
  if (setting === false) return [true, false, null, null];
  return [true, true, setting.failureThreshold, setting.cooldownMs];
}
