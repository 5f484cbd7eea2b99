/**
 * GET /tasks over big params: response bytes and the replica's RSS. `npm run build && npx ts-node
 * --transpile-only bench/probe-list-size.ts [tasks] [concurrent] [--main path/to/main.js]`
 * inserts `tasks` (200) tasks with 60 KB params (a 12 MB page before pages were cut by size),
 * asks GET /tasks?limit=1000 once, then `concurrent` (4) times at once, then walks every page
 * with nextCursor. `--main` runs another build, e.g. an older commit's, for a before/after.
 */
import { testDatabaseUrl } from '../test/setup/test-server';
import { dropDatabase, freshDatabase, withClient } from './lib/db';
import { rssMb, startService } from './lib/processes';

const PARAMS_BYTES = 60_000;

async function get(url: string): Promise<{ bytes: number; items: number; next: string | null }> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  const page = (JSON.parse(text) as { result: { items: unknown[]; nextCursor: string | null } })
    .result;
  return { bytes: Buffer.byteLength(text), items: page.items.length, next: page.nextCursor };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mainIndex = args.indexOf('--main');
  const mainJs = mainIndex === -1 ? undefined : args.splice(mainIndex, 2)[1];
  const count = Number(args[0] ?? 200);
  const concurrent = Number(args[1] ?? 4);
  const server = testDatabaseUrl();
  const db = await freshDatabase(server, 'dt_probe_list_size');
  const service = await startService({ DATABASE_URL: db, DISPATCH_ENABLED: 'false' }, [], mainJs);
  const pid = service.child.pid!;
  await withClient(db, (c) =>
    c.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'big', g, now() + interval '1 day', now() + interval '1 day',
         ('{"n":' || g || ',"blob":"' || repeat(md5(g::text), $1::int / 32) || '"}')::json
       FROM generate_series(1, $2::int) g`,
      [PARAMS_BYTES, count],
    ),
  );
  const url = `${service.baseUrl}/tasks?limit=1000`;
  await get(`${service.baseUrl}/tasks?limit=1`); // warm-up: routes, pool, plans
  console.log(`${count} tasks with ${PARAMS_BYTES / 1000} KB params; RSS ${rssMb(pid)} MiB`);

  let started = performance.now();
  const one = await get(url);
  const oneMs = Math.round(performance.now() - started);
  console.log(
    `GET /tasks?limit=1000: ${one.bytes} bytes, ${one.items} items, ${oneMs} ms; RSS ${rssMb(pid)} MiB`,
  );

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  started = performance.now();
  await Promise.all(Array.from({ length: concurrent }, () => get(url)));
  clearInterval(sampler);
  console.log(
    `${concurrent} at once: ${Math.round(performance.now() - started)} ms; peak RSS ${peak} MiB, after ${rssMb(pid)} MiB`,
  );

  let pages = 0;
  let items = 0;
  let largest = 0;
  let cursor: string | null = null;
  started = performance.now();
  do {
    const page = await get(cursor === null ? url : `${url}&cursor=${cursor}`);
    pages++;
    items += page.items;
    largest = Math.max(largest, page.bytes);
    cursor = page.next;
  } while (cursor !== null);
  console.log(
    `walk: ${items} items in ${pages} pages (largest ${largest} bytes), ${Math.round(performance.now() - started)} ms; RSS ${rssMb(pid)} MiB`,
  );
  await service.stop();
  await dropDatabase(server, 'dt_probe_list_size');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
