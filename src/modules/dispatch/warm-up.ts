import { HttpService } from '@nestjs/axios';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { CallbackClient } from './callback.client';
import { buildDeliveryRequest } from './delivery-request';
import { ClaimedTask } from './queue.types';

/** Warm-up deliveries, and how many run at once (as a burst's would). */
const WARM_DELIVERIES = 400;
const WARM_CONCURRENCY = 16;

/** A task as a claim returns one, for the warm-up's requests only (never stored or sent out). */
const WARM_TASK: ClaimedTask = {
  id: '0',
  claim_token: 0,
  cate: 'warm-up',
  key: '1',
  params: '{"warm":true}',
  in_advance: false,
  attempts: 1,
  delivery_id: '00000000-0000-4000-8000-000000000000',
  due_epoch: '0',
  handler_url: null,
  max_attempts: null,
  timeout_ms: null,
  secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
};

/**
 * Runs the delivery path (request building and signing, axios, the undici transport, response
 * reading) a few hundred times against a server of this process on 127.0.0.1, before the replica
 * reports ready: the first real deliveries then run optimized code instead of paying for its
 * compilation (a cold start measured 110 ms of lateness p99 in its first 3 s). It goes through a
 * client of its own that may reach 127.0.0.1 only for this; the service's client and its
 * network policy are untouched.
 */
export async function warmDeliveryPath(http: HttpService, config: AppConfig): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('OK'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/warm-up`;
  const client = new CallbackClient(http, {
    ...config,
    callbackAllowCidrs: ['127.0.0.1/32'],
  });
  try {
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < WARM_DELIVERIES) {
        started += 1;
        const { body, headers } = buildDeliveryRequest(WARM_TASK);
        await client.post({ url, body, headers, timeoutMs: 1000 });
      }
    };
    await Promise.all(Array.from({ length: WARM_CONCURRENCY }, worker));
  } finally {
    client.close();
    server.closeAllConnections();
    server.close();
  }
}
