import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiEnvelopeResponse,
  ApiErrorResponses,
  BEARER_SCHEME,
} from '../../common/openapi.decorators';
import { AuditPage, AuditQueryDto } from './audit.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth(BEARER_SCHEME)
@ApiErrorResponses(400, 401)
@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /**
   * Operator actions (category changes, pause and resume, retries, bulk operations; not task
   * upserts), newest first, keyset-paginated; readable with a read-only key.
   */
  @ApiOperation({ summary: 'List the audit log' })
  @ApiEnvelopeResponse(AuditPage, { description: 'One page of entries, newest first.' })
  @Get('audit')
  list(@Query() query: AuditQueryDto): Promise<AuditPage> {
    return this.audit.list(query);
  }
}
