import { MlflowError } from '../errors.ts';
import type { KeyValue, MetricRecord } from '../../store/tracking-store.ts';
import { isMetricColumns, type MetricColumns } from '../../store/metric-columns.ts';
import {
  LIMITS,
  validateMetricValue,
  validateParamOrMetricName,
  validateParamValue,
  validateRunTagValue,
  validateTagKey,
} from './validation.ts';
import { TrackingRuns } from './tracking-runs.ts';
import { currentProjectId } from '../request-context.ts';
import { RUN_NAME_TAG, lastValue, type MetricInput } from './tracking-base.ts';

/** What a run records: metrics, params and tags, singly or in one atomic batch. */
export class TrackingRunLogging extends TrackingRuns {
  async logMetric(runId: string, metric: MetricInput): Promise<void> {
    await this.logBatch({ runId, metrics: [metric], params: [], tags: [] });
  }

  async logParam(runId: string, param: KeyValue): Promise<void> {
    await this.logBatch({ runId, metrics: [], params: [param], tags: [] });
  }

  async setTag(runId: string, tag: KeyValue): Promise<void> {
    await this.logBatch({ runId, metrics: [], params: [], tags: [tag] });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    const info = await this.activeRun(runId);
    const deleted = await this.audited(
      (tx) => tx.deleteRunTag(info.pk, key),
      () => ({ action: 'run.delete_tag', entityType: 'run', entityId: info.runId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with name: ${key} in run with id ${runId}`);
  }

  /**
   * Logs metrics, params and tags atomically (on PostgreSQL usually one statement, otherwise one
   * transaction): either all of it is stored or, when any entry is invalid or a param would change
   * value, none of it.
   */
  async logBatch(input: { runId: string; metrics: MetricInput[] | MetricColumns; params: KeyValue[]; tags: KeyValue[] }): Promise<void> {
    const { metrics, params, tags } = input;
    validateBatchLimits(metrics.length, params.length, tags.length);
    validateMetrics(metrics);
    const paramValues = new Map<string, string>();
    for (const param of params) {
      validateParamOrMetricName(param.key);
      validateParamValue(param.key, param.value);
      const seen = paramValues.get(param.key);
      if (seen !== undefined && seen !== param.value) {
        throw MlflowError.invalidParameter(
          `Duplicate parameter keys have been submitted: [${param.key}]. Please ensure the request contains only one param value per param key.`,
        );
      }
      paramValues.set(param.key, param.value);
    }
    for (const tag of tags) {
      validateTagKey(tag.key);
      validateRunTagValue(tag.key, tag.value);
    }

    const renamed = lastValue(tags, RUN_NAME_TAG);
    const modelMetrics = new Map<string, MetricRecord[]>();
    // Columns (metric-columns.ts) never carry a model id.
    for (const metric of isMetricColumns(metrics) ? [] : metrics) {
      if (!metric.modelId) continue;
      const list = modelMetrics.get(metric.modelId) ?? [];
      list.push({ ...metric, runId: input.runId });
      modelMetrics.set(metric.modelId, list);
    }
    // A model of another project is treated as an unknown one: its metrics are not linked.
    for (const modelId of [...modelMetrics.keys()]) {
      const model = await this.store.getLoggedModel(modelId);
      if (model && !(await this.inCurrentProject(model.experimentId))) modelMetrics.delete(modelId);
    }
    const audit = {
      action: 'run.log',
      entityType: 'run',
      entityId: input.runId,
      details: { metrics: metrics.length, params: paramValues.size, tags: tags.length },
    };
    // The common case in one store call, the run's check included (PostgreSQL: one statement, no
    // transaction; sql/log-batch-postgres.ts). Nothing is written when the run does not qualify, a
    // param would change or a point is already stored: the checked path below then says why, or
    // writes the batch.
    if (input.runId && modelMetrics.size === 0) {
      const written = await this.store.logRunBatch({
        runId: input.runId,
        projectId: currentProjectId(),
        metrics,
        params: [...paramValues].map(([key, value]) => ({ key, value })),
        tags,
        runName: renamed,
        audit: this.audit.entries(audit),
      });
      if (written) return;
    }
    await this.store.transaction(async (store) => {
      // Checked inside the transaction: on SQLite the read joins the group commit (runInfo).
      // The audit entry rides with the run's read (one round trip on PostgreSQL; rolled back with
      // the transaction when a check or a write fails).
      const info = await this.activeRun(input.runId, store, audit);
      if (paramValues.size > 0) {
        // New keys are inserted; a stored param with another value refuses the whole batch (the
        // transaction rolls back). On PostgreSQL the check and the insert are one statement.
        const changed = await store.insertParamsReturningChanged(info.pk, [...paramValues].map(([key, value]) => ({ key, value })));
        for (const old of changed) {
          const value = paramValues.get(old.key);
          if (value !== undefined && value !== old.value) {
            throw MlflowError.invalidParameter(
              `Changing param values is not allowed. Param with key='${old.key}' was already logged with value='${old.value}' for run ID='${info.runId}'. Attempted logging new value '${value}'.`,
            );
          }
        }
      }
      if (tags.length > 0) {
        await store.setRunTags(info.pk, tags);
        // The run name and its tag are one fact; keep them in step.
        if (renamed !== undefined) await store.updateRunInfo(info.pk, { name: renamed });
      }
      if (metrics.length > 0) await store.logMetrics(info.pk, metrics);
      for (const [modelId, list] of modelMetrics) await store.logLoggedModelMetrics(modelId, list);
    });
  }
}

/** Each point in order (the first invalid one is the error); a long series arrives as one key repeated, so a name is checked once per run of equal keys. */
function validateMetrics(metrics: MetricInput[] | MetricColumns): void {
  let checkedKey: string | undefined;
  if (isMetricColumns(metrics)) {
    const { keys, keyIndex, value, timestamp, step } = metrics;
    for (let i = 0; i < metrics.length; i++) {
      const key = keys[keyIndex[i]!]!;
      if (key !== checkedKey) {
        validateParamOrMetricName(key);
        checkedKey = key;
      }
      validateMetricValue(key, value[i]!, timestamp[i]!, step[i]!);
    }
    return;
  }
  for (const metric of metrics) {
    if (metric.key !== checkedKey) {
      validateParamOrMetricName(metric.key);
      checkedKey = metric.key;
    }
    validateMetricValue(metric.key, metric.value, metric.timestamp, metric.step);
  }
}

function validateBatchLimits(metrics: number, params: number, tags: number): void {
  if (metrics > LIMITS.batchMetrics) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchMetrics} metrics. Got ${metrics} metrics. Please split up metrics across multiple requests and try again.`);
  }
  if (params > LIMITS.batchParams) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${params} params. Please split up params across multiple requests and try again.`);
  }
  if (tags > LIMITS.batchTags) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchTags} tags. Got ${tags} tags. Please split up tags across multiple requests and try again.`);
  }
  const total = metrics + params + tags;
  if (total > LIMITS.batchTotal) {
    throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchTotal} total metrics, params and tags. Got ${total}. Please split up across multiple requests and try again.`);
  }
}
