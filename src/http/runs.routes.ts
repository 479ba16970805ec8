import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError, missingParameter } from '../domain/errors.ts';
import type { Services } from '../domain/services.ts';
import { LIMITS } from '../domain/tracking/validation.ts';
import { presentRun, presentRunInfo } from './presenters.ts';
import { double, int64, keyValueList, parseFields, text, textList, viewType, idList } from './request-schema.ts';
import { readLogBatch } from './log-batch-request.ts';
import { logBatchBodyOf, parseLogBatchRequestBody } from './log-batch-body.ts';
import { JsonText, rpc } from './rpc.ts';

const runRef = { run_id: text.optional(), run_uuid: text.optional() };
/** Built once: a zod schema compiles itself on first use, which cost more than the rest of runs/get's parsing. */
const getRunSchema = z.object(runRef);

const metricSchema = z.object({
  key: text,
  value: double,
  timestamp: int64,
  step: int64.optional(),
  model_id: text.optional(),
  dataset_name: text.optional(),
  dataset_digest: text.optional(),
});

const createSchema = z.object({
  experiment_id: text.optional(),
  user_id: text.optional(),
  run_name: text.optional(),
  start_time: int64.optional(),
  tags: keyValueList.optional(),
});
const updateSchema = z.object({ ...runRef, status: z.union([text, z.number()]).optional(), end_time: int64.optional(), run_name: text.optional() });
const logMetricSchema = metricSchema.extend(runRef);
const logParamSchema = z.object({ ...runRef, key: text, value: text });
const setTagSchema = z.object({ ...runRef, key: text, value: text });
const deleteTagSchema = z.object({ ...runRef, key: text });
export const logBatchSchema = z.object({
  ...runRef,
  metrics: z.array(metricSchema).optional(),
  params: keyValueList.optional(),
  tags: keyValueList.optional(),
});
const searchSchema = z.object({
  experiment_ids: idList.optional(),
  filter: text.optional(),
  run_view_type: viewType.optional(),
  max_results: int64.optional(),
  order_by: textList.optional(),
  page_token: text.optional(),
});
const datasetSchema = z.object({
  name: text,
  digest: text,
  source_type: text,
  source: text,
  schema: text.optional(),
  profile: text.optional(),
});
const logInputsSchema = z.object({
  ...runRef,
  datasets: z.array(z.object({ tags: keyValueList.optional(), dataset: datasetSchema })).optional(),
  models: z.array(z.object({ model_id: text })).optional(),
});
const logOutputsSchema = z.object({ ...runRef, models: z.array(z.object({ model_id: text, step: int64.optional() })) });
const logModelSchema = z.object({ ...runRef, model_json: text });

/** The run a request names: `run_id`, or the deprecated `run_uuid` older clients send. */
export function runIdOf(input: { run_id?: string | undefined; run_uuid?: string | undefined }): string {
  const runId = input.run_id || input.run_uuid;
  if (!runId) throw missingParameter('run_id');
  return runId;
}

export function toMetricInput(m: z.output<typeof metricSchema>) {
  return {
    key: m.key,
    value: m.value,
    timestamp: m.timestamp,
    step: m.step ?? 0,
    modelId: m.model_id,
    datasetName: m.dataset_name,
    datasetDigest: m.dataset_digest,
  };
}

