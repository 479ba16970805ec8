import { useEffect, useState } from 'react';
import type { ViewType } from '../../common/api/types.ts';
import { searchRunsPage } from '../api/experiments-api.ts';
import { toRunRow, type RunRow } from '../utils/run-rows.ts';

export interface RunsState {
  rows: RunRow[];
  /** All pages loaded. */
  done: boolean;
  error: unknown;
  loading: boolean;
}

/** The first page is small so the table appears at once; the rest streams in larger pages. */
const FIRST_PAGE = 200;
const NEXT_PAGE = 2500;
const MAX_RUNS = 100_000;

/**
 * Loads every run of the experiments matching an MLflow filter, page by page, publishing rows as
 * they arrive. A new filter or a reload cancels the previous load.
 */
export function useRuns(experimentIds: string[], filter: string, viewType: ViewType, generation: number): RunsState {
  const [state, setState] = useState<RunsState>({ rows: [], done: false, error: undefined, loading: true });
  const ids = experimentIds.join(',');
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setState({ rows: [], done: false, error: undefined, loading: true });
    (async () => {
      let rows: RunRow[] = [];
      let pageToken: string | undefined;
      let first = true;
      do {
        const page = await searchRunsPage(
          { experimentIds: ids.split(','), filter, viewType, maxResults: first ? FIRST_PAGE : NEXT_PAGE, ...(pageToken ? { pageToken } : {}) },
          signal,
        );
        if (signal.aborted) return;
        rows = rows.concat(page.runs.map(toRunRow));
        pageToken = page.nextPageToken;
        first = false;
        setState({ rows, done: !pageToken, error: undefined, loading: Boolean(pageToken) });
      } while (pageToken && rows.length < MAX_RUNS);
      setState({ rows, done: true, error: undefined, loading: false });
    })().catch((error: unknown) => {
      if (signal.aborted) return;
      setState((s) => ({ rows: s.rows, done: true, error, loading: false }));
    });
    return () => controller.abort();
  }, [ids, filter, viewType, generation]);
  return state;
}
