import { PayloadTooLargeException } from '@nestjs/common';
import { stringifyJson } from './lossless-json';

/**
 * A task's or schedule's params as the JSON text to store (absent: null), refused with a 413 when
 * it is over `maxBytes` (MAX_PARAMS_BYTES). `field` names it in the message (`tasks[3].params`).
 */
export function paramsJsonWithin(params: unknown, maxBytes: number, field = 'params'): string {
  const paramsJson = stringifyJson(params ?? null);
  const size = Buffer.byteLength(paramsJson);
  if (size > maxBytes) {
    throw new PayloadTooLargeException(
      `${field} is ${size} bytes, more than the limit of ${maxBytes} bytes`,
    );
  }
  return paramsJson;
}
