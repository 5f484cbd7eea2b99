import { Controller, Get, Header, Res } from '@nestjs/common';
import { HealthCheckResult } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { JSON_CONTENT_TYPE } from '../../common/envelope';
import { RawResponse } from '../../common/envelope.adapter';
import { ApiEnvelopeResponse } from '../../common/openapi.decorators';
import { HealthReport } from './health.dto';
import { HealthService } from './health.service';

const READY_CHECKS = {
  database: { status: 'up' },
  migrations: { status: 'up' },
  dispatcher: { status: 'up' },
};
const NOT_READY_CHECKS = {
  database: { status: 'down', message: 'timeout of 1000ms exceeded' },
};

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly healthService: HealthService) {}

  /** As the original: plain `OK` while the process serves HTTP. */
  @ApiOperation({ summary: 'Plain-text health check, as the original service' })
  @ApiOkResponse({
    description: 'The process serves HTTP.',
    content: { 'text/plain': { schema: { type: 'string', example: 'OK' } } },
  })
  @Get()
  @RawResponse()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  health(): string {
    return 'OK';
  }

  /** Liveness: 200 while the process serves HTTP; no dependency is checked. */
  @ApiOperation({ summary: 'Liveness probe' })
  @ApiEnvelopeResponse(HealthReport, {
    description: 'The process serves HTTP.',
    example: { status: 'ok', info: {}, error: {}, details: {} },
  })
  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.healthService.live();
  }

  /** Readiness: 200 when the database answers, migrations are applied and the dispatcher runs. */
  @ApiOperation({ summary: 'Readiness probe' })
  @ApiEnvelopeResponse(HealthReport, {
    description: 'Ready: every check is up.',
    example: { status: 'ok', info: READY_CHECKS, error: {}, details: READY_CHECKS },
  })
  @ApiEnvelopeResponse(HealthReport, {
    status: 503,
    description: 'Not ready; `msg` names the failed checks.',
    msg: 'not ready: database (timeout of 1000ms exceeded)',
    example: {
      status: 'error',
      info: { migrations: { status: 'up' }, dispatcher: { status: 'up' } },
      error: NOT_READY_CHECKS,
      details: { ...READY_CHECKS, ...NOT_READY_CHECKS },
    },
  })
  @Get('ready')
  @RawResponse()
  @Header('Content-Type', JSON_CONTENT_TYPE)
  async ready(@Res({ passthrough: true }) res: Response): Promise<string> {
    const { status, body } = await this.healthService.readiness();
    res.status(status);
    return body;
  }
}
