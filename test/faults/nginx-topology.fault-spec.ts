import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceProcess } from '../support/service-process';
import { formatSummary, report, summarize } from './support/figures';
import { useFaultFixture } from './support/fixtures';
import { AccessLogEntry, NginxProcess } from './support/nginx';
import { waitFor } from './support/wait';
import { hasExited, replicaEnv } from './support/replicas';

/** The deployed nginx.conf's proxy_read_timeout and fail_timeout. */
const READ_TIMEOUT_MS = 12_000;
const FAIL_TIMEOUT_MS = 10_000;
/** Closed-loop clients during the kill: about four requests in flight per replica. */
const KILL_CLIENTS = 12;
/** While a replica is stopped, a POST this often (and a GET after each): ~20 requests/s. */
const POST_INTERVAL_MS = 100;
/** Timer jitter, scheduling and query time on a busy 2-core machine. */
const SLACK_MS = 1500;

interface Reply {
  id: string;
  method: string;
  key: number;
  /** HTTP status; 0 when the request failed without one. */
  status: number;
  echoedId: string | null;
  startMs: number;
  ms: number;
}

/** nginx's error log lines about upstreams, by kind. */
function countNginxErrors(log: string): Record<string, number> {
  const count = (pattern: RegExp): number => log.split('\n').filter((l) => pattern.test(l)).length;
  return {
    'connect refused': count(/connect\(\) failed \(111/),
    'closed or reset mid-request': count(/prematurely closed|reset by peer/),
    'timed out': count(/upstream timed out/),
    'server temporarily disabled': count(/upstream server temporarily disabled/),
  };
}

/** The upstream address nginx logs for a replica. */
const addressOf = (service: ServiceProcess): string => new URL(service.baseUrl).host;

describe('nginx (deploy/nginx.conf) in front of three replicas on one database', () => {
  const fixture = useFaultFixture();
  let nginx: NginxProcess;
  let services: ServiceProcess[];
  let env: Record<string, string>;

  beforeAll(async () => {
    env = replicaEnv(fixture.db.url, {
      CALLBACK_TIMEOUT_MS: '2000',
      LEASE_MARGIN_MS: '1000',
      SWEEP_INTERVAL_MS: '500',
      RETRY_BASE_DELAY_MS: '500',
    });
    services = await fixture.replicas.start(3, env);
    nginx = await NginxProcess.start(services.map((s) => Number(new URL(s.baseUrl).port)));
  });

  afterAll(async () => {
    await nginx?.stop();
  });

  /** One request through nginx with its own X-Request-Id (none when `id` is empty). */
  async function send(method: string, path: string, id: string, body?: string): Promise<Reply> {
    const startMs = Date.now();
    const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
    if (id) headers['x-request-id'] = id;
    const key = Number(/\/(\d+)$/.exec(path)?.[1] ?? /"key":(\d+)/.exec(body ?? '')?.[1] ?? 0);
    try {
      const res = await fetch(`${nginx.baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(READ_TIMEOUT_MS * 2 + 5000),
      });
      await res.arrayBuffer();
      const echoedId = res.headers.get('x-request-id');
      return { id, method, key, status: res.status, echoedId, startMs, ms: Date.now() - startMs };
    } catch {
      return { id, method, key, status: 0, echoedId: null, startMs, ms: Date.now() - startMs };
    }
  }

  const postTask = (cate: string, key: number, dueMs: number, id: string): Promise<Reply> =>
    send(
      'POST',
      `/task/${cate}`,
      id,
      `{"timestamp":${(dueMs / 1000).toFixed(3)},"key":${key},"params":{"k":${key}}}`,
    );

  /** Access log entries by the request id nginx sent upstream. */
  function logById(): Map<string, AccessLogEntry> {
    return new Map(nginx.accessLog().map((entry) => [entry.id, entry]));
  }

  it("forwards the caller's X-Request-Id when the service would keep it, else nginx's own", async () => {
    const kept = await send('GET', '/task/ngxid/1', 'caller-id:42');
    const absent = await send('GET', '/task/ngxid/2', '');
    const invalid = await send('GET', '/task/ngxid/3', 'not valid!');
    // The replica echoes what nginx sent it, so the echo is what the service logged.
    expect(kept).toMatchObject({ status: 404, echoedId: 'caller-id:42' });
    expect(absent.echoedId).toMatch(/^[0-9a-f]{32}$/);
    expect(invalid.echoedId).toMatch(/^[0-9a-f]{32}$/);
    expect(invalid.echoedId).not.toBe(absent.echoedId);
    const ids = [kept, absent, invalid].map((r) => r.echoedId ?? '');
    const logged = logById();
    expect(ids.every((id) => logged.has(id))).toBe(true);
    // A 404 is a warning: the replica that answered logged the same id.
    await waitFor(
      'the replicas to log the three request ids',
      () => ids.every((id) => services.some((s) => s.output().includes(`"requestId":"${id}"`))),
      5000,
    );
    report('nginx request ids', {
      'caller id kept': kept.echoedId,
      'none sent: nginx $request_id': absent.echoedId,
      'invalid replaced by': invalid.echoedId,
    });
  });

  it('serves the dashboard and the API it calls through nginx', async () => {
    const index = await fetch(`${nginx.baseUrl}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await index.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${nginx.baseUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    await asset.arrayBuffer();
    const session = await fetch(`${nginx.baseUrl}/dashboard/session`);
    expect(session.status).toBe(200);
    await expect(session.json()).resolves.toMatchObject({ result: { auth: 'none' } });
  });

  it('loses no request to a replica killed mid-load beyond POSTs in flight on it, and takes it back after a restart', async () => {
    const cate = 'ngxkill';
    const { receiver, pg } = fixture;
    const handler = await send(
      'POST',
      `/handler/${cate}`,
      'handler',
      JSON.stringify({ handler: receiver.url('ok') }),
    );
    expect(handler.status).toBe(200);
    const victim = services[0];
    const victimAddress = addressOf(victim);

    const replies: Reply[] = [];
    let next = 0;
    let stopped = false;
    const client = async (): Promise<void> => {
      while (!stopped) {
        const key = ++next;
        replies.push(await postTask(cate, key, Date.now() + 3000, `kill-${key}-post`));
        replies.push(await send('GET', `/task/${cate}/${key}`, `kill-${key}-get`));
      }
    };
    const loadFrom = Date.now();
    const clients = Array.from({ length: KILL_CLIENTS }, client);
    await sleep(1000);
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await sleep(1500);
    stopped = true;
    await Promise.all(clients);

    const logged = logById();
    const nginxErrors = nginx.errorLog();
    // 404: a GET of a task whose POST failed.
    const failed = replies.filter((r) => r.status !== 200 && r.status !== 404);
    // The only failures nginx's rules allow: a POST sent to the victim before it died is not
    // sent again (not idempotent), so its client gets the 502.
    const unexplained = failed.filter((r) => {
      const entry = logged.get(r.id);
      return !(
        r.method === 'POST' &&
        r.status === 502 &&
        entry?.upstreams.length === 1 &&
        entry.upstreams[0] === victimAddress
      );
    });
    const retried = [...logged.values()].filter(
      (e) => e.id.startsWith('kill-') && e.upstreams.length > 1,
    );
    const posts = replies.filter((r) => r.method === 'POST');
    const okKeys = new Set(posts.filter((r) => r.status === 200).map((r) => r.key));
    const failedKeys = new Set(failed.map((r) => r.key));

    // Every task written is delivered; a 502 POST that the victim committed before dying too.
    const deliveredKeys = (): Set<number> =>
      new Set(receiver.calls.filter((c) => c.cate === cate).map((c) => Number(c.key)));
    await waitFor(
      `every ${cate} task delivered`,
      async () =>
        [...okKeys].every((k) => deliveredKeys().has(k)) &&
        (await pg.scalar<number>(`SELECT count(*)::int FROM tasks`)) === 0,
      15_000,
      100,
    );
    const delivered = deliveredKeys();
    const committedDespite502 = [...delivered].filter((k) => !okKeys.has(k));

    // The victim comes back on its port (as `restart: unless-stopped` does); nginx tries it again
    // once fail_timeout has passed since its last failure.
    const restartedAt = Date.now();
    const [restarted] = await fixture.replicas.start(1, {
      ...env,
      PORT: victimAddress.split(':')[1],
    });
    const bootMs = Date.now() - restartedAt;
    let probes = 0;
    const backAfterMs = await waitFor(
      'nginx to send the restarted replica a request',
      async () => {
        await send('GET', `/task/${cate}/1`, `back-${++probes}`);
        return nginx
          .accessLog()
          .some(
            (e) =>
              e.id.startsWith('back-') &&
              e.upstreams.at(-1) === victimAddress &&
              e.upstreamStatuses.at(-1)! < 500,
          );
      },
      FAIL_TIMEOUT_MS + SLACK_MS,
      100,
    );
    services = [restarted, services[1], services[2]];

    report('nginx kill -9 of 1 of 3 replicas mid-load', {
      requests: replies.length,
      'client-visible errors': failed.length,
      'of which POSTs in flight on the killed replica (502, not retried)':
        failed.length - unexplained.length,
      'of those committed anyway (delivered)': committedDespite502.length,
      'requests nginx moved to the next replica': `${retried.length} (GET ${
        retried.filter((e) => e.method === 'GET').length
      }, POST not yet sent ${retried.filter((e) => e.method === 'POST').length})`,
      'nginx error log': countNginxErrors(nginxErrors),
      'tasks delivered': delivered.size,
      'load before the kill ms': killedAt - loadFrom,
      'restarted replica booted in ms': bootMs,
      'then back in rotation after ms': backAfterMs,
    });
    expect(unexplained).toEqual([]);
    // A GET finds its task unless that task's POST failed.
    expect(
      replies.filter((r) => r.method === 'GET' && r.status !== 200 && !failedKeys.has(r.key)),
    ).toEqual([]);
    expect([...okKeys].filter((k) => !delivered.has(k))).toEqual([]);
    expect(committedDespite502.filter((k) => !failedKeys.has(k))).toEqual([]);
  });

  it('stops sending to a stopped replica (readiness probe unanswered) after max_fails timeouts', async () => {
    const cate = 'ngxstop';
    const stopped = services[1];
    const stoppedAddress = addressOf(stopped);
    const ready = await fetch(`${stopped.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);

    const errorLogFrom = nginx.errorLog().length;
    stopped.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const probe = await fetch(`${stopped.baseUrl}/health/ready`, {
      signal: AbortSignal.timeout(500),
    }).catch((error: Error) => error.name);
    expect(probe).toBe('TimeoutError');

    // An open-loop client: a POST every POST_INTERVAL_MS, whatever the earlier ones do.
    const pending: Array<Promise<Reply>> = [];
    const due = Date.now() + 3_600_000;
    let n = 0;
    const loadFrom = Date.now();
    // Until a few seconds after nginx should skip the replica: the first timeouts plus slack.
    const observeUntil = loadFrom + READ_TIMEOUT_MS + 3000;
    while (Date.now() < observeUntil) {
      // A POST, and a GET of its task once it is answered.
      const key = ++n;
      const post = postTask(cate, key, due, `stop-${key}-post`);
      pending.push(
        post,
        post.then(() => send('GET', `/task/${cate}/${key}`, `stop-${key}-get`)),
      );
      await sleep(POST_INTERVAL_MS);
    }
    stopped.child.kill('SIGCONT');
    const replies = await Promise.all(pending);

    const entries = nginx.accessLog().filter((e) => e.id.startsWith('stop-'));
    const startOf = new Map(replies.map((r) => [r.id, r.startMs]));
    const sentToStopped = entries.filter((e) => e.upstreams[0] === stoppedAddress);
    // Timed out there (then a GET went on to the next replica); the rest it answered on SIGCONT.
    const timedOut = sentToStopped
      .filter((e) => e.upstreamStatuses[0] === 504)
      .sort((a, b) => a.endMs - b.endMs);
    // nginx skips the replica once max_fails (3) of its requests have failed.
    const markedAt = timedOut[2]?.endMs ?? Infinity;
    const sentAfterMark = entries.filter(
      (e) => startOf.get(e.id)! > markedAt + 100 && e.upstreams.includes(stoppedAddress),
    );
    // 404: a GET of a task whose POST failed.
    const failed = replies.filter((r) => r.status !== 200 && r.status !== 404);
    const failedKeys = new Set(failed.map((r) => r.key));
    const unexplained = failed.filter((r) => {
      const entry = entries.find((e) => e.id === r.id);
      return !(
        r.method === 'POST' &&
        r.status === 504 &&
        entry?.upstreams.length === 1 &&
        entry.upstreams[0] === stoppedAddress
      );
    });
    // A POST nginx gave up on may still be written: the replica reads it when it resumes.
    await sleep(1000);
    const writtenAfter504 = await fixture.pg.scalar<number>(
      `SELECT count(*)::int FROM tasks WHERE cate = $1::text AND key = ANY($2::numeric[])`,
      [cate, [...failedKeys]],
    );
    const waited = timedOut.map((e) => e.endMs - startOf.get(e.id)!);

    const nginxErrors = countNginxErrors(nginx.errorLog().slice(errorLogFrom));
    report('nginx replica stopped (SIGSTOP)', {
      requests: replies.length,
      'sent to it before nginx skipped it': sentToStopped.length,
      'of those timed out': `${timedOut.length}, after ${formatSummary(summarize(waited))}`,
      'answered by it after SIGCONT': sentToStopped.length - timedOut.length,
      'stopped, then load from ms': loadFrom - stoppedAt,
      'skipped from ms after the load began': Math.round(markedAt - loadFrom),
      'sent to it in the next ms': `${Math.round(observeUntil - markedAt)}: ${sentAfterMark.length}`,
      'GETs retried on another replica': timedOut.filter((e) => e.method === 'GET').length,
      'client-visible errors (POST 504)': failed.length,
      'of those written when it resumed': writtenAfter504,
      'nginx error log': nginxErrors,
    });
    expect(hasExited(stopped)).toBe(false);
    expect(timedOut.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...waited)).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 100);
    expect(Math.max(...waited)).toBeLessThan(READ_TIMEOUT_MS + SLACK_MS);
    expect(markedAt - loadFrom).toBeLessThan(READ_TIMEOUT_MS + SLACK_MS);
    expect(sentAfterMark).toEqual([]);
    expect(unexplained).toEqual([]);
    // A GET finds its task unless that task's POST failed.
    expect(
      replies.filter((r) => r.method === 'GET' && r.status === 404 && !failedKeys.has(r.key)),
    ).toEqual([]);
  });
});
