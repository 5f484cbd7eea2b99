import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { EVENT_TYPES } from '../../database/events-outbox.sql';
import { MetricsRegistry } from './metrics.registry';

/** What became of one attempt to send a category event. */
export const EVENT_RESULTS = ['delivered', 'retried', 'dropped'] as const;
export type EventResult = (typeof EVENT_RESULTS)[number];

/** The pending gauge counts up to this many events (a scrape stays cheap whatever the backlog). */
export const PENDING_EVENTS_LIMIT = 100_000;
/** A scrape does not wait longer for the database; the gauge then reads NaN (unknown). */
const PENDING_TIMEOUT_MS = 2000;

/** What the events dispatcher reports: sends by type and result, and the outbox's size. */
@Injectable()
export class EventsMetrics {
  private readonly logger = new Logger(EventsMetrics.name);
  private readonly sends = new Map<string, Counter.Internal>();
  private pendingSource: (() => Promise<number>) | undefined;

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    const events = new Counter({
      name: 'delay_tasks_events_total',
      help: 'Category events sent by this replica, by type and result (delivered, retried, dropped)',
      labelNames: ['type', 'result'],
      registers,
    });
    for (const type of EVENT_TYPES) {
      for (const result of EVENT_RESULTS) {
        const child = events.labels(type, result);
        child.inc(0); // the series exist from the start
        this.sends.set(`${type} ${result}`, child);
      }
    }
    const pending = (): Promise<number> => this.readPending();
    new Gauge({
      name: 'delay_tasks_events_pending',
      help: `Category events waiting in the outbox (the whole database; counted up to ${PENDING_EVENTS_LIMIT})`,
      registers,
      async collect() {
        this.set(await pending());
      },
    });
  }

  /** Where the pending gauge reads from when scraped (the events repository). */
  trackPending(source: () => Promise<number>): void {
    this.pendingSource = source;
  }

  /** One attempt's result; a type not known here (none is written) is not counted. */
  eventFinished(type: string, result: EventResult): void {
    this.sends.get(`${type} ${result}`)?.inc();
  }

  private async readPending(): Promise<number> {
    if (!this.pendingSource) return NaN;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), PENDING_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.pendingSource(), timeout]);
    } catch (error) {
      this.logger.warn(`pending events unavailable: ${(error as Error).message}`);
      return NaN;
    } finally {
      clearTimeout(timer);
    }
  }
}
