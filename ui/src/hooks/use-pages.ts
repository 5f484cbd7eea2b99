import { useState } from 'preact/hooks';
import type { Page } from '../api/calls';
import { usePoll, type Loaded } from './use-poll';

export interface Paged<T> extends Loaded<Page<T>> {
  page: number;
  next: () => void;
  first: () => void;
}

/**
 * A keyset-paged list: the cursors of the pages seen so far, the current page loaded (and
 * reloaded every `intervalMs` if > 0). Changing `deps` goes back to the first page.
 */
export function usePages<T>(
  load: (cursor: string | undefined) => Promise<Page<T>>,
  intervalMs: number,
  deps: unknown[],
): Paged<T> {
  const [cursors, setCursors] = useState<{ key: string; list: (string | undefined)[] }>({
    key: '',
    list: [undefined],
  });
  const depsKey = JSON.stringify(deps);
  const list = cursors.key === depsKey ? cursors.list : [undefined];
  const cursor = list[list.length - 1];
  const loaded = usePoll(() => load(cursor), intervalMs, [depsKey, cursor]);
  return {
    ...loaded,
    page: list.length,
    next: () => {
      const nextCursor = loaded.data?.nextCursor;
      if (nextCursor) setCursors({ key: depsKey, list: [...list, nextCursor] });
    },
    first: () => setCursors({ key: depsKey, list: [undefined] }),
  };
}
