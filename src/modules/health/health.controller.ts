import { Controller, Get, Header } from '@nestjs/common';
import { RawResponse } from '../../common/envelope.interceptor';

@Controller('health')
export class HealthController {
  /** As the original: plain `OK` while the process serves HTTP. */
  @Get()
  @RawResponse()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  health(): string {
    return 'OK';
  }
}
