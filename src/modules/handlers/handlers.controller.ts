import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CatePathDto } from '../../common/path.dto';
import { HandlerResultDto, RegisterHandlerDto } from './handlers.dto';
import { HandlersService } from './handlers.service';

@Controller('handler')
export class HandlersController {
  constructor(private readonly handlers: HandlersService) {}

  @Post(':cate')
  @HttpCode(200)
  register(@Param() { cate }: CatePathDto, @Body() body: RegisterHandlerDto): Promise<void> {
    return this.handlers.register(cate, body.handler);
  }

  @Get(':cate')
  get(@Param() { cate }: CatePathDto): Promise<HandlerResultDto> {
    return this.handlers.get(cate);
  }
}
