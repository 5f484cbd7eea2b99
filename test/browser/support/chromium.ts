import { existsSync } from 'node:fs';

/** Debian's Chromium, installed by apt (`.ci/run` does it); Playwright never downloads one. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium keeps dialling out (updates, sync, field
 * trials), which this machine refuses; the rest make a headless run on a server quiet and
 * deterministic. Playwright adds the headless flag and a fresh user-data dir per launch itself.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install -y --no-install-recommends chromium)`,
    );
  }
  return CHROMIUM;
}
