import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { RawResponse } from '../../common/envelope.adapter';
import { MetricsRegistry } from './metrics.registry';

const METRICS_EXAMPLE = [
  '# HELP delay_tasks_tasks Tasks by state (exact up to 10000 per state, estimated beyond)',
  '# TYPE delay_tasks_tasks gauge',
  'delay_tasks_tasks{state="pending"} 42',
  '',
].join('\n');

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: MetricsRegistry) {}

  /**
   * Prometheus text exposition format (see the README's Operations section for the list). Open
   * without an API key unless the service runs with METRICS_REQUIRE_AUTH=true.
   */
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiOkResponse({
    description: "This replica's metrics.",
    content: {
      'text/plain; version=0.0.4': { schema: { type: 'string', example: METRICS_EXAMPLE } },
    },
  })
  @Get()
  @RawResponse()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
