import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError, missingParameter } from '../domain/errors.ts';
import type { TraceService } from '../domain/tracing/trace-service.ts';
import { bool, int64, parseFields, text, textList } from './request-schema.ts';
import { rpc } from './rpc.ts';
import {
  assessmentInputFrom,
  parseState,
  presentAssessment,
  presentTraceInfoV2,
  presentTraceInfoV3,
  presentTraceV3,
  stringMap,
  traceInfoInputFrom,
} from './trace-presenters.ts';

/**
 * MLflow's trace API. Under /api/3.0: StartTraceV3, trace info and traces with spans, search,
 * assessments. Under /api/2.0: the MLflow 2.x start/end/info/search calls. Tags, deletion and
 * run links answer under both (the 3.x client sends tags and deletions to /api/2.0).
 * Permissions follow runs: reading needs `read`, writing `write`, deleting traces `delete`.
 */

const traceRef = z.object({ trace_id: text.optional(), request_id: text.optional() });
const tagSchema = z.object({ trace_id: text.optional(), request_id: text.optional(), key: text, value: text });
const deleteTagSchema = z.object({ trace_id: text.optional(), request_id: text.optional(), key: text });
const deleteTracesSchema = z.object({
  experiment_id: text,
  max_timestamp_millis: int64.optional(),
  max_traces: int64.optional(),
  request_ids: textList.optional(),
  trace_ids: textList.optional(),
});
const linkSchema = z.object({ trace_ids: textList.optional(), run_id: text });
const getTraceSchema = z.object({ trace_id: text, allow_partial: bool.optional() });
const batchSchema = z.object({ trace_ids: textList.optional(), experiment_ids: textList.optional() });
const searchV3Schema = z.object({
  locations: z.array(z.object({ mlflow_experiment: z.object({ experiment_id: text }).optional() }).passthrough()).optional(),
  filter: text.optional(),
  max_results: int64.optional(),
  order_by: textList.optional(),
  page_token: text.optional(),
});
const searchV2Schema = z.object({
  experiment_ids: textList.optional(),
  filter: text.optional(),
  max_results: int64.optional(),
  order_by: textList.optional(),
  page_token: text.optional(),
});
const assessmentRef = z.object({ trace_id: text, assessment_id: text });
const startV2Schema = z.object({ experiment_id: text, timestamp_ms: int64.optional() }).passthrough();
const endV2Schema = z.object({ request_id: text, timestamp_ms: int64.optional(), status: z.union([text, z.number()]).optional() }).passthrough();

function traceIdOf(input: { trace_id?: string | undefined; request_id?: string | undefined }): string {
  const id = input.trace_id || input.request_id;
  if (!id) throw missingParameter('trace_id');
  return id;
}

/** Routes both API versions share; `app` is already prefixed. */
async function sharedTraceRoutes(app: FastifyInstance, tracing: TraceService, pathParam: 'trace_id' | 'request_id'): Promise<void> {
  rpc(app, 'PATCH', `/mlflow/traces/:${pathParam}/tags`, 'write', async (fields) => {
    const input = parseFields(tagSchema, fields);
    await tracing.setTag(traceIdOf(input), input.key, input.value);
    return {};
  });
  rpc(app, 'DELETE', `/mlflow/traces/:${pathParam}/tags`, 'write', async (fields, request) => {
    // The client sends the key in the JSON body; a query string works too.
    const merged = { ...(request.query as Record<string, unknown>), ...fields };
    const input = parseFields(deleteTagSchema, merged);
    await tracing.deleteTag(traceIdOf(input), input.key);
    return {};
  });
  rpc(app, 'POST', '/mlflow/traces/delete-traces', 'delete', async (fields) => {
    const input = parseFields(deleteTracesSchema, fields);
    const traceIds = input.request_ids ?? input.trace_ids;
    const deleted = await tracing.deleteTraces({
      experimentId: input.experiment_id,
      maxTimestampMillis: input.max_timestamp_millis,
      maxTraces: input.max_traces,
      traceIds,
    });
    return { traces_deleted: deleted };
  });
  rpc(app, 'POST', '/mlflow/traces/link-to-run', 'write', async (fields) => {
    const input = parseFields(linkSchema, fields);
    await tracing.linkTracesToRun(input.trace_ids ?? [], input.run_id);
    return {};
  });
}

