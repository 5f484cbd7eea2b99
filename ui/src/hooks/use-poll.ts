import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  /** The last call's failure; data (if any) is then from takenAt, not current. */
  error: ApiError | null;
  /** When the data shown was received. */
  takenAt: Date | null;
  loading: boolean;
  refresh: () => void;
}

const asApiError = (e: unknown): ApiError =>
  e instanceof ApiError ? e : new ApiError(0, e instanceof Error ? e.message : String(e));

/**
 * Loads `load()` now and, with `intervalMs` > 0, again that long after each answer while the tab
 * is visible (document.visibilityState): a hidden tab makes no calls, and becoming visible
 * refreshes at once. Changing `deps` starts over with no data.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'refresh'>>({
    data: undefined,
    error: null,
    takenAt: null,
    loading: true,
  });
  const runRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let inFlight = false;
    setState({ data: undefined, error: null, takenAt: null, loading: true });

    const schedule = () => {
      window.clearTimeout(timer);
      if (intervalMs > 0 && !stopped) timer = window.setTimeout(run, intervalMs);
    };
    const run = () => {
      if (stopped || inFlight) return;
      if (intervalMs > 0 && document.visibilityState === 'hidden') return; // resumed on visible
      inFlight = true;
      setState((s) => ({ ...s, loading: true }));
      load()
        .then(
          (data) => {
            if (!stopped) setState({ data, error: null, takenAt: new Date(), loading: false });
          },
          (e: unknown) => {
            if (!stopped) setState((s) => ({ ...s, error: asApiError(e), loading: false }));
          },
        )
        .finally(() => {
          inFlight = false;
          schedule();
        });
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') run();
    };
    runRef.current = () => {
      window.clearTimeout(timer);
      run();
    };
    document.addEventListener('visibilitychange', onVisibility);
    run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, deps); // the caller's deps: `load` may be a new closure on every render

  const refresh = useCallback(() => runRef.current(), []);
  return { ...state, refresh };
}
