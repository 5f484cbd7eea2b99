import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from '../src/database/embedded-postgres';

const projectRoot = path.resolve(__dirname, '..');
const modulePath = path.join(projectRoot, 'src/database/embedded-postgres.ts');
const tempDirs: string[] = [];
const handles: EmbeddedPostgresHandle[] = [];
const children: ChildProcess[] = [];

/** A fresh parent dir; mkdtemp makes it 0700, which the `postgres` OS user (root case) can't enter. */
function makeTempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-pg-spec-'));
  fs.chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

async function start(dataDir: string): Promise<EmbeddedPostgresHandle> {
  const handle = await startEmbeddedPostgres({ dataDir });
  handles.push(handle);
  return handle;
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function selectOne(url: string): Promise<{ one: number }> {
  return withClient(url, async (client) => {
    const result = await client.query<{ one: number }>('SELECT 1 AS one');
    return result.rows[0];
  });
}

function postmasterPid(dataDir: string): number {
  const content = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
  return Number.parseInt(content.split('\n')[0], 10);
}

/** Zombies count as gone: an orphan re-parented to PID 1 stays one until PID 1 reaps it. */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0]);
  } catch {
    return false;
  }
}

/** The postmaster's own children (checkpointer, backends, ...), read from /proc/<pid>/stat. */
function childPids(parentPid: number): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === parentPid ? [Number(entry)] : [];
    } catch {
      return []; // exited while we were reading
    }
  });
}

/** Snapshot of the server for `dataDir`: postmaster plus children, to check later that all exited. */
function serverPids(dataDir: string): number[] {
  const pid = postmasterPid(dataDir);
  return [pid, ...childPids(pid)];
}

/**
 * stop() resolves when the postmaster has let go of its data directory and is exiting (its
 * postmaster.pid removed, its command line gone, as `pg_ctl stop` waits for): the process itself,
 * and a child it no longer waits for, may take a moment longer to vanish on a busy machine.
 */
async function expectServerGone(dataDir: string, pids: number[]): Promise<void> {
  expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 5_000).catch(() => undefined);
  expect(pids.filter(isAlive)).toEqual([]);
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function notifyRoundTrip(url: string): Promise<string | undefined> {
  return withClient(url, async (listener) => {
    await listener.query('LISTEN embedded_spec');
    const received = new Promise<string | undefined>((resolve) =>
      listener.once('notification', (message) => resolve(message.payload)),
    );
    await withClient(url, (notifier) =>
      notifier.query("SELECT pg_notify('embedded_spec', 'hello')"),
    );
    return received;
  });
}

/** Starts the cluster in another Node process and returns once it is ready (that process stays). */
async function startInChildProcess(dataDir: string): Promise<ChildProcess> {
  const script =
    `require(${JSON.stringify(modulePath)})` +
    `.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} })` +
    `.then(() => console.log('READY'), (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early with code ${code}`)));
  });
  return child;
}

afterAll(async () => {
  await Promise.all(handles.map((handle) => handle.stop()));
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
});

describe('startEmbeddedPostgres', () => {
  it('initialises, serves queries and LISTEN/NOTIFY, stops, and restarts with its data', async () => {
    const dataDir = path.join(makeTempDir(), 'state');
    const first = await start(dataDir);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o755);
    expect(first.url).toBe(`postgres://postgres:postgres@127.0.0.1:${first.port}/delay_tasks`);
    await expect(selectOne(first.url)).resolves.toEqual({ one: 1 });
    await expect(notifyRoundTrip(first.url)).resolves.toBe('hello');
    await withClient(first.url, (client) =>
      client.query("CREATE TABLE kept AS SELECT 'first run'::text AS note"),
    );
    const pids = serverPids(dataDir);
    await first.stop();
    await expectServerGone(dataDir, pids);
    await expect(first.stop()).resolves.toBeUndefined();

    const second = await start(dataDir);
    const kept = await withClient(second.url, (client) =>
      client.query<{ note: string }>('SELECT note FROM kept'),
    );
    expect(kept.rows).toEqual([{ note: 'first run' }]);
    const secondPids = serverPids(dataDir);
    await second.stop();
    await expectServerGone(dataDir, secondPids);
  });

  it('takes over from a server whose handle was never stopped', async () => {
    const dataDir = makeTempDir();
    const forgotten = await start(dataDir);
    const forgottenPids = serverPids(dataDir);

    const current = await start(dataDir);
    expect(forgottenPids.filter(isAlive)).toEqual([]);
    await expect(selectOne(current.url)).resolves.toEqual({ one: 1 });
    // The stale handle must neither hang nor stop the server that replaced it.
    await forgotten.stop();
    await expect(selectOne(current.url)).resolves.toEqual({ one: 1 });

    const pids = serverPids(dataDir);
    await current.stop();
    await expectServerGone(dataDir, pids);
  });

  it('stops a server orphaned by a SIGKILLed process, then starts normally', async () => {
    const dataDir = makeTempDir();
    const owner = await startInChildProcess(dataDir);
    const orphanPids = serverPids(dataDir);
    owner.kill('SIGKILL');
    await waitFor(() => owner.exitCode !== null || owner.signalCode !== null);
    expect(isAlive(orphanPids[0])).toBe(true);

    const handle = await start(dataDir);
    expect(orphanPids.filter(isAlive)).toEqual([]);
    await expect(selectOne(handle.url)).resolves.toEqual({ one: 1 });
    const pids = serverPids(dataDir);
    await handle.stop();
    await expectServerGone(dataDir, pids);
  });

  it('starts over a stale postmaster.pid left by a SIGKILLed server', async () => {
    const dataDir = makeTempDir();
    const crashed = await start(dataDir);
    const crashedPids = serverPids(dataDir);
    process.kill(crashedPids[0], 'SIGKILL');
    // Its children notice the postmaster's death and exit on their own.
    await waitFor(() => crashedPids.every((pid) => !isAlive(pid)));
    expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);

    const handle = await start(dataDir);
    await expect(selectOne(handle.url)).resolves.toEqual({ one: 1 });
    await crashed.stop();
    await expect(selectOne(handle.url)).resolves.toEqual({ one: 1 });
    const pids = serverPids(dataDir);
    await handle.stop();
    await expectServerGone(dataDir, pids);
  });
});
