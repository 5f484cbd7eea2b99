/**
 * The callback every peer of the benchmark makes for a due job: the body delay-tasks sends and the
 * headers the receiver reads (x-delivery-id, x-task-due). The peers post through the service's own
 * callback client (CallbackClient: axios through HttpService with the undici transport and the
 * network guard, set up as in the service, callbacks allowed to 127.0.0.1), so that the HTTP cost
 * is the same for every system and the ratios measure the queues.
 */
import { loadConfig } from '../../src/config/load-config';
import { callbackHttpService } from '../../src/modules/dispatch/callback-http';
import { CallbackClient } from '../../src/modules/dispatch/callback.client';

/** What a peer stores with each job: the task as delay-tasks would hold it, plus where to post. */
export interface PeerJob {
  cate: string;
  key: number;
  params: unknown;
  /** Due time in seconds since the epoch, as text (the receiver reads it back with Number()). */
  due: string;
  url: string;
}

export interface PeerHttp {
  /** POSTs the task; rejects unless it is answered 2xx, so that the peer records a failure. */
  deliver(job: PeerJob, deliveryId: string): Promise<void>;
  close(): void;
}

const TIMEOUT_MS = 5000;

export function createPeerHttp(): PeerHttp {
  const config = { ...loadConfig({}), callbackAllowCidrs: ['127.0.0.1/32'] };
  const client = new CallbackClient(callbackHttpService(), config);
  return {
    deliver: async (job, deliveryId) => {
      const body = `{"cate":${JSON.stringify(job.cate)},"inAdvance":false,"key":${job.key},"params":${JSON.stringify(job.params)}}`;
      const result = await client.post({
        url: job.url,
        body,
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'x-delivery-id': deliveryId,
          'x-task-due': job.due,
        },
        timeoutMs: TIMEOUT_MS,
      });
      if (result.kind !== 'response' || result.status < 200 || result.status >= 300) {
        throw new Error(`callback failed: ${JSON.stringify(result)}`);
      }
    },
    close: () => client.close(),
  };
}
