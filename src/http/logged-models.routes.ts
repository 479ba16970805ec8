import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../domain/services.ts';
import { presentLoggedModel } from './presenters.ts';
import { bool, int64, keyValueList, parseFields, text, textList, idList } from './request-schema.ts';
import { rpc } from './rpc.ts';

const createSchema = z.object({
  experiment_id: text,
  name: text.optional(),
  model_type: text.optional(),
  source_run_id: text.optional(),
  params: keyValueList.optional(),
  tags: keyValueList.optional(),
});
const getSchema = z.object({ model_id: text, allow_deleted: bool.optional() });
const finalizeSchema = z.object({ model_id: text, status: z.union([text, z.number()]) });
const tagsSchema = z.object({ model_id: text, tags: keyValueList });
const paramsSchema = z.object({ model_id: text, params: keyValueList });
const deleteTagSchema = z.object({ model_id: text, '*': text });
const searchSchema = z.object({
  experiment_ids: idList.optional(),
  filter: text.optional(),
  datasets: z.array(z.object({ dataset_name: text, dataset_digest: text.optional() })).optional(),
  max_results: int64.optional(),
  order_by: z
    .array(z.object({ field_name: text, ascending: bool.optional(), dataset_name: text.optional(), dataset_digest: text.optional() }))
    .optional(),
  page_token: text.optional(),
});

/** MLflow 3 logged-model RPCs, relative to /api/2.0 or /ajax-api/2.0. */
export async function loggedModelRoutes(app: FastifyInstance, { tracking }: Services): Promise<void> {
  rpc(app, 'POST', '/mlflow/logged-models', 'write', async (fields) => {
    const input = parseFields(createSchema, fields);
    const model = await tracking.createLoggedModel({
      experimentId: input.experiment_id,
      name: input.name,
      modelType: input.model_type,
      sourceRunId: input.source_run_id,
      params: input.params,
      tags: input.tags,
    });
    return { model: presentLoggedModel(model) };
  });

  rpc(app, 'POST', '/mlflow/logged-models/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await tracking.searchLoggedModels({
      experimentIds: input.experiment_ids ?? [],
      filter: input.filter,
      // As MLflow 3.18: a dataset without a digest matches metrics whose digest is empty.
      datasets: input.datasets?.map((d) => ({ name: d.dataset_name, digest: d.dataset_digest ?? '' })),
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return {
      models: page.items.map(presentLoggedModel),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'GET', '/mlflow/logged-models/:model_id', 'read', async (fields) => {
    const input = parseFields(getSchema, fields);
    return { model: presentLoggedModel(await tracking.getLoggedModel(input.model_id, input.allow_deleted ?? false)) };
  });

  rpc(app, 'PATCH', '/mlflow/logged-models/:model_id', 'write', async (fields) => {
    const input = parseFields(finalizeSchema, fields);
    return { model: presentLoggedModel(await tracking.finalizeLoggedModel(input.model_id, String(input.status))) };
  });

  rpc(app, 'DELETE', '/mlflow/logged-models/:model_id', 'delete', async (fields) => {
    await tracking.deleteLoggedModel(parseFields(getSchema, fields).model_id);
    return {};
  });

  rpc(app, 'PATCH', '/mlflow/logged-models/:model_id/tags', 'write', async (fields) => {
    const input = parseFields(tagsSchema, fields);
    await tracking.setLoggedModelTags(input.model_id, input.tags);
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/logged-models/:model_id/tags/*', 'write', async (fields) => {
    const input = parseFields(deleteTagSchema, fields);
    await tracking.deleteLoggedModelTag(input.model_id, input['*']);
    return {};
  });

  rpc(app, 'POST', '/mlflow/logged-models/:model_id/params', 'write', async (fields) => {
    const input = parseFields(paramsSchema, fields);
    await tracking.logLoggedModelParams(input.model_id, input.params);
    return {};
  });
}
