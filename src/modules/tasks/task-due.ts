import { BadRequestException } from '@nestjs/common';
import { localToInstant } from '../../common/local-time';
import { MAX_TIMESTAMP } from '../../common/task-fields';
import { UpsertTaskDto } from './tasks.dto';

/** When a validated task is due, Unix seconds, and how the client wrote it (for messages). */
export interface TaskDue {
  timestamp: number;
  /** `timestamp 1795800000` or `at 2027-03-28T02:30:00 (Europe/Berlin)`. */
  given: string;
}

/**
 * The due time of a task the validation pipe passed: its timestamp, or its local `at` read in
 * `timezone` with the compatible DST rule (common/local-time.ts). `prefix` names the item of a
 * batch in messages (`tasks[3].`).
 */
export function taskDue(dto: UpsertTaskDto, prefix = ''): TaskDue {
  if (dto.at === undefined || dto.timezone === undefined) {
    return { timestamp: dto.timestamp as number, given: `${prefix}timestamp ${dto.timestamp}` };
  }
  const timestamp = localToInstant(dto.at, dto.timezone).getTime() / 1000;
  const given = `${prefix}at ${dto.at} (${dto.timezone})`;
  if (!(timestamp >= 0 && timestamp <= MAX_TIMESTAMP)) {
    throw new BadRequestException(`${given} is outside 1970-01-01 to 9999-12-31 UTC`);
  }
  return { timestamp, given };
}
