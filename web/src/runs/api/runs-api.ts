import { api, ARTIFACTS, MLFLOW, projectUrl } from '../../common/api/client.ts';
import type { FileInfo, LoggedModel, ModelVersion, Run } from '../../common/api/types.ts';

export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  const res = await api.get<{ run: Run }>(`${MLFLOW}/runs/get`, { run_id: runId }, signal);
  return res.run;
}

/** Starts getRun ahead of the run page (see api.prefetch); the page's getRun takes it over. */
export async function prefetchRun(runId: string): Promise<Run> {
  return (await api.prefetch<{ run: Run }>(`${MLFLOW}/runs/get`, { run_id: runId })).run;
}

export const runActions = {
  setTag: (runId: string, key: string, value: string) => api.post(`${MLFLOW}/runs/set-tag`, { run_id: runId, key, value }),
  deleteTag: (runId: string, key: string) => api.post(`${MLFLOW}/runs/delete-tag`, { run_id: runId, key }),
  rename: (runId: string, name: string) => api.post(`${MLFLOW}/runs/update`, { run_id: runId, run_name: name }),
  delete: (runId: string) => api.post(`${MLFLOW}/runs/delete`, { run_id: runId }),
  restore: (runId: string) => api.post(`${MLFLOW}/runs/restore`, { run_id: runId }),
};

/** Child runs (mlflow.parentRunId = runId) in the same experiment. */
export async function getChildRuns(experimentId: string, runId: string, signal?: AbortSignal): Promise<Run[]> {
  const res = await api.post<{ runs?: Run[] }>(
    `${MLFLOW}/runs/search`,
    { experiment_ids: [experimentId], filter: `tags.mlflow.parentRunId = '${runId}'`, max_results: 1000, run_view_type: 'ALL' },
    signal,
  );
  return res.runs ?? [];
}

/** MLflow 3 logged models whose source is this run. */
export async function getLoggedModels(experimentId: string, runId: string, signal?: AbortSignal): Promise<LoggedModel[]> {
  const res = await api.post<{ models?: LoggedModel[] }>(
    `${MLFLOW}/logged-models/search`,
    { experiment_ids: [experimentId], filter: `source_run_id = '${runId}'`, max_results: 100 },
    signal,
  );
  return res.models ?? [];
}

/** Model versions registered from this run (registry; empty when it is unavailable). */
export async function getRunModelVersions(runId: string, signal?: AbortSignal): Promise<ModelVersion[]> {
  try {
    const res = await api.get<{ model_versions?: ModelVersion[] }>(`${MLFLOW}/model-versions/search`, { filter: `run_id = '${runId}'`, max_results: 100 }, signal);
    return res.model_versions ?? [];
  } catch {
    return [];
  }
}

/**
 * Where an artifact root lives in the proxy: `mlflow-artifacts:/1/<run>/artifacts` → `1/<run>/artifacts`.
 * Other schemes (a plain path or s3://…) are not reachable through the proxy: undefined.
 */
export function proxyPathOf(artifactUri: string | undefined): string | undefined {
  if (!artifactUri) return undefined;
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  return match ? (match[1] ?? '').replace(/\/+$/, '') : undefined;
}

export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** One directory level of the artifact proxy; entries sorted dirs first. */
export async function listArtifacts(dir: string, signal?: AbortSignal): Promise<FileInfo[]> {
  const res = await api.get<{ files?: FileInfo[] }>(ARTIFACTS, { path: dir }, signal);
  return (res.files ?? []).slice().sort((a, b) => (a.is_dir === b.is_dir ? a.path.localeCompare(b.path) : a.is_dir ? -1 : 1));
}

/** URL of a file in the proxy, in the page's project (for <img src> and download links); each path segment is encoded. */
export function artifactUrl(path: string): string {
  return projectUrl(`${ARTIFACTS}/${path.split('/').map(encodeURIComponent).join('/')}`);
}
