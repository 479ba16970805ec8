import { api, TROVE } from '../../common/api/client.ts';
import type { DownsampledResponse } from '../../common/api/types.ts';

export interface DownsampleRequest {
  runIds: string[];
  key: string;
  xAxis: 'step' | 'timestamp';
  start?: number | undefined;
  end?: number | undefined;
  maxBuckets: number;
}

/** Buckets per run of a chart of one run (the run page). */
export const DEFAULT_MAX_BUCKETS = 1000;

/** Requests started ahead of their chart (prefetchDownsampled), each handed to the first fetch that asks. */
const prefetched = new Map<string, Promise<DownsampledResponse>>();

function requestKey(r: DownsampleRequest): string {
  return JSON.stringify([r.runIds, r.key, r.xAxis, r.maxBuckets, r.start ?? null, r.end ?? null]);
}

/**
 * Starts a request before the chart that needs it is rendered (the compare page knows its run ids
 * and metrics from the URL, so it need not wait for runs/search). The next fetchDownsampled of the
 * same request takes it over; unclaimed ones are dropped after a minute.
 */
export function prefetchDownsampled(request: DownsampleRequest): void {
  const key = requestKey(request);
  if (prefetched.has(key)) return;
  const pending = load(request);
  pending.catch(() => undefined);
  prefetched.set(key, pending);
  setTimeout(() => {
    if (prefetched.get(key) === pending) prefetched.delete(key);
  }, 60_000);
}

/** Trove's min/max-bucketed metric history (docs/api-trove.md); splits >100 runs into several calls. */
export async function fetchDownsampled(request: DownsampleRequest, signal?: AbortSignal): Promise<DownsampledResponse> {
  const key = requestKey(request);
  const pending = prefetched.get(key);
  if (pending) {
    prefetched.delete(key);
    // A failed prefetch is retried as an ordinary request.
    return pending.catch(() => load(request, signal));
  }
  return load(request, signal);
}

async function load(request: DownsampleRequest, signal?: AbortSignal): Promise<DownsampledResponse> {
  const chunks: string[][] = [];
  for (let i = 0; i < request.runIds.length; i += 100) chunks.push(request.runIds.slice(i, i + 100));
  const responses = await Promise.all(
    chunks.map((runIds) =>
      api.get<DownsampledResponse>(
        `${TROVE}/metrics/history-downsampled`,
        {
          run_ids: runIds,
          metric_key: request.key,
          x_axis: request.xAxis,
          start: request.start === undefined ? undefined : Math.floor(request.start),
          end: request.end === undefined ? undefined : Math.ceil(request.end),
          max_buckets: request.maxBuckets,
        },
        signal,
      ),
    ),
  );
  return { metric_key: request.key, x_axis: request.xAxis, series: responses.flatMap((r) => r.series) };
}
