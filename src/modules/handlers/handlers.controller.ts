import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CatePathDto } from '../../common/path.dto';
import {
  DeleteHandlerResult,
  HandlerPage,
  HandlerView,
  ListHandlersQueryDto,
  RegisterHandlerDto,
} from './handlers.dto';
import { HandlersService } from './handlers.service';

@Controller()
export class HandlersController {
  constructor(private readonly handlers: HandlersService) {}

  /** Registers or replaces the category's handler and the settings given. */
  @Post('handler/:cate')
  @HttpCode(200)
  register(@Param() { cate }: CatePathDto, @Body() body: RegisterHandlerDto): Promise<void> {
    return this.handlers.register(cate, body);
  }

  /** The category's handler and settings (secrets masked); 404 when not registered. */
  @Get('handler/:cate')
  get(@Param() { cate }: CatePathDto): Promise<HandlerView> {
    return this.handlers.get(cate);
  }

  /**
   * Removes the category; idempotent (`deleted: false` when it was not there). Its pending tasks
   * stay: those without their own handler fail their attempts with no_handler and are retried, so
   * registering the category again before their attempts run out delivers them.
   */
  @Delete('handler/:cate')
  @HttpCode(200)
  remove(@Param() { cate }: CatePathDto): Promise<DeleteHandlerResult> {
    return this.handlers.remove(cate);
  }

  /** Every category in name order, keyset-paginated. */
  @Get('handlers')
  list(@Query() query: ListHandlersQueryDto): Promise<HandlerPage> {
    return this.handlers.list(query);
  }
}
