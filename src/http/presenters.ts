import type {
  ExperimentRecord,
  KeyValue,
  LoggedModelRecord,
  MetricRecord,
  RunInfoRecord,
  RunRecord,
} from '../store/tracking-store.ts';

/**
 * Record → MLflow wire shape. Snake_case names, int64 as JSON numbers, enums by name, ids as
 * strings; unset fields and empty lists are omitted, never null, as upstream's protobuf JSON.
 */

/** Doubles that JSON cannot carry travel as protobuf's strings. */
export function presentDouble(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

function tagsOrOmit(tags: KeyValue[]): { tags?: KeyValue[] } {
  return tags.length > 0 ? { tags: tags.map((t) => ({ key: t.key, value: t.value })) } : {};
}

export function presentExperiment(e: ExperimentRecord): object {
  return {
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    ...tagsOrOmit(e.tags),
  };
}

export function presentRunInfo(info: RunInfoRecord): object {
  // Plain assignments in wire order, no spreads: runs/get, searches and history pages present
  // hundreds of these per request, and temporary objects were a visible share of their GC time.
  const out: Record<string, unknown> = {
    run_id: info.runId,
    run_uuid: info.runId,
    run_name: info.runName,
    experiment_id: info.experimentId,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
  };
  if (info.endTime !== null) out.end_time = info.endTime;
  out.artifact_uri = info.artifactUri;
  out.lifecycle_stage = info.lifecycleStage;
  return out;
}

export function presentMetric(m: MetricRecord): object {
  const out: Record<string, unknown> = { key: m.key, value: presentDouble(m.value), timestamp: m.timestamp, step: m.step };
  if (m.datasetName) out.dataset_name = m.datasetName;
  if (m.datasetDigest) out.dataset_digest = m.datasetDigest;
  if (m.modelId) out.model_id = m.modelId;
  if (m.runId) out.run_id = m.runId;
  return out;
}

/**
 * presentMetric for a history page (up to 25,000 points): a record whose JSON already is MLflow's
 * — built by the store as key, value, timestamp, step in that order, a finite value, none of the
 * optional fields — is answered as it is instead of copied. One object fewer per point: with the
 * 1 MiB young generation (bin/trove.js) every one of them lived until the page was serialised and
 * was promoted, which made the full history read the round's peak (docs/memory.md, "Idle and
 * peak, where the megabytes go").
 */
export function presentHistoryPoint(m: MetricRecord): object {
  return m.modelId === undefined && m.datasetName === undefined && m.datasetDigest === undefined && m.runId === undefined && Number.isFinite(m.value)
    ? m
    : presentMetric(m);
}

export function presentRun(run: RunRecord): object {
  const data: Record<string, unknown> = {};
  if (run.metrics.length > 0) data.metrics = run.metrics.map(presentMetric);
  if (run.params.length > 0) data.params = run.params.map((p) => ({ key: p.key, value: p.value }));
  if (run.tags.length > 0) data.tags = run.tags.map((t) => ({ key: t.key, value: t.value }));
  const inputs: Record<string, unknown> = {};
  if (run.datasetInputs.length > 0) {
    inputs.dataset_inputs = run.datasetInputs.map((input) => ({
      ...tagsOrOmit(input.tags),
      dataset: {
        name: input.dataset.name,
        digest: input.dataset.digest,
        source_type: input.dataset.sourceType,
        source: input.dataset.source,
        ...(input.dataset.schema !== null ? { schema: input.dataset.schema } : {}),
        ...(input.dataset.profile !== null ? { profile: input.dataset.profile } : {}),
      },
    }));
  }
  if (run.modelInputs.length > 0) inputs.model_inputs = run.modelInputs.map((id) => ({ model_id: id }));
  const outputs: Record<string, unknown> = {};
  if (run.modelOutputs.length > 0) outputs.model_outputs = run.modelOutputs.map((o) => ({ model_id: o.modelId, step: o.step }));
  return { info: presentRunInfo(run.info), data, inputs, outputs };
}

export function presentLoggedModel(m: LoggedModelRecord): object {
  const registrations = parseRegistrations(m.tags);
  return {
    info: {
      model_id: m.modelId,
      experiment_id: m.experimentId,
      name: m.name,
      artifact_uri: m.artifactUri,
      creation_timestamp_ms: m.creationTimestamp,
      last_updated_timestamp_ms: m.lastUpdatedTimestamp,
      status: m.status,
      ...(m.statusMessage ? { status_message: m.statusMessage } : {}),
      // creator_id is an int64 (a numeric user id) in the proto; user names stay in the mlflow.user tag.
      ...(m.creatorId && /^\d+$/.test(m.creatorId) ? { creator_id: Number(m.creatorId) } : {}),
      ...(m.modelType ? { model_type: m.modelType } : {}),
      ...(m.sourceRunId ? { source_run_id: m.sourceRunId } : {}),
      ...tagsOrOmit(m.tags),
      ...(registrations.length > 0 ? { registrations } : {}),
    },
    data: {
      ...(m.params.length > 0 ? { params: m.params.map((p) => ({ key: p.key, value: p.value })) } : {}),
      ...(m.metrics.length > 0 ? { metrics: m.metrics.map(presentMetric) } : {}),
    },
  };
}

/** The client records registrations in the `mlflow.modelVersions` tag as a JSON list. */
function parseRegistrations(tags: KeyValue[]): Array<{ name: string; version: string }> {
  const tag = tags.find((t) => t.key === 'mlflow.modelVersions');
  if (!tag) return [];
  try {
    const parsed = JSON.parse(tag.value) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((r): r is { name: unknown; version: unknown } => typeof r === 'object' && r !== null)
      .map((r) => ({ name: String(r.name), version: String(r.version) }));
  } catch {
    return [];
  }
}
