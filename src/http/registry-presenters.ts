import type { KeyValue } from '../store/tracking-store.ts';
import type { ModelVersionRecord, RegisteredModelRecord } from '../store/registry-store.ts';
import { presentMetric } from './presenters.ts';

/**
 * Registry records → MLflow's wire shapes (model_registry.proto): snake_case, int64 as JSON
 * numbers, the version number as a string, unset fields and empty lists omitted, never null.
 */

function tagsOrOmit(tags: KeyValue[]): { tags?: KeyValue[] } {
  return tags.length > 0 ? { tags: tags.map((t) => ({ key: t.key, value: t.value })) } : {};
}

export function presentModelVersion(v: ModelVersionRecord): object {
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
    ...(v.userId ? { user_id: v.userId } : {}),
    current_stage: v.currentStage,
    ...(v.description !== null ? { description: v.description } : {}),
    source: v.source,
    ...(v.runId ? { run_id: v.runId } : {}),
    status: v.status,
    ...(v.statusMessage ? { status_message: v.statusMessage } : {}),
    ...tagsOrOmit(v.tags),
    ...(v.runLink ? { run_link: v.runLink } : {}),
    ...(v.aliases.length > 0 ? { aliases: [...v.aliases] } : {}),
    ...(v.modelId ? { model_id: v.modelId } : {}),
    ...(v.modelParams.length > 0 ? { model_params: v.modelParams.map((p) => ({ name: p.key, value: p.value })) } : {}),
    ...(v.modelMetrics.length > 0 ? { model_metrics: v.modelMetrics.map(presentMetric) } : {}),
  };
}

export function presentRegisteredModel(m: RegisteredModelRecord): object {
  return {
    name: m.name,
    creation_timestamp: m.creationTimestamp,
    last_updated_timestamp: m.lastUpdatedTimestamp,
    ...(m.userId ? { user_id: m.userId } : {}),
    ...(m.description !== null ? { description: m.description } : {}),
    ...(m.latestVersions.length > 0 ? { latest_versions: m.latestVersions.map(presentModelVersion) } : {}),
    ...tagsOrOmit(m.tags),
    ...(m.aliases.length > 0 ? { aliases: m.aliases.map((a) => ({ alias: a.alias, version: String(a.version) })) } : {}),
  };
}
