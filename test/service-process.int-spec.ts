import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestDatabase } from './support/fixtures';
import { uniqueName } from './support/names';
import { spawnService, waitUntilHealthy } from './support/service-process';

/** PIDs of postgres servers running on a data directory. */
function postgresPidsFor(dataDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes('postgres') && line.includes(dataDir))
    .map((line) => line.trim().split(/\s+/)[0]);
}

async function post(baseUrl: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return res.status;
}

describe('the service as a process', () => {
  const fixture = useTestDatabase();

  it('stops with a message naming the variable when a setting is invalid', async () => {
    const service = await spawnService({ DATABASE_URL: fixture.db.url, MAX_ATTEMPTS: 'three' });
    await expect(service.exited).resolves.toBe(1);
    expect(service.output()).toContain('MAX_ATTEMPTS');
  });

  it('serves, finishes a running delivery on SIGTERM and exits 0', async () => {
    const receiver = await fixture.receiver();
    receiver.reply = () => ({ status: 200, body: 'OK', delayMs: 1500 });
    const cate = uniqueName('proc');
    const service = await spawnService({
      DATABASE_URL: fixture.db.url,
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    await waitUntilHealthy(service);
    expect(await post(service.baseUrl, `/handler/${cate}`, { handler: receiver.url() })).toBe(200);
    const now = Date.now() / 1000;
    expect(await post(service.baseUrl, `/task/${cate}`, { timestamp: now, key: 1 })).toBe(200);
    await receiver.waitForCalls(1, 10_000);

    service.child.kill('SIGTERM');
    await expect(service.exited).resolves.toBe(0);
    // The delivery that was running when SIGTERM came was finished and recorded.
    expect(await fixture.db.query(`SELECT id FROM tasks WHERE cate = $1`, [cate])).toEqual([]);
  });

  it('delivers tasks that fell due while it was down, after a restart', async () => {
    const receiver = await fixture.receiver();
    const cate = uniqueName('restart');
    const first = await spawnService({ DATABASE_URL: fixture.db.url });
    await waitUntilHealthy(first);
    const due = Date.now() / 1000 + 30;
    expect(await post(first.baseUrl, `/handler/${cate}`, { handler: receiver.url() })).toBe(200);
    for (let key = 1; key <= 5; key++) {
      expect(await post(first.baseUrl, `/task/${cate}`, { timestamp: due, key })).toBe(200);
    }
    first.child.kill('SIGTERM');
    await expect(first.exited).resolves.toBe(0);
    // Make them overdue while no service runs.
    await fixture.db.query(
      `UPDATE tasks SET due_at = now() - interval '1 minute', run_at = now() - interval '1 minute'
       WHERE cate = $1`,
      [cate],
    );

    const second = await spawnService({ DATABASE_URL: fixture.db.url });
    await waitUntilHealthy(second);
    await receiver.waitForCalls(5, 10_000);
    second.child.kill('SIGTERM');
    await expect(second.exited).resolves.toBe(0);
    expect(await fixture.db.query(`SELECT id FROM tasks WHERE cate = $1`, [cate])).toEqual([]);
  });

  it('starts its own PostgreSQL without DATABASE_URL and stops it on SIGTERM', async () => {
    const receiver = await fixture.receiver();
    const dataDir = mkdtempSync(join(tmpdir(), 'delay-tasks-embedded-'));
    chmodSync(dataDir, 0o755);
    try {
      const service = await spawnService({ DATA_DIR: dataDir });
      await waitUntilHealthy(service, 60_000);
      expect(await post(service.baseUrl, '/handler/emb', { handler: receiver.url() })).toBe(200);
      expect(postgresPidsFor(dataDir).length).toBeGreaterThan(0);
      service.child.kill('SIGTERM');
      await expect(service.exited).resolves.toBe(0);
      expect(postgresPidsFor(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
