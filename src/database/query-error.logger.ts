import { Logger as NestLogger } from '@nestjs/common';
import { Logger as TypeOrmLogger } from 'typeorm';

const MAX_STATEMENT_CHARS = 200;

/**
 * TypeORM's own 'error' logging prints a failed statement's parameters, which carry task params
 * and webhook secrets. This logs failed statements through the service's logger with the error
 * and the start of the (hand-written, parameterised) SQL only, never the values.
 */
export class QueryErrorLogger implements TypeOrmLogger {
  private readonly logger = new NestLogger('Database');

  logQueryError(error: string | Error, query: string): void {
    const message = typeof error === 'string' ? error : error.message;
    const statement = query.replace(/\s+/g, ' ').trim().slice(0, MAX_STATEMENT_CHARS);
    this.logger.warn(`query failed: ${message} (statement: ${statement})`);
  }

  /** MigrationRunner logs the migrations it applies; TypeORM's running commentary is noise. */
  logMigration(): void {}

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
  }

  logQuery(): void {}

  logQuerySlow(): void {}

  logSchemaBuild(): void {}
}
