import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const BUILT_MAIN = join(ROOT, 'dist', 'main.js');

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs the service as a real process from the TypeScript sources (no build needed), with only
 * the given environment variables. With `preferBuild`, it runs `node dist/main.js` instead when
 * that build is newer than every source file (it starts in about a second where ts-node takes
 * several; a stale build would test old code, so the sources run then).
 */
export async function spawnService(
  env: Record<string, string>,
  options: { preferBuild?: boolean } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const args =
    options.preferBuild && isBuildCurrent()
      ? [BUILT_MAIN]
      : ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // The receivers listen on 127.0.0.1, which the SSRF guard refuses unless allowed.
    env: { LOG_LEVEL: 'warn', CALLBACK_ALLOW_CIDRS: '127.0.0.1/32', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, baseUrl: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Polls GET /health until it answers 200; throws with the process output otherwise. */
export async function waitUntilHealthy(service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${service.baseUrl}/health`)
      .then((res) => res.status === 200)
      .catch(() => false);
    if (ok) return;
    if (service.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service did not become healthy:\n${service.output()}`);
}

/** Whether dist/main.js exists and is newer than every file under src/. */
function isBuildCurrent(): boolean {
  let built: number;
  try {
    built = statSync(BUILT_MAIN).mtimeMs;
  } catch {
    return false;
  }
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
        const path = join(dir, entry.name);
        return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
      }),
    );
  return newest(join(ROOT, 'src')) <= built;
}
