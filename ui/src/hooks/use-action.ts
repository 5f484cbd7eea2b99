import { useCallback, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';

export interface ActionState<R> {
  busy: boolean;
  error: string | null;
  result: R | undefined;
}

/**
 * A button's call: one at a time, its failure kept as a message to show. `run` resolves to
 * whether it succeeded, so callers can refresh what it changed.
 */
export function useAction<A extends unknown[], R>(
  action: (...args: A) => Promise<R>,
): [(...args: A) => Promise<boolean>, ActionState<R>, () => void] {
  const [state, setState] = useState<ActionState<R>>({
    busy: false,
    error: null,
    result: undefined,
  });
  // The latest action: it closes over the current category or key.
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A) => {
    setState({ busy: true, error: null, result: undefined });
    try {
      const result = await actionRef.current(...args);
      setState({ busy: false, error: null, result });
      return true;
    } catch (e) {
      const message = e instanceof ApiError || e instanceof Error ? e.message : String(e);
      setState({ busy: false, error: message, result: undefined });
      return false;
    }
  }, []);
  const reset = useCallback(() => setState({ busy: false, error: null, result: undefined }), []);
  return [run, state, reset];
}
