/**
 * SQL pieces shared by the statements that write category events into the outbox (the `events`
 * table) in the transaction of the state change they report: RECORD_FAILURES and
 * UPDATE_CIRCUITS (dispatch), RESUME_HANDLER and UPSERT_HANDLER (handlers). The body is built
 * as text, in SQL, once: it is what is signed and sent, byte for byte, on every attempt.
 */

export const EVENT_TYPES = [
  'task.failed',
  'category.circuit_opened',
  'category.circuit_closed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Why a circuit closed: a delivery succeeded, an operator resumed, the breaker was turned off. */
export type CircuitClosedReason = 'probe_succeeded' | 'resumed' | 'disabled';

/** A timestamptz expression as ISO 8601 UTC text with milliseconds (as Date.toISOString). */
export function isoTime(expression: string): string {
  return `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** The JSON text of a text expression: a JSON string, or null. */
export function jsonString(expression: string): string {
  return `coalesce(to_json((${expression})::text)::text, 'null')`;
}

/** A compact JSON object from (name, SQL expression of the member's JSON text) pairs. */
export function jsonObject(members: ReadonlyArray<readonly [string, string]>): string {
  const parts = members.map(
    ([name, value], i) => `'${i === 0 ? '{' : ','}${JSON.stringify(name)}:' || ${value}`,
  );
  return `${parts.join(' || ')} || '}'`;
}

/**
 * The event's body `{"type","timestamp","data"}`: the timestamp is the database clock at the
 * writing transaction (now()), `data` a SQL expression of the data object's JSON text.
 */
export function eventBody(type: EventType, data: string): string {
  return `'{"type":"${type}","timestamp":"' || ${isoTime('now()')} || '","data":' || ${data} || '}'`;
}

/** data of category.circuit_closed for the category in `cate` (a column or expression). */
export function circuitClosedData(cate: string, reason: CircuitClosedReason): string {
  return jsonObject([
    ['cate', jsonString(cate)],
    ['reason', `'"${reason}"'`],
  ]);
}
