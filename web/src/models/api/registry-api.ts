import { api, MLFLOW } from '../../common/api/client.ts';
import type { ModelVersion, RegisteredModel } from '../../common/api/types.ts';

/** Registered models (pages through registered-models/search). Name search is case-insensitive. */
export async function searchRegisteredModels(input: { nameFilter: string; orderBy: string }, signal?: AbortSignal): Promise<RegisteredModel[]> {
  const result: RegisteredModel[] = [];
  let pageToken: string | undefined;
  const q = input.nameFilter.trim().replaceAll("'", "\\'");
  do {
    const page = await api.get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(
      `${MLFLOW}/registered-models/search`,
      { filter: q ? `name ILIKE '%${q}%'` : undefined, order_by: [input.orderBy], max_results: 1000, page_token: pageToken },
      signal,
    );
    result.push(...(page.registered_models ?? []));
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return result;
}

export async function getRegisteredModel(name: string, signal?: AbortSignal): Promise<RegisteredModel> {
  const res = await api.get<{ registered_model: RegisteredModel }>(`${MLFLOW}/registered-models/get`, { name }, signal);
  return res.registered_model;
}

/** Versions of one model (or of all models when name is omitted), newest first. */
export async function searchModelVersions(name: string | undefined, signal?: AbortSignal): Promise<ModelVersion[]> {
  const result: ModelVersion[] = [];
  let pageToken: string | undefined;
  do {
    const page = await api.get<{ model_versions?: ModelVersion[]; next_page_token?: string }>(
      `${MLFLOW}/model-versions/search`,
      {
        filter: name === undefined ? undefined : `name = '${name.replaceAll("'", "\\'")}'`,
        order_by: ['version_number DESC'],
        max_results: 10000,
        page_token: pageToken,
      },
      signal,
    );
    result.push(...(page.model_versions ?? []));
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return result;
}

export async function getModelVersion(name: string, version: string, signal?: AbortSignal): Promise<ModelVersion> {
  const res = await api.get<{ model_version: ModelVersion }>(`${MLFLOW}/model-versions/get`, { name, version }, signal);
  return res.model_version;
}

export async function getDownloadUri(name: string, version: string, signal?: AbortSignal): Promise<string> {
  const res = await api.get<{ artifact_uri: string }>(`${MLFLOW}/model-versions/get-download-uri`, { name, version }, signal);
  return res.artifact_uri;
}

export const registryActions = {
  createModel: (name: string, description?: string) =>
    api.post<{ registered_model: RegisteredModel }>(`${MLFLOW}/registered-models/create`, { name, ...(description ? { description } : {}) }),
  updateModel: (name: string, description: string) => api.patch(`${MLFLOW}/registered-models/update`, { name, description }),
  deleteModel: (name: string) => api.delete(`${MLFLOW}/registered-models/delete`, { name }),
  setModelTag: (name: string, key: string, value: string) => api.post(`${MLFLOW}/registered-models/set-tag`, { name, key, value }),
  deleteModelTag: (name: string, key: string) => api.delete(`${MLFLOW}/registered-models/delete-tag`, { name, key }),
  setAlias: (name: string, alias: string, version: string) => api.post(`${MLFLOW}/registered-models/alias`, { name, alias, version }),
  deleteAlias: (name: string, alias: string) => api.delete(`${MLFLOW}/registered-models/alias`, { name, alias }),
  updateVersion: (name: string, version: string, description: string) => api.patch(`${MLFLOW}/model-versions/update`, { name, version, description }),
  setVersionTag: (name: string, version: string, key: string, value: string) => api.post(`${MLFLOW}/model-versions/set-tag`, { name, version, key, value }),
  deleteVersionTag: (name: string, version: string, key: string) => api.delete(`${MLFLOW}/model-versions/delete-tag`, { name, version, key }),
  deleteVersion: (name: string, version: string) => api.delete(`${MLFLOW}/model-versions/delete`, { name, version }),
};

export interface PromoteRequest {
  run_id: string;
  model_name: string;
  artifact_path: string;
  description?: string;
  alias?: string;
  create_model_if_missing?: boolean;
}

/** Trove's promote: registers a run's model as a new version in one call. */
export async function promoteRun(request: PromoteRequest): Promise<ModelVersion> {
  const res = await api.post<{ model_version: ModelVersion }>('/api/2.0/trove/registry/promote', request);
  return res.model_version;
}

/** Aliases of a model grouped by version. */
export function aliasesByVersion(model: Pick<RegisteredModel, 'aliases'>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const { alias, version } of model.aliases ?? []) {
    const list = map.get(version);
    if (list) list.push(alias);
    else map.set(version, [alias]);
  }
  for (const list of map.values()) list.sort();
  return map;
}

/** The highest version number among a model's versions, or undefined. */
export function latestVersion(versions: Array<Pick<ModelVersion, 'version'>>): string | undefined {
  let best: number | undefined;
  for (const v of versions) {
    const n = Number(v.version);
    if (Number.isFinite(n) && (best === undefined || n > best)) best = n;
  }
  return best === undefined ? undefined : String(best);
}

/** MLflow's alias rule: word characters and dashes, not `latest`, not `v<digits>`. */
export function validateAlias(alias: string): string | undefined {
  if (!alias) return 'Enter an alias.';
  if (alias.length > 255) return 'An alias has at most 255 characters.';
  if (!/^[\w-]+$/.test(alias)) return 'Use letters, digits, _ and - only.';
  if (alias.toLowerCase() === 'latest') return '“latest” is reserved.';
  if (/^v\d+$/i.test(alias)) return 'v<number> is reserved for version references.';
  return undefined;
}
