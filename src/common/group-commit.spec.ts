import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes what arrives in one turn as one group, each caller getting its own result', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number, number>(
      (items) => {
        groups.push(items);
        return Promise.resolve(items.map((value) => ({ status: 'fulfilled', value: value * 2 })));
      },
      100,
      1,
    );
    const answers = await Promise.all([1, 2, 3].map((n) => commit.submit(n)));
    expect(answers).toEqual([2, 4, 6]);
    expect(groups).toEqual([[1, 2, 3]]);
  });

  it('gathers what arrives while a group is in flight into the next group, at most maxItems each', async () => {
    const groups: number[][] = [];
    let release: (() => void) | undefined;
    const commit = new GroupCommit<number, number>(
      async (items) => {
        groups.push(items);
        if (groups.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return items.map((value) => ({ status: 'fulfilled', value }));
      },
      2,
      1,
    );
    const first = commit.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => commit.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(groups).toEqual([[1]]); // one group in flight at most
    release?.();
    await expect(Promise.all([first, ...later])).resolves.toEqual([1, 2, 3, 4]);
    expect(groups).toEqual([[1], [2, 3], [4]]);
  });

  it('rejects only the items whose result is an error; a thrown flush rejects its whole group', async () => {
    const commit = new GroupCommit<number, number>(
      (items) =>
        items.includes(99)
          ? Promise.reject(new Error('flush failed'))
          : Promise.resolve(
              items.map((value) =>
                value < 0
                  ? { status: 'rejected', reason: new Error(`bad ${value}`) }
                  : { status: 'fulfilled', value },
              ),
            ),
      100,
      1,
    );
    const settled = await Promise.allSettled([commit.submit(1), commit.submit(-1)]);
    expect(settled).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('bad -1') },
    ]);
    await expect(Promise.all([commit.submit(99), commit.submit(2)])).rejects.toThrow(
      'flush failed',
    );
    await expect(commit.submit(3)).resolves.toBe(3);
  });
});
