import request from 'supertest';
import { TasksRepository } from '../src/modules/tasks/tasks.repository';
import { UpsertTaskInput } from '../src/modules/tasks/tasks.types';
import { useTestApp } from './support/fixtures';
import { uniqueName } from './support/names';

/**
 * Single-task upserts that arrive together are committed together (group commit): each caller
 * still gets its own answer, a repeated (cate, key) is applied in arrival order, and one item's
 * fault is its own.
 */
describe('group commit of single-task upserts', () => {
  const fixture = useTestApp({ dispatchEnabled: false });
  const due = Math.floor(Date.now() / 1000) + 3600;

  const input = (cate: string, key: number, params: string, timestamp = due): UpsertTaskInput => ({
    cate,
    key: String(key),
    timestamp,
    paramsJson: params,
    handler: null,
  });

  it('answers each item of a group on its own and applies repeats of a key in arrival order', async () => {
    const cate = uniqueName('group');
    const tasks = fixture.app.get(TasksRepository);
    const items = [
      input(cate, 1, '{"v":1}'),
      input(cate, 2, '{"v":1}'),
      input(cate, 1, '{"v":2}'),
      input(cate, 3, '{"v":1}', Date.now() / 1000 - 3600), // too far in the past
      input(cate, 1, '{"v":3}'),
      input(cate, 2, '{"v":1}'), // identical to the stored one by then: nothing written
      input(`${cate}-other`, 1, '{"v":9}'),
    ];
    const results = await Promise.all(items.map((item) => tasks.upsert(item)));
    expect(results.map((r) => r?.written)).toEqual([
      true,
      true,
      true,
      undefined,
      true,
      false,
      true,
    ]);
    expect(results[3]).toBeUndefined();
    for (const result of results.filter((r) => r !== undefined)) {
      expect(result.dueInMs).toBeGreaterThan(3_500_000);
    }
    const rows = await fixture.db.query<{
      cate: string;
      key: string;
      params: string;
      version: number;
    }>(
      `SELECT cate, key::text, params::text, version FROM tasks WHERE cate LIKE $1 ORDER BY cate, key`,
      [`${cate}%`],
    );
    // One transaction wrote them all: one group, not one statement per request.
    const writers = await fixture.db.query<{ xmin: string }>(
      `SELECT DISTINCT xmin::text FROM tasks WHERE cate LIKE $1`,
      [`${cate}%`],
    );
    expect(writers).toHaveLength(1);
    expect(rows).toEqual([
      { cate, key: '1', params: '{"v":3}', version: 3 },
      { cate, key: '2', params: '{"v":1}', version: 1 },
      { cate: `${cate}-other`, key: '1', params: '{"v":9}', version: 1 },
    ]);
  });

  it('keeps an item that fails in the database to itself: the others of its group are written', async () => {
    const cate = uniqueName('fault');
    const tasks = fixture.app.get(TasksRepository);
    // A category name the API would refuse reaches the table's CHECK constraint here.
    const results = await Promise.allSettled([
      tasks.upsert(input(cate, 1, '{}')),
      tasks.upsert(input('not a category!', 1, '{}')),
      tasks.upsert(input(cate, 2, '{}')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const rows = await fixture.db.query(`SELECT key FROM tasks WHERE cate = $1`, [cate]);
    expect(rows).toHaveLength(2);
  });

  it('serves 300 concurrent POSTs, 100 keys three times over, each answered 200 and the last write kept', async () => {
    const cate = uniqueName('concurrent');
    const server = fixture.app.getHttpServer();
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        request(server)
          .post(`/task/${cate}`)
          .set('Content-Type', 'application/json')
          .send(
            `{"timestamp":${due},"key":${(i % 100) + 1},"params":{"round":${Math.floor(i / 100)}}}`,
          ),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(300).fill(200));
    const rows = await fixture.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE cate = $1`,
      [cate],
    );
    expect(rows[0].n).toBe(100);
  });
});
