import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DUE_CHANNEL } from '../tasks/tasks.sql';

const MAX_RECONNECT_DELAY_MS = 5000;

/**
 * Holds one dedicated connection that LISTENs for due-task notifications and calls `onWake` for
 * each. The connection is re-established whenever it fails or is terminated, with backoff, and
 * every (re)connect also calls `onWake`, since notifications sent meanwhile were lost.
 */
export class WakeupListener {
  private readonly logger = new Logger(WakeupListener.name);
  private client: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 100;
  private stopped = false;

  constructor(
    private readonly connectionString: string,
    private readonly onWake: () => void,
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
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.connectionString,
      application_name: 'delay-tasks-listener',
      keepAlive: true,
    });
    client.on('notification', () => this.onWake());
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
    this.reconnectDelayMs = 100;
    this.onWake();
  }

  private lost(client: Client, reason: string): void {
    if (this.stopped || client.listenerCount('end') === 0) return;
    client.removeAllListeners();
    client.on('error', () => undefined); // late socket errors of the dead client
    void client.end().catch(() => undefined);
    if (this.client === client) this.client = undefined;
    this.logger.warn(
      `LISTEN connection lost (${reason}); reconnecting in ${this.reconnectDelayMs} ms`,
    );
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
  }
}
