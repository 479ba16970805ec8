import { api } from '../../common/api/client.ts';
import type { Assessment, Trace, TraceInfo } from './types.ts';

/** MLflow 3 tracing RPCs under the UI's /ajax-api mirror (the page's project prefix is added per call). */
export const MLFLOW_V3 = '/ajax-api/3.0/mlflow';

export interface TracesPage {
  traces: TraceInfo[];
  nextPageToken?: string;
}

/** One page of POST traces/search in one experiment. */
export async function searchTracesPage(
  input: { experimentId: string; filter: string; orderBy: string[]; maxResults: number; pageToken?: string | undefined },
  signal?: AbortSignal,
): Promise<TracesPage> {
  const res = await api.post<{ traces?: TraceInfo[]; next_page_token?: string }>(
    `${MLFLOW_V3}/traces/search`,
    {
      locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: input.experimentId } }],
      filter: input.filter || undefined,
      max_results: input.maxResults,
      order_by: input.orderBy,
      page_token: input.pageToken,
    },
    signal,
  );
  return res.next_page_token ? { traces: res.traces ?? [], nextPageToken: res.next_page_token } : { traces: res.traces ?? [] };
}

/** A trace with its spans (GET traces/get). */
export async function getTrace(traceId: string, signal?: AbortSignal): Promise<Trace> {
  const res = await api.get<{ trace: Trace }>(`${MLFLOW_V3}/traces/get`, { trace_id: traceId }, signal);
  return res.trace;
}

/** Starts getTrace ahead of the trace page (see api.prefetch); the page's getTrace takes it over. */
export function prefetchTrace(traceId: string): void {
  void api.prefetch(`${MLFLOW_V3}/traces/get`, { trace_id: traceId });
}

/** Logs feedback or an expectation on a trace (POST traces/{id}/assessments); answers the stored assessment. */
export async function createAssessment(traceId: string, assessment: Assessment): Promise<Assessment> {
  const res = await api.post<{ assessment: Assessment }>(`${MLFLOW_V3}/traces/${encodeURIComponent(traceId)}/assessments`, { assessment });
  return res.assessment;
}

export async function deleteAssessment(traceId: string, assessmentId: string): Promise<void> {
  await api.delete(`${MLFLOW_V3}/traces/${encodeURIComponent(traceId)}/assessments/${encodeURIComponent(assessmentId)}`, {
    trace_id: traceId,
    assessment_id: assessmentId,
  });
}
