import { INestApplication } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { ReceivedCall } from './receiver';

/** Wall-clock Unix seconds, rounded to milliseconds (as clients send fractional timestamps). */
export function unixSeconds(offsetMs = 0): number {
  return Math.round(Date.now() + offsetMs) / 1000;
}

/** Registers (or replaces) the category's handler through the API. */
export async function registerHandler(
  app: INestApplication,
  cate: string,
  url: string,
): Promise<void> {
  const res = await request(app.getHttpServer()).post(`/handler/${cate}`).send({ handler: url });
  if (res.status !== 200) throw new Error(`POST /handler/${cate}: ${res.status} ${res.text}`);
}

export interface TaskInput {
  timestamp: number;
  /** Decimal text, sent as a bare JSON integer (exact beyond 2^53). */
  key: string | number;
  /** JSON text, sent as is. */
  params?: string;
  handler?: string;
}

/** Creates or updates a task through the API with a hand-written body (exact numbers). */
export async function postTask(
  app: INestApplication,
  cate: string,
  task: TaskInput,
): Promise<void> {
  const handler = task.handler === undefined ? '' : `,"handler":${JSON.stringify(task.handler)}`;
  const body =
    `{"timestamp":${task.timestamp},"key":${task.key},` +
    `"params":${task.params ?? 'null'}${handler}}`;
  const res = await request(app.getHttpServer())
    .post(`/task/${cate}`)
    .set('Content-Type', 'application/json')
    .send(body);
  if (res.status !== 200) throw new Error(`POST /task/${cate}: ${res.status} ${res.text}`);
}

/** Polls `probe` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The call's parsed body field, for calls whose JSON is an object. */
export function bodyField(call: ReceivedCall, field: string): unknown {
  return (call.json as Record<string, unknown>)[field];
}

/** The call's single-valued header. */
export function header(call: ReceivedCall, name: string): string {
  const value = call.headers[name];
  if (typeof value !== 'string') throw new Error(`header ${name} missing or repeated`);
  return value;
}

/** Milliseconds from the task's due time (x-task-due) to the call's arrival; negative = early. */
export function latenessMs(call: ReceivedCall): number {
  return call.arrivedAtMs - Number(header(call, 'x-task-due')) * 1000;
}
