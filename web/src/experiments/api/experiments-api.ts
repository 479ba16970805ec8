import { api, MLFLOW, TROVE } from '../../common/api/client.ts';
import type { Experiment, Run, ViewType } from '../../common/api/types.ts';

export interface ExperimentSearch {
  viewType: ViewType;
  nameFilter: string;
  orderBy: string;
}

/** All experiments matching a search (pages through experiments/search). */
export async function searchExperiments(search: ExperimentSearch, signal?: AbortSignal): Promise<Experiment[]> {
  const result: Experiment[] = [];
  let pageToken: string | undefined;
  const filter = search.nameFilter.trim() ? `name ILIKE '%${search.nameFilter.trim().replaceAll("'", "\\'")}%'` : undefined;
  do {
    const page = await api.post<{ experiments?: Experiment[]; next_page_token?: string }>(
      `${MLFLOW}/experiments/search`,
      { max_results: 1000, view_type: search.viewType, order_by: [search.orderBy], filter, page_token: pageToken },
      signal,
    );
    result.push(...(page.experiments ?? []));
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return result;
}

export async function getExperiment(experimentId: string, signal?: AbortSignal): Promise<Experiment> {
  const res = await api.get<{ experiment: Experiment }>(`${MLFLOW}/experiments/get`, { experiment_id: experimentId }, signal);
  return res.experiment;
}

/** Starts getExperiment ahead of a page that shows it (see api.prefetch). */
export function prefetchExperiment(experimentId: string): void {
  void api.prefetch(`${MLFLOW}/experiments/get`, { experiment_id: experimentId });
}

export async function getExperimentByName(name: string, signal?: AbortSignal): Promise<Experiment | undefined> {
  try {
    const res = await api.get<{ experiment: Experiment }>(`${MLFLOW}/experiments/get-by-name`, { experiment_name: name }, signal);
    return res.experiment;
  } catch (error) {
    if ((error as { code?: string }).code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}

/** Run counts per experiment (Trove endpoint; MLflow has none). */
export async function countRuns(experimentIds: string[], viewType: ViewType, signal?: AbortSignal): Promise<Record<string, number>> {
  if (experimentIds.length === 0) return {};
  const res = await api.get<{ counts: Record<string, number> }>(
    `${TROVE}/experiments/run-counts`,
    { experiment_ids: experimentIds, view_type: viewType },
    signal,
  );
  return res.counts;
}

export const experimentActions = {
  rename: (experimentId: string, newName: string) => api.post(`${MLFLOW}/experiments/update`, { experiment_id: experimentId, new_name: newName }),
  delete: (experimentId: string) => api.post(`${MLFLOW}/experiments/delete`, { experiment_id: experimentId }),
  restore: (experimentId: string) => api.post(`${MLFLOW}/experiments/restore`, { experiment_id: experimentId }),
  setTag: (experimentId: string, key: string, value: string) =>
    api.post(`${MLFLOW}/experiments/set-experiment-tag`, { experiment_id: experimentId, key, value }),
  deleteTag: (experimentId: string, key: string) => api.post(`${MLFLOW}/experiments/delete-experiment-tag`, { experiment_id: experimentId, key }),
  create: (name: string) => api.post<{ experiment_id: string }>(`${MLFLOW}/experiments/create`, { name }),
};

export interface RunsPage {
  runs: Run[];
  nextPageToken?: string;
}

/** One page of runs/search. */
export async function searchRunsPage(
  input: { experimentIds: string[]; filter: string; viewType: ViewType; maxResults: number; orderBy?: string[]; pageToken?: string },
  signal?: AbortSignal,
): Promise<RunsPage> {
  const res = await api.post<{ runs?: Run[]; next_page_token?: string }>(
    `${MLFLOW}/runs/search`,
    {
      experiment_ids: input.experimentIds,
      filter: input.filter,
      run_view_type: input.viewType,
      max_results: input.maxResults,
      order_by: input.orderBy ?? [],
      page_token: input.pageToken,
    },
    signal,
  );
  return res.next_page_token ? { runs: res.runs ?? [], nextPageToken: res.next_page_token } : { runs: res.runs ?? [] };
}
