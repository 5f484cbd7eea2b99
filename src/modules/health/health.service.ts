import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { envelopeJson } from '../../common/envelope';
import { AppHealthIndicators } from './health.indicators';

/** Readiness gives up on a database that does not answer `SELECT 1` within this time. */
export const DATABASE_PING_TIMEOUT_MS = 1000;

export interface ReadinessReply {
  status: 200 | 503;
  /** The envelope, with terminus's result (status, info, error, details) as `result`. */
  body: string;
}

@Injectable()
export class HealthService {
  private readonly logger = new Logger(HealthService.name);
  private ready: boolean | undefined;

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly app: AppHealthIndicators,
  ) {}

  /** The process serves HTTP; nothing else is checked, so an outage elsewhere restarts nothing. */
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Database reachable, migrations applied, dispatcher running (when enabled); else 503. */
  async readiness(): Promise<ReadinessReply> {
    try {
      const result = await this.health.check([
        () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
        () => this.app.migrations('migrations'),
        () => this.app.dispatcher('dispatcher'),
      ]);
      this.noteReadiness(true, result);
      return { status: 200, body: envelopeJson(200, 'OK', result) };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      this.noteReadiness(false, result);
      return { status: 503, body: envelopeJson(503, `not ready: ${failedChecks(result)}`, result) };
    }
  }

  /** Logs changes only: probes run every few seconds and would repeat the same line. */
  private noteReadiness(ready: boolean, result: HealthCheckResult): void {
    const previous = this.ready;
    this.ready = ready;
    if (ready === previous) return;
    if (!ready) this.logger.warn(`not ready: ${failedChecks(result)}`);
    else if (previous === false) this.logger.log('ready again');
  }
}

/** "database (timeout of 1000ms exceeded), dispatcher (not running)" */
function failedChecks(result: HealthCheckResult): string {
  return Object.entries(result.error ?? {})
    .map(([key, value]) => {
      const message = (value as { message?: unknown }).message;
      return typeof message === 'string' ? `${key} (${message})` : key;
    })
    .join(', ');
}
