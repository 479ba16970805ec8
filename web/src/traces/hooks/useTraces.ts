import { useCallback, useEffect, useRef, useState } from 'react';
import { searchTracesPage } from '../api/traces-api.ts';
import type { TraceInfo } from '../api/types.ts';
import { mergeTraces, orderByOf, type TraceOrder } from '../utils/trace-list.ts';

export interface TracesState {
  traces: TraceInfo[];
  /** Every page loaded. */
  done: boolean;
  loading: boolean;
  error: unknown;
  /** Ids that arrived by live polling since the list was loaded (highlighted). */
  arrived: ReadonlySet<string>;
  /** Loads the next page (the table calls it when its last rows come into view). */
  loadMore: () => void;
}

const PAGE = 200;
/** New traces show within this long. */
export const LIVE_POLL_MS = 2000;

/**
 * The traces of an experiment matching a filter, in the server's order, a page at a time as the
 * table scrolls; while the tab is visible, the first page is fetched again every LIVE_POLL_MS and
 * new or updated traces are merged in (mergeTraces) without touching what is already loaded.
 */
export function useTraces(experimentId: string, filter: string, order: TraceOrder, generation: number): TracesState {
  const [traces, setTraces] = useState<TraceInfo[]>([]);
  const [pageToken, setPageToken] = useState<string | undefined>(undefined);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const [arrived, setArrived] = useState<ReadonlySet<string>>(new Set());
  const busy = useRef(false);
  const live = useRef({ traces, done });
  live.current = { traces, done };
  const orderBy = orderByOf(order);
  const orderKey = orderBy.join(',');

  useEffect(() => {
    const controller = new AbortController();
    setTraces([]);
    setPageToken(undefined);
    setDone(false);
    setLoading(true);
    setError(undefined);
    setArrived(new Set());
    busy.current = true;
    searchTracesPage({ experimentId, filter, orderBy, maxResults: PAGE }, controller.signal)
      .then((page) => {
        if (controller.signal.aborted) return;
        setTraces(page.traces);
        setPageToken(page.nextPageToken);
        setDone(!page.nextPageToken);
        setLoading(false);
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
        setDone(true);
      })
      .finally(() => {
        busy.current = false;
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- orderKey stands for orderBy
  }, [experimentId, filter, orderKey, generation]);

  const loadMore = useCallback(() => {
    if (busy.current || !pageToken) return;
    busy.current = true;
    setLoading(true);
    searchTracesPage({ experimentId, filter, orderBy, maxResults: PAGE, pageToken })
      .then((page) => {
        const seen = new Set(live.current.traces.map((t) => t.trace_id));
        setTraces((current) => [...current, ...page.traces.filter((t) => !seen.has(t.trace_id))]);
        setPageToken(page.nextPageToken);
        setDone(!page.nextPageToken);
      })
      .catch((err: unknown) => setError(err))
      .finally(() => {
        busy.current = false;
        setLoading(false);
      });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- orderKey stands for orderBy
  }, [experimentId, filter, orderKey, pageToken]);

  useEffect(() => {
    let controller: AbortController | undefined;
    let polling = false;
    const timer = setInterval(() => {
      if (polling || busy.current || document.visibilityState === 'hidden') return;
      polling = true;
      controller = new AbortController();
      const signal = controller.signal;
      searchTracesPage({ experimentId, filter, orderBy, maxResults: PAGE }, signal)
        .then((page) => {
          if (signal.aborted || busy.current) return;
          const merged = mergeTraces(live.current.traces, page.traces, order, live.current.done);
          if (merged.traces !== live.current.traces) setTraces(merged.traces);
          if (merged.added.length > 0) setArrived((previous) => new Set([...previous, ...merged.added]));
        })
        .catch(() => undefined)
        .finally(() => {
          polling = false;
        });
    }, LIVE_POLL_MS);
    return () => {
      clearInterval(timer);
      controller?.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- orderKey stands for orderBy and order
  }, [experimentId, filter, orderKey, generation]);

  return { traces, done, loading, error, arrived, loadMore };
}
