import { Controller, Get, Header, Res } from '@nestjs/common';
import { HealthCheckResult } from '@nestjs/terminus';
import { ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { JSON_CONTENT_TYPE } from '../../common/envelope';
import { RawResponse } from '../../common/envelope.interceptor';
import { HealthService } from './health.service';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly healthService: HealthService) {}

  /** As the original: plain `OK` while the process serves HTTP. */
  @Get()
  @RawResponse()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  health(): string {
    return 'OK';
  }

  /** Liveness: 200 while the process serves HTTP; no dependency is checked. */
  @Get('live')
  live(): Promise<HealthCheckResult> {
    return this.healthService.live();
  }

  /** Readiness: 200 when the database answers, migrations are applied and the dispatcher runs. */
  @Get('ready')
  @RawResponse()
  @Header('Content-Type', JSON_CONTENT_TYPE)
  async ready(@Res({ passthrough: true }) res: Response): Promise<string> {
    const { status, body } = await this.healthService.readiness();
    res.status(status);
    return body;
  }
}
