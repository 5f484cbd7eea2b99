import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the global setup started, for the tests (they run in other processes). */
export interface BrowserEnv {
  baseUrl: string;
  databaseUrl: string;
  /** A CallbackReceiver answering 200, for handlers of categories the tests create. */
  receiverUrl: string;
  adminKey: string;
  readerKey: string;
}

export const ENV_FILE = join(__dirname, '..', '..', '.tmp', 'browser-env.json');

export function browserEnv(): BrowserEnv {
  return JSON.parse(readFileSync(ENV_FILE, 'utf8')) as BrowserEnv;
}
