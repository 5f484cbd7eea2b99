import { ClaimedTask } from './queue.types';
import { CategoryLimits } from './category-limits';

let nextId = 1;
function task(cate: string, concurrency: number | null): ClaimedTask {
  const id = String(nextId++);
  return {
    id,
    claim_token: 1,
    attempts: 1,
    cate,
    key: id,
    params: 'null',
    in_advance: false,
    delivery_id: '00000000-0000-4000-8000-000000000000',
    due_epoch: '1800000000',
    handler_url: 'http://127.0.0.1:1/',
    max_attempts: null,
    timeout_ms: null,
    concurrency,
    secrets: [],
  };
}

const cates = (tasks: ClaimedTask[]) => tasks.map((t) => t.cate);

describe('CategoryLimits', () => {
  it('starts tasks of categories without a cap, however many', () => {
    const limits = new CategoryLimits();
    const { start, overCap } = limits.admit([task('a', null), task('a', null), task('a', null)]);
    expect(cates(start)).toStrictEqual(['a', 'a', 'a']);
    expect(overCap).toStrictEqual([]);
    expect(limits.atCap()).toStrictEqual([]);
  });

  it('starts up to the cap of a category and hands back the rest of the batch', () => {
    const limits = new CategoryLimits();
    const batch = [task('a', 2), task('b', null), task('a', 2), task('a', 2), task('a', 2)];
    const { start, overCap } = limits.admit(batch);
    expect(cates(start)).toStrictEqual(['a', 'b', 'a']);
    expect(overCap.map((t) => t.id)).toStrictEqual([batch[3].id, batch[4].id]);
  });

  it('leaves a category at its cap out of claims until one of its deliveries ends', () => {
    const limits = new CategoryLimits();
    limits.admit([task('a', 2), task('a', 2), task('b', 5)]);
    expect(limits.atCap()).toStrictEqual(['a']);
    expect(limits.finished('b')).toBe(false);
    expect(limits.finished('a')).toBe(true);
    expect(limits.atCap()).toStrictEqual([]);
    expect(cates(limits.admit([task('a', 2), task('a', 2)]).start)).toStrictEqual(['a']);
  });

  it('follows a changed cap from the next claimed task on', () => {
    const limits = new CategoryLimits();
    limits.admit([task('a', 1)]);
    expect(limits.atCap()).toStrictEqual(['a']);
    const { start } = limits.admit([task('a', 3), task('a', 3), task('a', 3)]);
    expect(start).toHaveLength(2);
    limits.admit([task('a', null)]);
    expect(limits.atCap()).toStrictEqual([]);
  });

  it('forgets a category once nothing of it is in flight', () => {
    const limits = new CategoryLimits();
    limits.admit([task('a', null)]);
    limits.finished('a');
    expect(limits.admit([task('a', 1)]).start).toHaveLength(1);
    expect(limits.atCap()).toStrictEqual(['a']);
  });
});
