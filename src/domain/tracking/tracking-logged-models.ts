import { randomBytes } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { parseLoggedModelFilter, parseLoggedModelOrderBy } from '../search/index.ts';
import type { LoggedModelOrderByInput } from '../search/types.ts';
import type { KeyValue, LoggedModelRecord } from '../../store/tracking-store.ts';
import { randomRunName } from './run-names.ts';
import {
  LIMITS,
  validateParamOrMetricName,
  validateParamValue,
  validateRunTagValue,
  validateSearchMaxResults,
  validateTagKey,
} from './validation.ts';
import { TrackingInputsOutputs } from './tracking-inputs-outputs.ts';
import { LOGGED_MODEL_STATUSES, USER_TAG, lastValue, type SearchPage } from './tracking-base.ts';

/** MLflow 3 logged models: create, finalize, delete, tags, params, search. */
export class TrackingLoggedModels extends TrackingInputsOutputs {
  async createLoggedModel(input: {
    experimentId: string;
    name?: string | undefined;
    modelType?: string | undefined;
    sourceRunId?: string | undefined;
    params?: KeyValue[] | undefined;
    tags?: KeyValue[] | undefined;
  }): Promise<LoggedModelRecord> {
    const experiment = await this.activeExperiment(input.experimentId);
    // MLflow records a source run it does not know as given; one of another project is refused.
    if (input.sourceRunId && !(await this.isUnknownRun(input.sourceRunId))) await this.runInfo(input.sourceRunId);
    const params = input.params ?? [];
    const tags = input.tags ?? [];
    for (const p of params) {
      validateParamOrMetricName(p.key);
      validateParamValue(p.key, p.value);
    }
    for (const t of tags) {
      validateTagKey(t.key);
      validateRunTagValue(t.key, t.value);
    }
    const name = input.name || randomRunName();
    const modelId = `m-${randomBytes(16).toString('hex')}`;
    await this.audited(
      (tx) =>
        tx.createLoggedModel({
          modelId,
          experimentId: experiment.experimentId,
          name,
          artifactUri: `${experiment.artifactLocation.replace(/\/+$/, '')}/models/${modelId}/artifacts`,
          status: 'LOGGED_MODEL_PENDING',
          creatorId: lastValue(tags, USER_TAG) ?? null,
          modelType: input.modelType || null,
          sourceRunId: input.sourceRunId || null,
          params,
          tags,
          timestamp: this.clock.now(),
        }),
      () => ({ action: 'logged_model.create', entityType: 'logged_model', entityId: modelId, details: { name, experiment_id: experiment.experimentId } }),
    );
    return this.getLoggedModel(modelId);
  }

  async getLoggedModel(modelId: string, allowDeleted = false): Promise<LoggedModelRecord> {
    const model = await this.store.getLoggedModel(modelId);
    if (!model || (model.lifecycleStage === 'deleted' && !allowDeleted) || !(await this.inCurrentProject(model.experimentId))) {
      throw MlflowError.notFound(`Logged model with ID '${modelId}' not found.`);
    }
    return model;
  }

  async finalizeLoggedModel(modelId: string, status: string): Promise<LoggedModelRecord> {
    const model = await this.getLoggedModel(modelId);
    const normalized = parseLoggedModelStatus(status);
    await this.audited(
      (tx) => tx.updateLoggedModel(model.pk, { status: normalized, now: this.clock.now() }),
      () => ({ action: 'logged_model.finalize', entityType: 'logged_model', entityId: model.modelId, details: { status: normalized } }),
    );
    return this.getLoggedModel(modelId);
  }

  async deleteLoggedModel(modelId: string): Promise<void> {
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.updateLoggedModel(model.pk, { lifecycleStage: 'deleted', now: this.clock.now() }),
      () => ({ action: 'logged_model.delete', entityType: 'logged_model', entityId: model.modelId }),
    );
  }

  async setLoggedModelTags(modelId: string, tags: KeyValue[]): Promise<void> {
    for (const t of tags) {
      validateTagKey(t.key);
      validateRunTagValue(t.key, t.value);
    }
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.setLoggedModelTags(model.pk, tags, this.clock.now()),
      () => ({ action: 'logged_model.set_tags', entityType: 'logged_model', entityId: model.modelId, details: { keys: tags.map((t) => t.key) } }),
    );
  }

  async deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    const model = await this.getLoggedModel(modelId);
    const deleted = await this.audited(
      (tx) => tx.deleteLoggedModelTag(model.pk, key),
      () => ({ action: 'logged_model.delete_tag', entityType: 'logged_model', entityId: model.modelId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with key '${key}' found for logged model with ID '${modelId}'.`);
  }

  async logLoggedModelParams(modelId: string, params: KeyValue[]): Promise<void> {
    if (params.length > LIMITS.batchParams) {
      throw MlflowError.invalidParameter(`A batch logging request can contain at most ${LIMITS.batchParams} params. Got ${params.length} params.`);
    }
    for (const p of params) {
      validateParamOrMetricName(p.key);
      validateParamValue(p.key, p.value);
    }
    const model = await this.getLoggedModel(modelId);
    await this.audited(
      (tx) => tx.insertLoggedModelParams(model.pk, params),
      () => ({ action: 'logged_model.log_params', entityType: 'logged_model', entityId: model.modelId, details: { params: params.length } }),
    );
  }

  async searchLoggedModels(input: {
    experimentIds: string[];
    filter?: string | undefined;
    datasets?: Array<{ name: string; digest?: string | undefined }> | undefined;
    maxResults?: number | undefined;
    orderBy?: LoggedModelOrderByInput[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<LoggedModelRecord>> {
    const maxResults = input.maxResults ?? 100;
    validateSearchMaxResults(maxResults);
    const filter = parseLoggedModelFilter(input.filter);
    const orderBy = parseLoggedModelOrderBy(input.orderBy);
    const page = await this.store.searchLoggedModels({
      experimentIds: await this.experimentIdsInProject(input.experimentIds),
      filter,
      orderBy,
      datasets: (input.datasets ?? []).map((d) => (d.digest !== undefined ? { name: d.name, digest: d.digest } : { name: d.name })),
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }}

function parseLoggedModelStatus(status: string | number): string {
  const byNumber: Record<string, string> = { '1': 'LOGGED_MODEL_PENDING', '2': 'LOGGED_MODEL_READY', '3': 'LOGGED_MODEL_UPLOAD_FAILED' };
  const text = String(status).toUpperCase();
  const resolved = byNumber[text] ?? (LOGGED_MODEL_STATUSES as readonly string[]).find((s) => s === text);
  if (!resolved) {
    throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(status)} for parameter 'status' supplied. Valid values are ${LOGGED_MODEL_STATUSES.join(', ')}.`);
  }
  return resolved;
}
