import { webhookHeaders, WEBHOOK_HEADERS } from '../dispatch/webhook-signature';
import { ClaimedEvent } from './events.repository';

/** As the task deliveries' (delivery-request.ts). */
const USER_AGENT = 'delay-tasks/0.1';

export interface EventRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * The event's POST: its stored body as is, and the Standard Webhooks headers: webhook-id (the
 * event's, the same on every attempt, for de-duplication) and webhook-timestamp (`nowMs`, the
 * attempt by the database clock) always, webhook-signature with one signature per secret of the
 * category (newest first) when it has any, exactly as task deliveries are signed.
 */
export function buildEventRequest(event: ClaimedEvent, nowMs: number): EventRequest {
  const timestamp = Math.floor(nowMs / 1000);
  const signed =
    event.secrets.length > 0
      ? webhookHeaders(event.secrets, event.webhook_id, timestamp, event.body)
      : {
          [WEBHOOK_HEADERS.id]: event.webhook_id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        };
  return {
    body: event.body,
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'user-agent': USER_AGENT,
      ...signed,
    },
  };
}
