import { IsDefined } from 'class-validator';
import { IsHttpUrl } from '../../common/task-fields';

export class RegisterHandlerDto {
  /** Callback URL that receives the category's tasks when they are due. */
  @IsDefined({ message: 'handler is required' })
  @IsHttpUrl()
  handler!: string;
}

export class HandlerResultDto {
  cate!: string;
  handler!: string;
  createdAt!: string;
  updatedAt!: string;
}
