import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rowsOf } from '../../database/query-rows';
import { retryTransient } from '../../database/transient-retry';
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
}

@Injectable()
export class HandlersRepository {
  constructor(private readonly dataSource: DataSource) {}

  async upsert(cate: string, url: string, settings: HandlerSettings): Promise<void> {
    const pair = (value: number | string | null | undefined) => [
      value !== undefined,
      value ?? null,
    ];
    await this.query(sql.UPSERT_HANDLER, [
      cate,
      url,
      ...pair(settings.maxAttempts),
      ...pair(settings.timeoutMs),
      ...pair(settings.concurrency),
      ...pair(settings.secret),
      ...circuitParams(settings.circuitBreaker),
    ]);
  }

  /** True when the category exists. */
  async pause(cate: string): Promise<boolean> {
    return rowsOf(await this.query(sql.PAUSE_HANDLER, [cate])).length > 0;
  }

  /** Resumes the category and closes its circuit; true when it exists. */
  async resume(cate: string): Promise<boolean> {
    return rowsOf(await this.query(sql.RESUME_HANDLER, [cate])).length > 0;
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
}

/** $11–$14 of UPSERT_HANDLER: given?, enabled, threshold, cooldown. */
function circuitParams(setting: CircuitBreakerSetting | null | undefined): unknown[] {
  if (setting === undefined) return [false, null, null, null];
  if (setting === null) return [true, true, null, null];
  if (setting === false) return [true, false, null, null];
  return [true, true, setting.failureThreshold, setting.cooldownMs];
}
