import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { takeEmbeddedServer } from './embedded-server';
import { readTestServerState, testStateFile } from './test-server';

/** Drops every database this run created (a crashed file may have left one), then the server. */
export default async function globalTeardown(): Promise<void> {
  const state = readTestServerState();
  const client = new Client({ connectionString: state.serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1::text)`,
      [state.prefix],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
  rmSync(testStateFile(process.pid), { force: true });
  const embedded = takeEmbeddedServer();
  if (embedded) {
    await embedded.handle.stop();
    rmSync(embedded.dir, { recursive: true, force: true });
  }
}
