import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../domain/services.ts';
import { presentModelVersion, presentRegisteredModel } from './registry-presenters.ts';
import { bool, int64, parseFields, text, textList } from './request-schema.ts';
import { rpc } from './rpc.ts';

/** Registry tags: a missing value is the empty string, as protobuf's default. */
const registryTags = z.array(z.object({ key: text, value: text.optional() })).transform((tags) =>
  tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
);

const nameSchema = z.object({ name: text });
const createModelSchema = z.object({ name: text, tags: registryTags.optional(), description: text.optional() });
const renameSchema = z.object({ name: text, new_name: text });
const updateModelSchema = z.object({ name: text, description: text.optional() });
const searchSchema = z.object({
  filter: text.optional(),
  max_results: int64.optional(),
  order_by: textList.optional(),
  page_token: text.optional(),
});
const latestVersionsSchema = z.object({ name: text, stages: textList.optional() });
const modelTagSchema = z.object({ name: text, key: text, value: text.optional() });
const modelTagKeySchema = z.object({ name: text, key: text });
const setAliasSchema = z.object({ name: text, alias: text, version: text });
const aliasSchema = z.object({ name: text, alias: text });

const createVersionSchema = z.object({
  name: text,
  source: text,
  run_id: text.optional(),
  tags: registryTags.optional(),
  run_link: text.optional(),
  description: text.optional(),
  model_id: text.optional(),
});
const versionSchema = z.object({ name: text, version: text });
const updateVersionSchema = z.object({ name: text, version: text, description: text.optional() });
const transitionSchema = z.object({ name: text, version: text, stage: text, archive_existing_versions: bool.optional() });
const versionTagSchema = z.object({ name: text, version: text, key: text, value: text.optional() });
const versionTagKeySchema = z.object({ name: text, version: text, key: text });

/** MLflow model registry RPCs (model_registry.proto), relative to /api/2.0 or /ajax-api/2.0. */
export async function registryRoutes(app: FastifyInstance, { registry }: Services): Promise<void> {
  // ---------------------------------------------------------------- registered models

  rpc(app, 'POST', '/mlflow/registered-models/create', 'register', async (fields) => {
    const input = parseFields(createModelSchema, fields);
    const model = await registry.createRegisteredModel({ name: input.name, tags: input.tags, description: input.description });
    return { registered_model: presentRegisteredModel(model) };
  });

  rpc(app, 'GET', '/mlflow/registered-models/get', 'read', async (fields) => {
    const input = parseFields(nameSchema, fields);
    return { registered_model: presentRegisteredModel(await registry.getRegisteredModel(input.name)) };
  });

  rpc(app, 'POST', '/mlflow/registered-models/rename', 'register', async (fields) => {
    const input = parseFields(renameSchema, fields);
    return { registered_model: presentRegisteredModel(await registry.renameRegisteredModel(input.name, input.new_name)) };
  });

  rpc(app, 'PATCH', '/mlflow/registered-models/update', 'register', async (fields) => {
    const input = parseFields(updateModelSchema, fields);
    return { registered_model: presentRegisteredModel(await registry.updateRegisteredModel(input.name, input.description)) };
  });

  rpc(app, 'DELETE', '/mlflow/registered-models/delete', 'delete', async (fields) => {
    await registry.deleteRegisteredModel(parseFields(nameSchema, fields).name);
    return {};
  });

  rpc(app, 'GET', '/mlflow/registered-models/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await registry.searchRegisteredModels({
      filter: input.filter,
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return {
      registered_models: page.items.map(presentRegisteredModel),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  // POST is MLflow's method; the client falls back to GET on ENDPOINT_NOT_FOUND, so serve both.
  rpc(app, ['POST', 'GET'], '/mlflow/registered-models/get-latest-versions', 'read', async (fields) => {
    const input = parseFields(latestVersionsSchema, fields);
    const versions = await registry.getLatestVersions(input.name, input.stages ?? []);
    return { model_versions: versions.map(presentModelVersion) };
  });

  rpc(app, 'POST', '/mlflow/registered-models/set-tag', 'register', async (fields) => {
    const input = parseFields(modelTagSchema, fields);
    await registry.setRegisteredModelTag(input.name, { key: input.key, value: input.value ?? '' });
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/registered-models/delete-tag', 'register', async (fields) => {
    const input = parseFields(modelTagKeySchema, fields);
    await registry.deleteRegisteredModelTag(input.name, input.key);
    return {};
  });

  rpc(app, 'POST', '/mlflow/registered-models/alias', 'alias', async (fields) => {
    const input = parseFields(setAliasSchema, fields);
    await registry.setAlias(input.name, input.alias, input.version);
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/registered-models/alias', 'alias', async (fields) => {
    const input = parseFields(aliasSchema, fields);
    await registry.deleteAlias(input.name, input.alias);
    return {};
  });

  rpc(app, 'GET', '/mlflow/registered-models/alias', 'read', async (fields) => {
    const input = parseFields(aliasSchema, fields);
    return { model_version: presentModelVersion(await registry.getVersionByAlias(input.name, input.alias)) };
  });

  // ---------------------------------------------------------------- model versions

  rpc(app, 'POST', '/mlflow/model-versions/create', 'register', async (fields) => {
    const input = parseFields(createVersionSchema, fields);
    const version = await registry.createModelVersion({
      name: input.name,
      source: input.source,
      runId: input.run_id,
      tags: input.tags,
      runLink: input.run_link,
      description: input.description,
      modelId: input.model_id,
    });
    return { model_version: presentModelVersion(version) };
  });

  rpc(app, 'GET', '/mlflow/model-versions/get', 'read', async (fields) => {
    const input = parseFields(versionSchema, fields);
    return { model_version: presentModelVersion(await registry.getModelVersion(input.name, input.version)) };
  });

  rpc(app, 'PATCH', '/mlflow/model-versions/update', 'register', async (fields) => {
    const input = parseFields(updateVersionSchema, fields);
    return { model_version: presentModelVersion(await registry.updateModelVersion(input.name, input.version, input.description)) };
  });

  rpc(app, 'POST', '/mlflow/model-versions/transition-stage', 'alias', async (fields) => {
    const input = parseFields(transitionSchema, fields);
    const version = await registry.transitionStage(input.name, input.version, input.stage, input.archive_existing_versions ?? false);
    return { model_version: presentModelVersion(version) };
  });

  rpc(app, 'DELETE', '/mlflow/model-versions/delete', 'delete', async (fields) => {
    const input = parseFields(versionSchema, fields);
    await registry.deleteModelVersion(input.name, input.version);
    return {};
  });

  rpc(app, 'GET', '/mlflow/model-versions/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await registry.searchModelVersions({
      filter: input.filter,
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return {
      model_versions: page.items.map(presentModelVersion),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'GET', '/mlflow/model-versions/get-download-uri', 'read', async (fields) => {
    const input = parseFields(versionSchema, fields);
    return { artifact_uri: await registry.getDownloadUri(input.name, input.version) };
  });

  rpc(app, 'POST', '/mlflow/model-versions/set-tag', 'register', async (fields) => {
    const input = parseFields(versionTagSchema, fields);
    await registry.setModelVersionTag(input.name, input.version, { key: input.key, value: input.value ?? '' });
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/model-versions/delete-tag', 'register', async (fields) => {
    const input = parseFields(versionTagKeySchema, fields);
    await registry.deleteModelVersionTag(input.name, input.version, input.key);
    return {};
  });
}
