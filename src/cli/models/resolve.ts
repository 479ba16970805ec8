import type { ModelUri } from './model-uri.ts';
import { TrackingApiError, type TrackingClient } from './tracking-client.ts';

/** What a `models:/` URI names right now, and where its files are. */
export interface ResolvedModel {
  uri: string;
  /** Registered model name; for a logged-model URI, the logged model's name. */
  name: string;
  /** Version number as MLflow writes it ("3"); the model id for a logged-model URI. */
  version: string;
  runId: string | null;
  source: string | null;
  /** `model-versions/get-download-uri` (or the logged model's artifact location). */
  artifactUri: string;
}

interface ModelVersionWire {
  name: string;
  version: string;
  source?: string;
  run_id?: string;
}

/**
 * Resolves a URI through the server's REST API exactly as the MLflow client does before
 * loading a model (mlflow-rest-api.md §10c): an alias through `registered-models/alias`, `latest`
 * and stages through `get-latest-versions` (POST, GET on ENDPOINT_NOT_FOUND; the highest
 * version wins), a number through `model-versions/get`; then `get-download-uri`.
 */
export async function resolveModel(client: TrackingClient, uri: ModelUri, signal?: AbortSignal): Promise<ResolvedModel> {
  if (uri.kind === 'logged-model') {
    const answer = await client.get<{ model?: { info?: { name?: string; artifact_uri?: string; source_run_id?: string } } }>(
      `/api/2.0/mlflow/logged-models/${encodeURIComponent(uri.modelId)}`,
      {},
      signal,
    );
    const info = answer.model?.info;
    if (!info?.artifact_uri) throw new Error(`The server has no artifact location for logged model ${uri.modelId}.`);
    return { uri: uri.uri, name: info.name ?? uri.modelId, version: uri.modelId, runId: info.source_run_id ?? null, source: null, artifactUri: info.artifact_uri };
  }

  let version: ModelVersionWire;
  switch (uri.kind) {
    case 'alias': {
      const answer = await client.get<{ model_version: ModelVersionWire }>('/api/2.0/mlflow/registered-models/alias', { name: uri.name, alias: uri.alias }, signal);
      version = answer.model_version;
      break;
    }
    case 'version': {
      const answer = await client.get<{ model_version: ModelVersionWire }>('/api/2.0/mlflow/model-versions/get', { name: uri.name, version: uri.version }, signal);
      version = answer.model_version;
      break;
    }
    case 'latest':
    case 'stage': {
      const stage = uri.kind === 'stage' ? uri.stage : undefined;
      const latest = await getLatestVersions(client, uri.name, stage, signal);
      if (latest.length === 0) {
        throw new Error(`No versions of model with name '${uri.name}'${stage ? ` and stage '${stage}'` : ''} found`);
      }
      version = latest.reduce((best, v) => (Number(v.version) > Number(best.version) ? v : best));
      break;
    }
  }
  const download = await client.get<{ artifact_uri?: string }>(
    '/api/2.0/mlflow/model-versions/get-download-uri',
    { name: version.name ?? uri.name, version: String(version.version) },
    signal,
  );
  if (!download.artifact_uri) throw new Error(`The server gave no download location for ${uri.name} version ${version.version}.`);
  return {
    uri: uri.uri,
    name: version.name ?? uri.name,
    version: String(version.version),
    runId: version.run_id || null,
    source: version.source ?? null,
    artifactUri: download.artifact_uri,
  };
}

async function getLatestVersions(client: TrackingClient, name: string, stage: string | undefined, signal?: AbortSignal): Promise<ModelVersionWire[]> {
  const fields = { name, ...(stage ? { stages: [stage] } : {}) };
  try {
    const answer = await client.post<{ model_versions?: ModelVersionWire[] }>('/api/2.0/mlflow/registered-models/get-latest-versions', fields, signal);
    return answer.model_versions ?? [];
  } catch (error) {
    if (!(error instanceof TrackingApiError) || error.errorCode !== 'ENDPOINT_NOT_FOUND') throw error;
    const answer = await client.get<{ model_versions?: ModelVersionWire[] }>(
      '/api/2.0/mlflow/registered-models/get-latest-versions',
      { name, ...(stage ? { stages: stage } : {}) },
      signal,
    );
    return answer.model_versions ?? [];
  }
}
