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

/** Trove's min/max-bucketed metric history (docs/api-trove.md); splits >100 runs into several calls. */
export async function fetchDownsampled(request: DownsampleRequest, signal?: AbortSignal): Promise<DownsampledResponse> {
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