/** MLflow run RPCs (service.proto), relative to /api/2.0 or /ajax-api/2.0. */
export async function runRoutes(app: FastifyInstance, { tracking }: Services): Promise<void> {
  rpc(app, 'POST', '/mlflow/runs/create', 'write', async (fields) => {
    const input = parseFields(createSchema, fields);
    const run = await tracking.createRun({
      experimentId: input.experiment_id,
      userId: input.user_id,
      runName: input.run_name,
      startTime: input.start_time,
      tags: input.tags,
    });
    return { run: presentRun(run) };
  });

  rpc(app, 'GET', '/mlflow/runs/get', 'read', async (fields) => {
    const input = parseFields(getRunSchema, fields);
    const run = await tracking.getRunWire(runIdOf(input));
    // The store's text of the run (PostgreSQL): spliced, not parsed and serialised again.
    return 'json' in run ? new JsonText(`{"run":${run.json}}`) : { run: presentRun(run) };
  });

  rpc(app, 'POST', '/mlflow/runs/update', 'write', async (fields) => {
    const input = parseFields(updateSchema, fields);
    const info = await tracking.updateRun({
      runId: runIdOf(input),
      status: input.status === undefined ? undefined : String(input.status),
      endTime: input.end_time,
      runName: input.run_name,
    });
    return { run_info: presentRunInfo(info) };
  });

  rpc(app, 'POST', '/mlflow/runs/delete', 'delete', async (fields) => {
    await tracking.deleteRun(runIdOf(parseFields(z.object(runRef), fields)));
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/restore', 'delete', async (fields) => {
    await tracking.restoreRun(runIdOf(parseFields(z.object(runRef), fields)));
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/log-metric', 'write', async (fields) => {
    const input = parseFields(logMetricSchema, fields);
    await tracking.logMetric(runIdOf(input), toMetricInput(input));
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/log-parameter', 'write', async (fields) => {
    const input = parseFields(logParamSchema, fields);
    await tracking.logParam(runIdOf(input), { key: input.key, value: input.value });
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/set-tag', 'write', async (fields) => {
    const input = parseFields(setTagSchema, fields);
    await tracking.setTag(runIdOf(input), { key: input.key, value: input.value });
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/delete-tag', 'write', async (fields) => {
    const input = parseFields(deleteTagSchema, fields);
    await tracking.deleteTag(runIdOf(input), input.key);
    return {};
  });

  // log-batch in a scope of its own: its body is read from the bytes into metric columns when it
  // has the usual shape (log-batch-body.ts), else parsed as JSON as for every other route.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      const parsed = parseLogBatchRequestBody(typeof body === 'string' ? Buffer.from(body) : body);
      if ('error' in parsed) done(parsed.error, undefined);
      else done(null, parsed.value);
    });
    rpc(scope, 'POST', '/mlflow/runs/log-batch', 'write', async (fields, request) => {
      const size = Number(request.headers['content-length'] ?? 0);
      if (size > LIMITS.batchBytes) {
        throw MlflowError.invalidParameter(
          `Batched logging API requests must be at most ${LIMITS.batchBytes} bytes, got a request of ${size} bytes.`,
        );
      }
      const columns = logBatchBodyOf(request.body);
      if (columns) {
        await tracking.logBatch({ runId: runIdOf(columns), metrics: columns.metrics, params: columns.params, tags: columns.tags });
        return {};
      }
      // The common valid request without zod (log-batch-request.ts); anything else through the
      // schema, which words the error.
      const fast = readLogBatch(fields);
      if (fast) {
        await tracking.logBatch({ runId: runIdOf(fast), metrics: fast.metrics, params: fast.params, tags: fast.tags });
        return {};
      }
      const input = parseFields(logBatchSchema, fields);
      await tracking.logBatch({
        runId: runIdOf(input),
        metrics: (input.metrics ?? []).map(toMetricInput),
        params: input.params ?? [],
        tags: input.tags ?? [],
      });
      return {};
    });
  });

  rpc(app, ['POST', 'GET'], '/mlflow/runs/search', 'read', async (fields) => {
    const input = parseFields(searchSchema, fields);
    const page = await tracking.searchRunsWire({
      experimentIds: input.experiment_ids ?? [],
      filter: input.filter,
      viewType: input.run_view_type,
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    // The store's text of the runs array (PostgreSQL): spliced, not parsed and serialised again.
    if ('json' in page) return new JsonText(`{"runs":${page.json}${page.nextPageToken ? `,"next_page_token":${JSON.stringify(page.nextPageToken)}` : ''}}`);
    return {
      runs: page.items.map(presentRun),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'POST', '/mlflow/runs/log-inputs', 'write', async (fields) => {
    const input = parseFields(logInputsSchema, fields);
    await tracking.logInputs({
      runId: runIdOf(input),
      datasets: (input.datasets ?? []).map((d) => ({
        tags: d.tags ?? [],
        dataset: {
          name: d.dataset.name,
          digest: d.dataset.digest,
          sourceType: d.dataset.source_type,
          source: d.dataset.source,
          schema: d.dataset.schema ?? null,
          profile: d.dataset.profile ?? null,
        },
      })),
      modelIds: (input.models ?? []).map((m) => m.model_id),
    });
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/outputs', 'write', async (fields) => {
    const input = parseFields(logOutputsSchema, fields);
    await tracking.logOutputs({ runId: runIdOf(input), models: input.models.map((m) => ({ modelId: m.model_id, step: m.step ?? 0 })) });
    return {};
  });

  rpc(app, 'POST', '/mlflow/runs/log-model', 'write', async (fields) => {
    const input = parseFields(logModelSchema, fields);
    await tracking.logModelHistory(runIdOf(input), input.model_json);
    return {};
  });
}
