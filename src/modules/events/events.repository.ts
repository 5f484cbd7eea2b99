import { Injectable } from '@nestjs/common';
import { DispatchPool } from '../../database/dispatch-pool';
import * as sql from './events.sql';

/** An event claimed for sending (CLAIM_EVENTS). */
export interface ClaimedEvent {
  id: string;
  /** The Standard Webhooks id: the same on every attempt. */
  webhook_id: string;
  cate: string;
  type: string;
  /** The exact text to sign and send. */
  body: string;
  /** This attempt's number (1 for the first). */
  attempts: number;
  /** The category's current events handler; null when it or the category is gone. */
  events_handler: string | null;
  /** Signing secrets of the category, newest first; empty when unsigned. */
  secrets: string[];
  timeout_ms: number | null;
  /** Time since the event was written, and the database clock at the claim (epoch ms). */
  age_ms: number;
  claimed_at_ms: number;
}

/** The events outbox's sending side, on the dispatcher's pool (named prepared statements). */
@Injectable()
export class EventsRepository {
  constructor(private readonly pool: DispatchPool) {}

  /** Claims up to `limit` due events under a lease of their category's timeout + `marginMs`. */
  async claim(limit: number, timeoutMs: number, marginMs: number): Promise<ClaimedEvent[]> {
    const values = [limit, timeoutMs, marginMs];
    return (await this.pool.query<ClaimedEvent>('claim_events', sql.CLAIM_EVENTS, values)).rows;
  }

  async delete(id: string): Promise<void> {
    await this.pool.query('delete_event', sql.DELETE_EVENT, [id]);
  }

  async retry(event: ClaimedEvent, delayMs: number, error: string): Promise<void> {
    const values = [event.id, event.attempts, Math.max(0, Math.round(delayMs)), error];
    await this.pool.query('retry_event', sql.RETRY_EVENT, values);
  }

  async release(event: ClaimedEvent): Promise<void> {
    await this.pool.query('release_event', sql.RELEASE_EVENT, [event.id, event.attempts]);
  }

  /** Events in the outbox, counted up to `limit`. */
  async countPending(limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ pending: number }>('count_events', sql.COUNT_EVENTS, [
      limit,
    ]);
    return rows[0]?.pending ?? 0;
  }
}
