import { useCallback, useEffect, useRef, useState } from 'react';

export interface ApiState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again; keeps the current data on screen meanwhile. */
  reload: () => void;
  /** Replaces the data locally (optimistic updates). */
  setData: (data: T) => void;
}

/**
 * Runs `load` whenever `deps` change and tracks its result. An abort signal cancels a load that a
 * newer one (or unmounting) replaced. With `pollMs`, loads again on that interval while mounted
 * and the tab is visible; polling errors keep the last data.
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], options: { pollMs?: number | undefined } = {}): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [...deps, generation]);

  const pollMs = options.pollMs;
  useEffect(() => {
    if (!pollMs) return undefined;
    let controller: AbortController | undefined;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || document.visibilityState === 'hidden') return;
      busy = true;
      controller = new AbortController();
      const signal = controller.signal;
      loadRef
        .current(signal)
        .then((value) => {
          if (!signal.aborted) setData(value);
        })
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, pollMs);
    return () => {
      clearInterval(timer);
      controller?.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [pollMs, ...deps]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload, setData };
}
