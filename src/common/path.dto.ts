import { ApiProperty } from '@nestjs/swagger';
import { CATE_PATTERN, IsCate } from './task-fields';
import { isPlainRecord } from './validation.pipe';

export class CatePathDto {
  /** Category name: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
  @ApiProperty({ pattern: CATE_PATTERN.source, example: 'orders' })
  @IsCate()
  cate!: string;

  /** The pipe's shortcut (PlainlyValidated): a path with a valid category and nothing else. */
  static validPlain(value: unknown): CatePathDto | undefined {
    if (!isPlainRecord(value)) return undefined;
    const names = Object.keys(value);
    const cate = value.cate;
    if (names.length !== 1 || typeof cate !== 'string' || !CATE_PATTERN.test(cate)) {
      return undefined;
    }
    const dto = new CatePathDto();
    dto.cate = cate;
    return dto;
  }
}
