import { IsCate } from './task-fields';

export class CatePathDto {
  /** Category name: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
  @IsCate()
  cate!: string;
}
