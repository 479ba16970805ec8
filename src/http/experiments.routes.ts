import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../domain/services.ts';
import { presentExperiment } from './presenters.ts';
import { int64, keyValueList, parseFields, text, textList, viewType, idList } from './request-schema.ts';
import { rpc } from './rpc.ts';

const createSchema = z.object({ name: text, artifact_location: text.optional(), tags: keyValueList.optional() });
const idSchema = z.object({ experiment_id: text });
const byNameSchema = z.object({ experiment_name: text });
const searchSchema = z.object({
  max_results: int64.optional(),
  page_token: text.optional(),
  filter: text.optional(),
  order_by: textList.optional(),
  view_type: viewType.optional(),
});
const updateSchema = z.object({ experiment_id: text, new_name: text.optional() });
const setTagSchema = z.object({ experiment_id: text, key: text, value: text });
const deleteTagSchema = z.object({ experiment_id: text, key: text });

/** MLflow experiment RPCs (service.proto), relative to /api/2.0 or /ajax-api/2.0. */
export async function experimentRoutes(app: FastifyInstance, { tracking }: Services): Promise<void> {
  rpc(app, 'POST', '/mlflow/experiments/create', 'write', async (fields) => {
    const input = parseFields(createSchema, fields);
    const experimentId = await tracking.createExperiment({ name: input.name, artifactLocation: input.artifact_location, tags: input.tags });
    return { experiment_id: experimentId };
  });

  rpc(app, 'GET', '/mlflow/experiments/get', 'read', async (fields) => {
    const input = parseFields(idSchema, fields);
    return { experiment: presentExperiment(await tracking.getExperiment(input.experiment_id)) };
  });

  rpc(app, 'GET', '/mlflow/experiments/get-by-name', 'read', async (fields) => {
    const input = parseFields(byNameSchema, fields);
    return { experiment: presentExperiment(await tracking.getExperimentByName(input.experiment_name)) };
  });

  rpc(app, ['POST', 'GET'], '/mlflow/experiments/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await tracking.searchExperiments({
      maxResults: input.max_results,
      pageToken: input.page_token,
      filter: input.filter,
      orderBy: input.order_by,
      viewType: input.view_type,
    });
    return {
      experiments: page.items.map(presentExperiment),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'POST', '/mlflow/experiments/delete', 'delete', async (fields) => {
    await tracking.deleteExperiment(parseFields(idSchema, fields).experiment_id);
    return {};
  });

  rpc(app, 'POST', '/mlflow/experiments/restore', 'delete', async (fields) => {
    await tracking.restoreExperiment(parseFields(idSchema, fields).experiment_id);
    return {};
  });

  rpc(app, 'POST', '/mlflow/experiments/update', 'write', async (fields) => {
    const input = parseFields(updateSchema, fields);
    await tracking.renameExperiment(input.experiment_id, input.new_name);
    return {};
  });

  rpc(app, 'POST', '/mlflow/experiments/set-experiment-tag', 'write', async (fields) => {
    const input = parseFields(setTagSchema, fields);
    await tracking.setExperimentTag(input.experiment_id, { key: input.key, value: input.value });
    return {};
  });

  rpc(app, 'POST', '/mlflow/experiments/delete-experiment-tag', 'write', async (fields) => {
    const input = parseFields(deleteTagSchema, fields);
    await tracking.deleteExperimentTag(input.experiment_id, input.key);
    return {};
  });

  rpc(app, 'POST', '/mlflow/experiments/search-datasets', 'read', async (fields) => {
    const input = parseFields(z.object({ experiment_ids: idList.optional() }), fields);
    const summaries = await tracking.searchDatasets(input.experiment_ids ?? []);
    return {
      dataset_summaries: summaries.map((s) => ({
        experiment_id: s.experimentId,
        name: s.name,
        digest: s.digest,
        ...(s.context !== null ? { context: s.context } : {}),
      })),
    };
  });
}