/** /api/3.0 (and /ajax-api/3.0) trace routes. */
export async function traceRoutesV3(app: FastifyInstance, tracing: TraceService): Promise<void> {
  rpc(app, 'POST', '/mlflow/traces', 'write', async (fields) => {
    const info = await tracing.startTrace(traceInfoInputFrom(fields));
    return { trace: { trace_info: presentTraceInfoV3(info) } };
  });
  rpc(app, 'GET', '/mlflow/traces/get', 'read', async (fields) => {
    const input = parseFields(getTraceSchema, fields);
    return { trace: presentTraceV3(await tracing.getTrace(input.trace_id, input.allow_partial ?? false)) };
  });
  rpc(app, ['GET', 'POST'], '/mlflow/traces/batchGet', 'read', async (fields) => {
    const input = parseFields(batchSchema, fields);
    const traces = await tracing.batchGetTraces(input.trace_ids ?? [], input.experiment_ids);
    return { traces: traces.map(presentTraceV3) };
  });
  rpc(app, ['GET', 'POST'], '/mlflow/traces/batchGetInfos', 'read', async (fields) => {
    const input = parseFields(batchSchema, fields);
    const infos = await tracing.batchGetTraceInfos(input.trace_ids ?? [], input.experiment_ids);
    return { trace_infos: infos.map(presentTraceInfoV3) };
  });
  rpc(app, ['POST', 'GET'], '/mlflow/traces/search', 'read', async (fields) => {
    const input = parseFields(searchV3Schema, fields);
    const locations = input.locations ?? [];
    if (locations.length === 0) throw missingParameter('locations');
    const experimentIds = locations.flatMap((l) => (l.mlflow_experiment ? [l.mlflow_experiment.experiment_id] : []));
    const result = await tracing.searchTraces({
      experimentIds,
      filter: input.filter,
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return { traces: result.traces.map(presentTraceInfoV3), ...(result.nextPageToken ? { next_page_token: result.nextPageToken } : {}) };
  });
  rpc(app, 'GET', '/mlflow/traces/:trace_id', 'read', async (fields) => {
    const input = parseFields(traceRef, fields);
    return { trace: { trace_info: presentTraceInfoV3(await tracing.getTraceInfo(traceIdOf(input))) } };
  });

  rpc(app, 'POST', '/mlflow/traces/:trace_id/assessments', 'write', async (fields) => {
    const traceId = String(fields.trace_id);
    const input = assessmentInputFrom(fields.assessment);
    if (input.traceId !== undefined && input.traceId !== traceId) {
      throw MlflowError.invalidParameter(`The assessment's trace_id '${input.traceId}' does not match the trace '${traceId}' of the URL.`);
    }
    return { assessment: presentAssessment(await tracing.assessments.create(traceId, input)) };
  });
  rpc(app, 'GET', '/mlflow/traces/:trace_id/assessments/:assessment_id', 'read', async (fields) => {
    const input = parseFields(assessmentRef, fields);
    return { assessment: presentAssessment(await tracing.assessments.get(input.trace_id, input.assessment_id)) };
  });
  rpc(app, 'PATCH', '/mlflow/traces/:trace_id/assessments/:assessment_id', 'write', async (fields) => {
    const input = parseFields(assessmentRef, fields);
    const changes = fields.assessment;
    if (!changes || typeof changes !== 'object' || Array.isArray(changes)) throw missingParameter('assessment');
    const mask = typeof fields.update_mask === 'string' ? fields.update_mask : Array.isArray((fields.update_mask as { paths?: unknown })?.paths) ? ((fields.update_mask as { paths: string[] }).paths.join(',')) : undefined;
    const updated = await tracing.assessments.update(input.trace_id, input.assessment_id, changes as Record<string, unknown>, mask);
    return { assessment: presentAssessment(updated) };
  });
  rpc(app, 'DELETE', '/mlflow/traces/:trace_id/assessments/:assessment_id', 'write', async (fields) => {
    const input = parseFields(assessmentRef, fields);
    await tracing.assessments.delete(input.trace_id, input.assessment_id);
    return {};
  });
  await sharedTraceRoutes(app, tracing, 'trace_id');
}

/** /api/2.0 (and /ajax-api/2.0) trace routes: MLflow 2.x's API. */
export async function traceRoutesV2(app: FastifyInstance, tracing: TraceService): Promise<void> {
  rpc(app, 'POST', '/mlflow/traces', 'write', async (fields) => {
    const input = parseFields(startV2Schema, fields);
    const info = await tracing.startTraceV2({
      experimentId: input.experiment_id,
      timestampMs: input.timestamp_ms ?? Date.now(),
      metadata: stringMap(fields.request_metadata, 'request_metadata'),
      tags: stringMap(fields.tags, 'tags'),
    });
    return { trace_info: presentTraceInfoV2(info) };
  });
  rpc(app, 'PATCH', '/mlflow/traces/:request_id', 'write', async (fields) => {
    const input = parseFields(endV2Schema, fields);
    const info = await tracing.endTraceV2({
      traceId: input.request_id,
      timestampMs: input.timestamp_ms ?? Date.now(),
      state: parseState(input.status, 'status'),
      metadata: stringMap(fields.request_metadata, 'request_metadata'),
      tags: stringMap(fields.tags, 'tags'),
    });
    return { trace_info: presentTraceInfoV2(info) };
  });
  rpc(app, 'GET', '/mlflow/traces/:request_id/info', 'read', async (fields) => {
    const input = parseFields(traceRef, fields);
    return { trace_info: presentTraceInfoV2(await tracing.getTraceInfo(traceIdOf(input))) };
  });
  rpc(app, 'GET', '/mlflow/traces', 'read', async (fields) => {
    const input = parseFields(searchV2Schema, fields);
    const result = await tracing.searchTraces({
      experimentIds: input.experiment_ids ?? [],
      filter: input.filter,
      maxResults: input.max_results,
      orderBy: input.order_by,
      pageToken: input.page_token,
    });
    return { traces: result.traces.map(presentTraceInfoV2), ...(result.nextPageToken ? { next_page_token: result.nextPageToken } : {}) };
  });
  await sharedTraceRoutes(app, tracing, 'request_id');
}
