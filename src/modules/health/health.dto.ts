import { ApiProperty, ApiPropertyOptional, SchemaObject } from '@nestjs/swagger';

/** One check of a report: `status` and whatever the check adds (`message` when it is down). */
const CHECK_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['up', 'down'] } },
  additionalProperties: true,
};
const CHECKS_SCHEMA = { type: 'object', additionalProperties: CHECK_SCHEMA } as const;

/** @nestjs/terminus's report (HealthCheckResult): one entry per check, by name. */
export class HealthReport {
  /** ok when every check is up. */
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  status!: 'ok' | 'error' | 'shutting_down';

  /** The checks that are up. */
  @ApiPropertyOptional({ ...CHECKS_SCHEMA, example: { database: { status: 'up' } } })
  info?: Record<string, { status: string }>;

  /** The checks that are down, with a message. */
  @ApiPropertyOptional({ ...CHECKS_SCHEMA, example: {} })
  error?: Record<string, { status: string }>;

  /** Every check: database, migrations and dispatcher for readiness; none for liveness. */
  @ApiProperty({ ...CHECKS_SCHEMA, example: { database: { status: 'up' } } })
  details!: Record<string, { status: string }>;
}
