import { ApiProperty } from '@nestjs/swagger';
import { CATE_PATTERN, IsCate } from './task-fields';

export class CatePathDto {
  /** Category name: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsCate()
  cate!: string;
}
