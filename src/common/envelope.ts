import { stringifyJson } from './lossless-json';

/** The original service's reply shape: `code` mirrors the HTTP status. */
export interface Envelope<T = unknown> {
  code: number;
  msg: string;
  result?: T;
}

/** Serializes an envelope losslessly (bigint keys and params stay exact). */
export function envelopeJson(code: number, msg: string, result?: unknown): string {
  const body: Envelope = result === undefined ? { code, msg } : { code, msg, result };
  return stringifyJson(body);
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
