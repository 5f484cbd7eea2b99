/**
 * The deployment's nginx (deploy/nginx.conf) as a child process in front of local replicas.
 * The config is copied with only its `server delay-tasks-N:7080` lines and its listen port
 * rewritten, plus what a process without root needs (temp paths under a temporary prefix) and an
 * access log of each request's upstream attempts, which the tests read to explain every reply.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../support/service-process';

const DEPLOYED_CONF = join(__dirname, '..', '..', '..', 'deploy', 'nginx.conf');
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

/** One line of the access log: a request as nginx saw it, with every upstream it tried. */
export interface AccessLogEntry {
  /** The X-Request-Id nginx sent upstream. */
  id: string;
  method: string;
  uri: string;
  status: number;
  /** host:port of each attempt, in order (several when nginx tried the next upstream). */
  upstreams: string[];
  /** Status of each attempt (502 for an attempt that failed to connect or died, 504 timed out). */
  upstreamStatuses: number[];
  /** When nginx finished the request, Unix ms. */
  endMs: number;
}

/** The nginx binary: on PATH, else Debian's /usr/sbin/nginx. */
export function nginxBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  throw new Error('nginx is missing: apt-get install -y --no-install-recommends nginx');
}

/**
 * deploy/nginx.conf with its upstreams pointed at `upstreamPorts` (delay-tasks-N → the Nth port
 * on 127.0.0.1) and listening on 127.0.0.1:`port`; temp paths and the access log under `prefix`.
 */
export function localNginxConf(port: number, upstreamPorts: number[], prefix: string): string {
  const deployed = readFileSync(DEPLOYED_CONF, 'utf8');
  let servers = 0;
  const conf = deployed
    .replace(/server delay-tasks-(\d+):7080/g, (_line, n: string) => {
      servers++;
      const upstreamPort = upstreamPorts[Number(n) - 1];
      if (upstreamPort === undefined) throw new Error(`no port for delay-tasks-${n}`);
      return `server 127.0.0.1:${upstreamPort}`;
    })
    .replace(
      /^(\s*)listen 7080;$/m,
      (_line, indent: string) =>
        `${indent}listen 127.0.0.1:${port};\n${indent}access_log ${join(prefix, 'access.log')} attempts;`,
    )
    .replace(/^http \{$/m, `http {\n${testOnlyHttpLines(prefix)}`);
  if (servers !== upstreamPorts.length || !conf.includes(`listen 127.0.0.1:${port};`)) {
    throw new Error(`deploy/nginx.conf no longer has ${upstreamPorts.length} servers and a listen`);
  }
  return conf;
}

function testOnlyHttpLines(prefix: string): string {
  const temp = TEMP_PATHS.map((name) => `  ${name}_temp_path ${join(prefix, name)};`);
  const attempts =
    `  log_format attempts escape=json '{"id":"$forwarded_request_id","method":"$request_method",` +
    `"uri":"$request_uri","status":$status,"upstreams":"$upstream_addr",` +
    `"upstreamStatuses":"$upstream_status","end":$msec}';`;
  return [...temp, attempts].join('\n');
}

export class NginxProcess {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly prefix: string,
    readonly port: number,
    readonly exited: Promise<unknown>,
  ) {}

  /** Starts nginx on a free port in front of replicas listening on `upstreamPorts`. */
  static async start(upstreamPorts: number[]): Promise<NginxProcess> {
    const prefix = mkdtempSync(join(tmpdir(), 'delay-tasks-nginx-'));
    // As root, nginx's workers run as an unprivileged user: they must reach the temp paths.
    chmodSync(prefix, 0o755);
    const port = await freePort();
    const confFile = join(prefix, 'nginx.conf');
    writeFileSync(confFile, localNginxConf(port, upstreamPorts, prefix));
    const child = spawn(
      nginxBinary(),
      [
        ...['-p', prefix, '-c', confFile, '-e', 'stderr'],
        // warn: also the "upstream server temporarily disabled" lines (max_fails reached).
        ...['-g', `daemon off; pid ${join(prefix, 'nginx.pid')}; error_log stderr warn;`],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = once(child, 'exit');
    const nginx = new NginxProcess(child, prefix, port, exited);
    child.stdout?.on('data', (chunk: Buffer) => (nginx.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (nginx.output += chunk.toString()));
    await nginx.waitUntilServing();
    return nginx;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What nginx wrote to stderr (its error log: upstream failures, retries). */
  errorLog(): string {
    return this.output;
  }

  /** Every request nginx has finished so far. */
  accessLog(): AccessLogEntry[] {
    const file = join(this.prefix, 'access.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map(parseAccessLine);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = new AbortController();
      const expired = sleep(STOP_TIMEOUT_MS, 'timeout', { signal: timer.signal }).catch(() => '');
      if ((await Promise.race([this.exited, expired])) === 'timeout') {
        this.child.kill('SIGKILL');
        await this.exited;
      }
      timer.abort();
    }
    rmSync(this.prefix, { recursive: true, force: true });
  }

  private async waitUntilServing(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      const answered = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(2000) })
        .then(() => true)
        .catch(() => false);
      if (answered) return;
      await sleep(50);
    }
    throw new Error(`nginx did not start:\n${this.output}`);
  }
}

function parseAccessLine(line: string): AccessLogEntry {
  const raw = JSON.parse(line) as {
    id: string;
    method: string;
    uri: string;
    status: number;
    upstreams: string;
    upstreamStatuses: string;
    end: number;
  };
  // "a:1, b:2" for attempts at several servers of the group ("a : b" separates groups: not used).
  const list = (value: string): string[] =>
    value === '' || value === '-' ? [] : value.split(/\s*,\s*/);
  return {
    id: raw.id,
    method: raw.method,
    uri: raw.uri,
    status: raw.status,
    upstreams: list(raw.upstreams),
    upstreamStatuses: list(raw.upstreamStatuses).map(Number),
    endMs: raw.end * 1000,
  };
}
