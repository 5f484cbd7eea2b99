import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * This application's metrics, served at /metrics. Its own registry rather than prom-client's
 * global one, so that several app instances in one process (tests) do not collide. Holds the
 * standard process and Node.js metrics (process_cpu_seconds_total, nodejs_heap_size_used_bytes…).
 */
@Injectable()
export class MetricsRegistry extends Registry {
  constructor() {
    super();
    collectDefaultMetrics({ register: this });
  }
}
