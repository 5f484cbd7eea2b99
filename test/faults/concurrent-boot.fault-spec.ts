import { MIGRATIONS } from '../../src/database/data-source-options';
import { report } from './support/figures';
import { createEmptyDatabase, Pg } from './support/pg';
import { replicaEnv, Replicas, waitUntilReady } from './support/replicas';

const REPLICAS = 5;
/** Five at once take ~15 s to boot from TypeScript sources on 2 cores. */
const BOOT_TIMEOUT_MS = 45_000;

describe('five replicas booting at once on an empty database', () => {
  const replicas = new Replicas();
  let pg: Pg;

  afterAll(async () => {
    await replicas.stopAll();
    await pg?.close();
  });

  it('applies each migration exactly once and all of them become ready', async () => {
    const database = await createEmptyDatabase();
    pg = new Pg(database.url);
    const started = Date.now();
    const services = await replicas
      .start(REPLICAS, replicaEnv(database.url), BOOT_TIMEOUT_MS)
      .catch(async (error: Error) => {
        // A boot that hangs is most likely a lock wait: say which.
        const waiting = await pg.query(
          `SELECT pid, wait_event, left(query, 100) AS query, (
             SELECT string_agg(l.locktype || coalesce(' ' || l.virtualxid, ''), ',')
             FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) AS waits_for
           FROM pg_stat_activity a
           WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [database.name],
        );
        throw new Error(
          `${error.message.split('\n')[0].replace(/:$/, '')} within ${BOOT_TIMEOUT_MS} ms; ` +
            `sessions waiting on a lock: ${JSON.stringify(waiting)}`,
        );
      });
    const readyMs = await Promise.all(services.map((s) => waitUntilReady(s, 30_000)));
    const bootMs = Date.now() - started;

    const rows = await pg.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    const names = rows.map((r) => r.name);
    report('9 concurrent boot', {
      replicas: REPLICAS,
      'all ready after ms': bootMs,
      'ready wait per replica ms': readyMs,
      'migrations rows': names.length,
      'migration names': names,
    });
    expect(names).toEqual(MIGRATIONS.map((m) => m.name));
    expect(new Set(names).size).toBe(names.length);
    // The schema is usable: every replica answers a read of the tasks table.
    for (const service of services) {
      const res = await fetch(`${service.baseUrl}/tasks`);
      expect(res.status).toBe(200);
    }
  });
});
