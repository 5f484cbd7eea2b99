import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';

interface EmbeddedServer {
  handle: EmbeddedPostgresHandle;
  dir: string;
}

/**
 * Global setup and teardown run in one process, but Jest may load them as separate module
 * instances: the embedded server's handle is kept on globalThis.
 */
const KEY = Symbol.for('delay-tasks.test.embedded-server');
const store = globalThis as unknown as Record<symbol, EmbeddedServer | undefined>;

export function setEmbeddedServer(handle: EmbeddedPostgresHandle, dir: string): void {
  store[KEY] = { handle, dir };
}

export function takeEmbeddedServer(): EmbeddedServer | undefined {
  const current = store[KEY];
  store[KEY] = undefined;
  return current;
}
