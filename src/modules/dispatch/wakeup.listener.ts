import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DUE_CHANNEL, FLOW_CHANGED } from '../../database/due-channel';

/**
 * Reconnect backoff. Short on purpose: while this connection is down, no NOTIFY reaches the
 * dispatcher and a task posted due soon waits for the fallback poll, and the reconnect is what
 * wakes a dispatcher waiting out a database error: after a database restart the connection must
 * be back within a tenth of a second (a refused connect costs nothing; ten a second per replica
 * while the server is down). With 500 ms the first delivery after a restart came up to half a
 * second late, depending on where the backoff stood (postgres-restart fault test: 94 or 424 ms).
 */
const FIRST_RECONNECT_DELAY_MS = 50;
const MAX_RECONNECT_DELAY_MS = 100;
/** A connect that hangs (server up but not answering) is given up and retried. */
const CONNECT_TIMEOUT_MS = 5000;
/**
 * An idle LISTEN connection cut off without a FIN or RST (network partition, NAT or firewall
 * timeout, failover) would otherwise look alive for hours: ping it, and reconnect when the ping
 * does not come back in time.
 */
const PING_INTERVAL_MS = 10_000;
const PING_TIMEOUT_MS = 5000;
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/**
 * Holds one dedicated connection that LISTENs for due-task notifications and calls `onWake` for
 * each. The connection is re-established whenever it fails, is terminated or stops answering
 * pings, with a short backoff, and every (re)connect also calls `onWake`, since notifications
 * sent meanwhile were lost.
 */
export class WakeupListener {
  private readonly logger = new Logger(WakeupListener.name);
  private client: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = FIRST_RECONNECT_DELAY_MS;
  private stopped = false;

  constructor(
    private readonly connectionString: string,
    /** `flowChanged`: the notification came from a pause/resume (payload FLOW_CHANGED). */
    private readonly onWake: (flowChanged?: boolean) => void,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'delay-tasks-listener',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    });
    client.on('notification', (message) => this.onWake(message.payload === FLOW_CHANGED));
    client.on('error', (error) => this.lost(client, error.message));
    client.on('end', () => this.lost(client, 'connection ended'));
    try {
      await client.connect();
      await client.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (error) {
      this.lost(client, (error as Error).message);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.reconnectDelayMs = FIRST_RECONNECT_DELAY_MS;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => void this.ping(client), PING_INTERVAL_MS);
    this.onWake(true); // what changed while disconnected is unknown
  }

  /** A round trip on the LISTEN connection; no answer within PING_TIMEOUT_MS means it is lost. */
  private async ping(client: Client): Promise<void> {
    if (this.client !== client) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`no answer to a ping within ${PING_TIMEOUT_MS} ms`),
        PING_TIMEOUT_MS,
      );
    });
    const answered = client.query('SELECT 1').then(
      () => undefined,
      (error: Error) => error.message,
    );
    const failure = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    if (failure !== undefined) this.lost(client, failure);
  }

  private lost(client: Client, reason: string): void {
    if (this.stopped || client.listenerCount('end') === 0) return;
    client.removeAllListeners();
    client.on('error', () => undefined); // late socket errors of the dead client
    void client.end().catch(() => undefined);
    if (this.client === client) {
      this.client = undefined;
      clearInterval(this.pingTimer);
    }
    this.logger.warn(
      `LISTEN connection lost (${reason}); reconnecting in ${this.reconnectDelayMs} ms`,
    );
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
  }
}
