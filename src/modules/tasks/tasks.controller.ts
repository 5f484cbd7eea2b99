import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CatePathDto } from '../../common/path.dto';
import {
  DeleteTaskDto,
  ListTasksQueryDto,
  TaskPage,
  TaskPathDto,
  TaskQueryDto,
  TaskView,
  UpsertTaskDto,
} from './tasks.dto';
import { TasksService } from './tasks.service';

@Controller()
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @Post('task/:cate')
  @HttpCode(200)
  upsert(@Param() { cate }: CatePathDto, @Body() body: UpsertTaskDto): Promise<void> {
    return this.tasks.upsert(cate, body);
  }

  @Delete('task/:cate')
  @HttpCode(200)
  remove(
    @Param() { cate }: CatePathDto,
    @Body() body: DeleteTaskDto,
  ): Promise<{ deleted: boolean }> {
    return this.tasks.remove(cate, body);
  }

  @Get('task/:cate/:key')
  get(@Param() { cate, key }: TaskPathDto, @Query() query: TaskQueryDto): Promise<TaskView> {
    return this.tasks.get(cate, key, query.timestamp);
  }

  @Get('tasks')
  list(@Query() query: ListTasksQueryDto): Promise<TaskPage> {
    return this.tasks.list(query);
  }
}
