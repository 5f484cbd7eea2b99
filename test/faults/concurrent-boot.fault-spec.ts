import { MIGRATIONS } from '../../src/database/data-source-options';
import { report } from './support/figures';
import { createEmptyDatabase, Pg } from './support/pg';
import { replicaEnv, Replicas, waitUntilReady } from './support/replicas';

const REPLICAS = 5;

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
    const services = await replicas.start(REPLICAS, replicaEnv(database.url));
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
