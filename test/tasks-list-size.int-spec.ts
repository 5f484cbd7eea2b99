import request from 'supertest';
import { TasksRepository } from '../src/modules/tasks/tasks.repository';
import { LIST_PAGE_BYTES } from '../src/modules/tasks/tasks.service';
import { useTestApp } from './support/fixtures';

/** params of about 60 KB: the size that made GET /tasks?limit=1000 answer 12 MB. */
const BIG_PARAMS_BYTES = 60_000;
const BIG_TASKS = 60;
const SMALL_TASKS = 40;
/** The largest item: its params, plus the other fields (handler, names, times, …). */
const MAX_ITEM_BYTES = BIG_PARAMS_BYTES + 1024;

interface Page {
  items: Array<{ cate: string; key: number; params: { n: number } }>;
  nextCursor: string | null;
}

describe('GET /tasks pages are cut by size', () => {
  const fixture = useTestApp({ dispatchEnabled: false });

  beforeAll(async () => {
    // Keys 1…100 of "sized"; every fifth is small, the others carry ~60 KB params. Stored as
    // the service stores params: compact JSON text.
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'sized', g, now() + interval '1 day', now() + interval '1 day',
         (CASE WHEN g % 5 = 0 THEN '{"n":' || g || '}'
          ELSE '{"n":' || g || ',"blob":"' || repeat(md5(g::text), $1::int / 32) || '"}' END)::json
       FROM generate_series(1, $2::int) g`,
      [BIG_PARAMS_BYTES, BIG_TASKS + SMALL_TASKS],
    );
    await fixture.db.query(
      `INSERT INTO tasks (cate, key, due_at, run_at, params)
       SELECT 'other', g, now() + interval '1 day', now() + interval '1 day', '{"n":0}'::json
       FROM generate_series(1, 10) g`,
    );
  });

  /** Follows nextCursor from the first page of `query`; the pages' bodies and items. */
  async function walk(query: string): Promise<Array<{ bytes: number; page: Page }>> {
    const pages: Array<{ bytes: number; page: Page }> = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res = await request(fixture.app.getHttpServer()).get(`/tasks?${query}${suffix}`);
      expect(res.status).toBe(200);
      const page = res.body.result as Page;
      pages.push({ bytes: Buffer.byteLength(res.text), page });
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 50);
    return pages;
  }

  it.each([
    ['one category', 'cate=sized&limit=1000'],
    ['one category, pending', 'cate=sized&state=pending&limit=1000'],
    ['no filter', 'limit=1000'],
  ])(
    'answers %s in pages of at most ~1 MiB and one item, each task exactly once',
    async (_name, query) => {
      const pages = await walk(query);
      for (const { bytes, page } of pages) {
        expect(page.items.length).toBeGreaterThanOrEqual(1);
        expect(bytes).toBeLessThanOrEqual(LIST_PAGE_BYTES + MAX_ITEM_BYTES);
      }
      // Pages are cut where the budget ran out, not far before it.
      for (const { bytes } of pages.slice(0, -1)) {
        expect(bytes).toBeGreaterThanOrEqual(LIST_PAGE_BYTES - MAX_ITEM_BYTES);
      }
      expect(pages.length).toBeGreaterThanOrEqual(3);
      const sized = pages
        .flatMap(({ page }) => page.items)
        .filter((item) => item.cate === 'sized')
        .map((item) => item.key);
      const all = Array.from({ length: BIG_TASKS + SMALL_TASKS }, (_, i) => i + 1);
      expect(sized).toStrictEqual(all);
      expect(pages.flatMap(({ page }) => page.items).map((item) => item.params.n)).toContain(7);
    },
  );

  it('keeps limit when the items are small, and gives a cursor only for a full page', async () => {
    const pages = await walk('cate=other&limit=4');
    expect(pages.map(({ page }) => page.items.length)).toStrictEqual([4, 4, 2]);
    expect(pages[2].page.nextCursor).toBeNull();
  });

  it('always returns at least one item, whatever its size', async () => {
    const repository = fixture.app.get(TasksRepository);
    const keys: string[] = [];
    let afterId: string | undefined;
    for (let page = 0; page < 20; page++) {
      const rows = await repository.list({ cate: 'sized', afterId, limit: 3, maxBytes: 1 });
      expect(rows).toHaveLength(1);
      expect(rows[0].fetched).toBe(3);
      keys.push(rows[0].key);
      afterId = rows[0].id;
    }
    expect(keys).toStrictEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
  });
});
