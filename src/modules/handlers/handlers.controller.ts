import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiEnvelopeResponse,
  ApiErrorResponses,
  BEARER_SCHEME,
} from '../../common/openapi.decorators';
import { CatePathDto } from '../../common/path.dto';
import { Audited } from '../audit/audited.decorator';
import {
  CircuitBreakerInput,
  CircuitBreakerSettings,
  DeleteHandlerResult,
  HandlerPage,
  HandlerView,
  ListHandlersQueryDto,
  RegisterHandlerDto,
} from './handlers.dto';
import { HandlersService } from './handlers.service';

@ApiTags('handlers')
@ApiExtraModels(CircuitBreakerSettings, CircuitBreakerInput)
@ApiBearerAuth(BEARER_SCHEME)
@ApiErrorResponses(400, 401)
@Controller()
export class HandlersController {
  constructor(private readonly handlers: HandlersService) {}

  /**
   * The handler URL is always replaced. Each setting is optional: omitted keeps what the category
   * has (the service default for a new one), null resets it to the service default. Pending tasks
   * follow the new handler at delivery time.
   */
  @ApiOperation({ summary: "Register or replace a category's handler and settings" })
  @ApiEnvelopeResponse(undefined, { description: 'Registered (committed).' })
  @ApiErrorResponses(403, 413)
  @Post('handler/:cate')
  @Audited('handler.register')
  @HttpCode(200)
  register(@Param() { cate }: CatePathDto, @Body() body: RegisterHandlerDto): Promise<void> {
    return this.handlers.register(cate, body);
  }

  /** The category's handler and settings (secrets masked); 404 when not registered. */
  @ApiOperation({ summary: 'Read a category' })
  @ApiEnvelopeResponse(HandlerView, { description: 'The category.' })
  @ApiErrorResponses(404)
  @Get('handler/:cate')
  get(@Param() { cate }: CatePathDto): Promise<HandlerView> {
    return this.handlers.get(cate);
  }

  /**
   * Removes the category; idempotent (`deleted: false` when it was not there). Its pending tasks
   * stay: those without their own handler fail their attempts with no_handler and are retried, so
   * registering the category again before their attempts run out delivers them.
   */
  @ApiOperation({ summary: 'Remove a category (its tasks stay)' })
  @ApiEnvelopeResponse(DeleteHandlerResult, { description: 'Whether the category was there.' })
  @ApiErrorResponses(403)
  @Delete('handler/:cate')
  @Audited('handler.delete')
  @HttpCode(200)
  remove(@Param() { cate }: CatePathDto): Promise<DeleteHandlerResult> {
    return this.handlers.remove(cate);
  }

  /**
   * Stops claims of the category on every replica: its due tasks stay pending and spend no
   * attempt; deliveries already running finish. Idempotent; 404 for an unknown category.
   */
  @ApiOperation({ summary: 'Pause a category' })
  @ApiEnvelopeResponse(HandlerView, { description: 'The category, paused (committed).' })
  @ApiErrorResponses(404)
  @Post('handler/:cate/pause')
  @Audited('handler.pause')
  @HttpCode(200)
  pause(@Param() { cate }: CatePathDto): Promise<HandlerView> {
    return this.handlers.pause(cate);
  }

  /**
   * Resumes claims of the category and closes its circuit breaker; its due backlog is delivered
   * at once. Idempotent; 404 for an unknown category.
   */
  @ApiOperation({ summary: 'Resume a category (also closes its circuit)' })
  @ApiEnvelopeResponse(HandlerView, { description: 'The category, resumed (committed).' })
  @ApiErrorResponses(404)
  @Post('handler/:cate/resume')
  @Audited('handler.resume')
  @HttpCode(200)
  resume(@Param() { cate }: CatePathDto): Promise<HandlerView> {
    return this.handlers.resume(cate);
  }

  /** Every category in name order, keyset-paginated. */
  @ApiOperation({ summary: 'List categories' })
  @ApiEnvelopeResponse(HandlerPage, { description: 'One page of categories.' })
  @Get('handlers')
  list(@Query() query: ListHandlersQueryDto): Promise<HandlerPage> {
    return this.handlers.list(query);
  }
}
