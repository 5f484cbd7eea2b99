import { trimEpoch } from '../../common/epoch';
import { ClaimedTask } from './queue.types';
import { webhookHeaders } from './webhook-signature';

export const DELIVERY_HEADERS = {
  id: 'x-delivery-id',
  attempt: 'x-delivery-attempt',
  due: 'x-task-due',
  /** An occurrence of a schedule: its time, Unix seconds. */
  scheduleTime: 'x-schedule-time',
} as const;

const USER_AGENT = 'delay-tasks/0.1';

export interface DeliveryRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * The callback exactly as the original sends it: `{"cate","inAdvance","key","params"}` in that
 * order, key as a bare integer, params as stored. Everything new travels in headers: X-Schedule-Time
 * for an occurrence of a schedule, the Standard Webhooks signature when the category has secrets
 * (signed at `nowMs`, the attempt).
 */
export function buildDeliveryRequest(
  task: ClaimedTask,
  nowMs: number = Date.now(),
): DeliveryRequest {
  if (!/^\d+$/.test(task.key)) throw new Error(`task key ${task.key} is not an integer`);
  const body =
    `{"cate":${JSON.stringify(task.cate)},"inAdvance":${task.in_advance},` +
    `"key":${task.key},"params":${task.params}}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=UTF-8',
    'user-agent': USER_AGENT,
    [DELIVERY_HEADERS.id]: task.delivery_id,
    [DELIVERY_HEADERS.attempt]: String(task.attempts),
    [DELIVERY_HEADERS.due]: trimEpoch(task.due_epoch),
  };
  // Occurrences fall on whole seconds (cron has no finer field, startAt/endAt are whole).
  if (task.from_schedule) headers[DELIVERY_HEADERS.scheduleTime] = trimEpoch(task.due_epoch);
  if (task.secrets.length > 0) {
    Object.assign(
      headers,
      webhookHeaders(task.secrets, task.delivery_id, Math.floor(nowMs / 1000), body),
    );
  }
  return { body, headers };
}
