import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { MIGRATIONS } from '../src/database/data-source-options';
import { MIGRATION_LOCK_ID } from '../src/database/migration-lock';
import { readTestServerState, withDatabase } from './setup/test-server';
import { onServer } from './support/database';
import { waitFor } from './support/tasks-api';

const ROOT = join(__dirname, '..');

interface CliRun {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** `npm run migration:run` as a real process (its own process group, to be killed whole). */
function runMigrationCli(databaseUrl: string): CliRun {
  const child = spawn('npm', ['run', '--silent', 'migration:run'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? ROOT,
      DATABASE_URL: databaseUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, output: () => output, exited };
}

describe('npm run migration:run', () => {
  const state = readTestServerState();
  // A new, empty database: the template clones of other tests are migrated already.
  const name = `${state.prefix}migrate_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(state.serverUrl, name);
  let holder: Client;
  let cli: CliRun | undefined;

  beforeAll(async () => {
    await onServer(state.serverUrl, `CREATE DATABASE ${name}`);
    holder = new Client({ connectionString: url });
    await holder.connect();
  });

  afterAll(async () => {
    if (cli?.child.pid !== undefined && cli.child.exitCode === null) {
      process.kill(-cli.child.pid, 'SIGKILL');
    }
    await holder.end();
    await onServer(state.serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  async function tableExists(table: string): Promise<boolean> {
    const { rows } = await holder.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [table],
    );
    return rows[0].exists;
  }

  it('waits while another session holds the migration lock, then applies every migration', async () => {
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const run = (cli = runMigrationCli(url));

    // The CLI is connected and polling for the lock …
    await waitFor(
      'the CLI to connect',
      async () => {
        const { rows } = await holder.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'delay-tasks-cli'`,
        );
        return rows.length > 0 || run.child.exitCode !== null;
      },
      30_000,
    );
    // … for several of its polls (150 ms apart), without migrating anything or giving up.
    await sleep(1000);
    expect(run.child.exitCode).toBeNull();
    expect(await tableExists('migrations')).toBe(false);
    expect(await tableExists('tasks')).toBe(false);

    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    const code = await run.exited;

    expect({ code, output: run.output() }).toMatchObject({ code: 0 });
    const { rows } = await holder.query<{ name: string }>(
      'SELECT name FROM migrations ORDER BY id',
    );
    expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
    expect(await tableExists('tasks')).toBe(true);
    // The CLI released the lock when it was done.
    const { rows: lock } = await holder.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1) AS locked',
      [MIGRATION_LOCK_ID],
    );
    expect(lock[0].locked).toBe(true);
  });
});
