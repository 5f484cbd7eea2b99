import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from './metrics.registry';

/** What the schedule materializer of this replica did. */
@Injectable()
export class ScheduleMetrics {
  private readonly created: Counter;
  private readonly skipped: Counter;

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    this.created = new Counter({
      name: 'delay_tasks_schedule_occurrences_total',
      help: 'Occurrences of schedules created as tasks by this replica',
      registers,
    });
    this.skipped = new Counter({
      name: 'delay_tasks_schedule_occurrences_skipped_total',
      help:
        'Missed occurrences of schedules not fired by their missed policy (skip; once: all but ' +
        'the latest; all: beyond the latest 1,000), counted up to 10,000 per catch-up',
      registers,
    });
  }

  recorded(created: number, skipped: number): void {
    if (created > 0) this.created.inc(created);
    if (skipped > 0) this.skipped.inc(skipped);
  }
}
