import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { EvaluationDataset, EvaluationDatasetService } from '../domain/evaluation-datasets/evaluation-dataset-service.ts';
import { recordToWire } from '../domain/evaluation-datasets/records.ts';
import { dumpsPy } from '../domain/evaluation-datasets/py-json.ts';
import { int64, parseFields, text, textList } from './request-schema.ts';
import { rpc } from './rpc.ts';

const datasetIdSchema = z.object({ dataset_id: text });
const createSchema = z.object({ name: text.refine((v) => v !== ''), experiment_ids: textList.optional(), tags: text.optional() });
const searchSchema = z.object({
  experiment_ids: textList.optional(),
  filter_string: text.optional(),
  max_results: int64.optional(),
  order_by: textList.optional(),
  page_token: text.optional(),
});
const setTagsSchema = z.object({ dataset_id: text, tags: text.refine((v) => v !== '') });
const deleteTagSchema = z.object({ dataset_id: text, key: text });
const upsertSchema = z.object({ dataset_id: text, records: text.refine((v) => v !== '') });
const recordsPageSchema = z.object({ dataset_id: text, max_results: int64.optional(), page_token: text.optional() });
const deleteRecordsSchema = z.object({ dataset_id: text, dataset_record_ids: textList.optional() });
const experimentsSchema = z.object({ dataset_id: text, experiment_ids: textList.optional() });

/**
 * A dataset as MLflow's `Dataset` message (datasets.proto): tags, schema and profile are JSON
 * text, written as the Python server writes them; experiment ids only where upstream sends them.
 */
export function presentEvaluationDataset(dataset: EvaluationDataset): Record<string, unknown> {
  return {
    dataset_id: dataset.datasetId,
    name: dataset.name,
    tags: dumpsPy(new Map(dataset.tags.map((tag) => [tag.key, tag.value]))),
    ...(dataset.schemaJson !== null ? { schema: dataset.schemaJson } : {}),
    ...(dataset.profileJson !== null ? { profile: dataset.profileJson } : {}),
    digest: dataset.digest,
    created_time: dataset.createdTime,
    last_update_time: dataset.lastUpdateTime,
    ...(dataset.createdBy !== null ? { created_by: dataset.createdBy } : {}),
    ...(dataset.lastUpdatedBy !== null ? { last_updated_by: dataset.lastUpdatedBy } : {}),
    ...(dataset.experimentIds !== undefined && dataset.experimentIds.length > 0 ? { experiment_ids: dataset.experimentIds } : {}),
  };
}

/**
 * MLflow 3 evaluation dataset RPCs (service.proto's `/mlflow/datasets/*`), relative to /api/3.0
 * or /ajax-api/3.0. Empty repeated fields are left out of answers, as MLflow's JSON does.
 */
export async function evaluationDatasetRoutes(app: FastifyInstance, datasets: EvaluationDatasetService): Promise<void> {
  rpc(app, 'POST', '/mlflow/datasets/create', 'write', async (fields) => {
    const input = parseFields(createSchema, fields);
    const dataset = await datasets.createDataset({ name: input.name, experimentIds: input.experiment_ids ?? [], tags: input.tags });
    return { dataset: presentEvaluationDataset(dataset) };
  });

  rpc(app, ['POST', 'GET'], '/mlflow/datasets/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await datasets.searchDatasets({
      experimentIds: input.experiment_ids,
      filter: input.filter_string === '' ? undefined : input.filter_string,
      // Upstream reads 0 (proto's unset) as "the default".
      maxResults: input.max_results === 0 ? undefined : input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return {
      ...(page.datasets.length > 0 ? { datasets: page.datasets.map(presentEvaluationDataset) } : {}),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'GET', '/mlflow/datasets/:dataset_id', 'read', async (fields) => {
    const input = parseFields(datasetIdSchema, fields);
    return { dataset: presentEvaluationDataset(await datasets.getDataset(input.dataset_id)) };
  });

  rpc(app, 'DELETE', '/mlflow/datasets/:dataset_id', 'delete', async (fields) => {
    await datasets.deleteDataset(parseFields(datasetIdSchema, fields).dataset_id);
    return {};
  });

  rpc(app, 'PATCH', '/mlflow/datasets/:dataset_id/tags', 'write', async (fields) => {
    const input = parseFields(setTagsSchema, fields);
    await datasets.setDatasetTags(input.dataset_id, input.tags);
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/datasets/:dataset_id/tags/:key', 'write', async (fields) => {
    const input = parseFields(deleteTagSchema, fields);
    await datasets.deleteDatasetTag(input.dataset_id, input.key);
    return {};
  });

  rpc(app, 'POST', '/mlflow/datasets/:dataset_id/records', 'write', async (fields) => {
    const input = parseFields(upsertSchema, fields);
    const result = await datasets.upsertRecords(input.dataset_id, input.records);
    return { inserted_count: result.inserted, updated_count: result.updated };
  });

  rpc(app, 'GET', '/mlflow/datasets/:dataset_id/records', 'read', async (fields) => {
    const input = parseFields(recordsPageSchema, fields);
    const page = await datasets.getRecords(input.dataset_id, { maxResults: input.max_results, pageToken: input.page_token });
    return {
      records: dumpsPy(page.records.map(recordToWire)),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'DELETE', '/mlflow/datasets/:dataset_id/records', 'delete', async (fields) => {
    const input = parseFields(deleteRecordsSchema, fields);
    return { deleted_count: await datasets.deleteRecords(input.dataset_id, input.dataset_record_ids ?? []) };
  });

  rpc(app, 'GET', '/mlflow/datasets/:dataset_id/experiment-ids', 'read', async (fields) => {
    const ids = await datasets.getExperimentIds(parseFields(datasetIdSchema, fields).dataset_id);
    return ids.length > 0 ? { experiment_ids: ids } : {};
  });

  rpc(app, 'POST', '/mlflow/datasets/:dataset_id/add-experiments', 'write', async (fields) => {
    const input = parseFields(experimentsSchema, fields);
    return { dataset: presentEvaluationDataset(await datasets.addToExperiments(input.dataset_id, input.experiment_ids ?? [])) };
  });

  rpc(app, 'POST', '/mlflow/datasets/:dataset_id/remove-experiments', 'write', async (fields) => {
    const input = parseFields(experimentsSchema, fields);
    return { dataset: presentEvaluationDataset(await datasets.removeFromExperiments(input.dataset_id, input.experiment_ids ?? [])) };
  });
}
