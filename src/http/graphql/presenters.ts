import type { ExperimentRecord, KeyValue, MetricRecord, RunInfoRecord, RunRecord } from '../../store/tracking-store.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import type { FileInfo } from '../../domain/artifacts/artifact-service.ts';

/**
 * Records → GraphQL objects. MLflow's resolvers read proto2 messages, where an unset scalar reads
 * as its default: `""` for strings, `0` for numbers (sent as `"0"` by LongString), `false` for
 * booleans, an empty list for repeated fields and an empty message for sub-messages. The UI is
 * written against exactly that, so these presenters fill the same defaults instead of null.
 */

export interface GqlRun {
  info: object;
  data: object;
  inputs: object;
  outputs: object;
  /** For the `experiment` and `modelVersions` resolvers. */
  runId: string;
  experimentId: string;
}

const keyValues = (items: KeyValue[]): Array<{ key: string; value: string }> => items.map((t) => ({ key: t.key, value: t.value }));

export function gqlExperiment(e: ExperimentRecord): object {
  return {
    experimentId: e.experimentId,
    name: e.name,
    artifactLocation: e.artifactLocation,
    lifecycleStage: e.lifecycleStage,
    lastUpdateTime: e.lastUpdateTime,
    creationTime: e.creationTime,
    tags: keyValues(e.tags),
    effectiveTraceArchivalRetention: '',
    workspace: '',
  };
}

export function gqlRunInfo(info: RunInfoRecord): object {
  return {
    runId: info.runId,
    runUuid: info.runId,
    runName: info.runName,
    experimentId: info.experimentId,
    userId: info.userId,
    status: info.status,
    startTime: info.startTime,
    endTime: info.endTime ?? 0,
    artifactUri: info.artifactUri,
    lifecycleStage: info.lifecycleStage,
  };
}

/** GraphQL's Float has no NaN or infinities: such values read as null (upstream does so for NaN). */
export function gqlFloat(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export function gqlMetric(m: MetricRecord): object {
  return {
    key: m.key,
    value: gqlFloat(m.value),
    timestamp: m.timestamp,
    step: m.step,
    datasetName: m.datasetName ?? '',
    datasetDigest: m.datasetDigest ?? '',
    modelId: m.modelId ?? '',
    runId: m.runId ?? '',
  };
}

export function gqlRun(run: RunRecord): GqlRun {
  return {
    runId: run.info.runId,
    experimentId: run.info.experimentId,
    info: gqlRunInfo(run.info),
    data: {
      metrics: run.metrics.map(gqlMetric),
      params: keyValues(run.params),
      tags: keyValues(run.tags),
    },
    inputs: {
      datasetInputs: run.datasetInputs.map((input) => ({
        tags: keyValues(input.tags),
        dataset: {
          name: input.dataset.name,
          digest: input.dataset.digest,
          sourceType: input.dataset.sourceType,
          source: input.dataset.source,
          schema: input.dataset.schema ?? '',
          profile: input.dataset.profile ?? '',
        },
      })),
      modelInputs: run.modelInputs.map((modelId) => ({ modelId })),
    },
    outputs: { modelOutputs: run.modelOutputs.map((o) => ({ modelId: o.modelId, step: o.step })) },
  };
}

export function gqlModelVersion(v: ModelVersionRecord): object {
  return {
    name: v.name,
    version: String(v.version),
    creationTimestamp: v.creationTimestamp,
    lastUpdatedTimestamp: v.lastUpdatedTimestamp,
    userId: v.userId ?? '',
    currentStage: v.currentStage,
    description: v.description ?? '',
    source: v.source,
    runId: v.runId ?? '',
    status: v.status,
    statusMessage: v.statusMessage ?? '',
    tags: keyValues(v.tags),
    runLink: v.runLink ?? '',
    aliases: [...v.aliases],
    modelId: v.modelId ?? '',
    modelParams: v.modelParams.map((p) => ({ name: p.key, value: p.value })),
    modelMetrics: v.modelMetrics.map(gqlMetric),
    // Databricks deployment jobs do not exist here.
    deploymentJobState: null,
  };
}

/** Directories have no size; the proto's default 0 is what upstream answers. */
export function gqlFileInfo(f: FileInfo): object {
  return { path: f.path, isDir: f.isDir, fileSize: f.fileSize ?? 0 };
}
