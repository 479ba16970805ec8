import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../domain/errors.ts';
import type { Services } from '../domain/services.ts';
import { LIMITS } from '../domain/tracking/validation.ts';
import { presentHistoryPoint, presentMetric } from './presenters.ts';
import { int64, parseFields, text, textList } from './request-schema.ts';
import { rpc } from './rpc.ts';
import { runIdOf } from './runs.routes.ts';

const historySchema = z.object({
  run_id: text.optional(),
  run_uuid: text.optional(),
  metric_key: text,
  page_token: text.optional(),
  max_results: int64.optional(),
});
const bulkIntervalSchema = z.object({
  run_ids: textList,
  metric_key: text,
  start_step: int64.optional(),
  end_step: int64.optional(),
  max_results: int64.optional(),
});
const bulkSchema = z.object({ run_id: textList.optional(), metric_key: text.optional(), max_results: int64.optional() });

/** Metric history RPCs, relative to /api/2.0 or /ajax-api/2.0. */
export async function metricRoutes(app: FastifyInstance, { tracking }: Services): Promise<void> {
  rpc(app, 'GET', '/mlflow/metrics/get-history', 'read', async (fields) => {
    const input = parseFields(historySchema, fields);
    const page = await tracking.getMetricHistory({
      runId: runIdOf(input),
      key: input.metric_key,
      maxResults: input.max_results,
      pageToken: input.page_token,
    });
    return {
      metrics: page.items.map(presentHistoryPoint),
      ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
    };
  });

  rpc(app, 'GET', '/mlflow/metrics/get-history-bulk-interval', 'read', async (fields) => {
    const input = parseFields(bulkIntervalSchema, fields);
    const metrics = await tracking.getMetricHistoryBulkInterval({
      runIds: input.run_ids,
      key: input.metric_key,
      startStep: input.start_step,
      endStep: input.end_step,
      maxResults: input.max_results,
    });
    return { metrics: metrics.map(presentMetric) };
  });

  // The UI's variant: full histories of several runs, each point tagged with its run, runs in id
  // order and each history in (timestamp, step, value) order, at most max_results points in all.
  rpc(app, 'GET', '/mlflow/metrics/get-history-bulk', 'read', async (fields) => {
    const input = parseFields(bulkSchema, fields);
    const runIds = input.run_id ?? [];
    if (runIds.length === 0) throw MlflowError.invalidParameter('GetMetricHistoryBulk request must specify at least one run_id.');
    if (runIds.length > LIMITS.bulkIntervalRuns) {
      throw MlflowError.invalidParameter(
        `GetMetricHistoryBulk request cannot specify more than ${LIMITS.bulkIntervalRuns} run_ids. Received ${runIds.length} run_ids.`,
      );
    }
    if (input.metric_key === undefined) throw MlflowError.invalidParameter('GetMetricHistoryBulk request must specify a metric_key.');
    const maxResults = Math.min(input.max_results ?? LIMITS.metricHistoryMaxResults, LIMITS.metricHistoryMaxResults);
    const metrics = [];
    for (const runId of [...runIds].sort()) {
      const page = await tracking.getMetricHistory({ runId, key: input.metric_key, maxResults });
      const points = [...page.items].sort((a, b) => a.timestamp - b.timestamp || a.step - b.step || a.value - b.value);
      metrics.push(...points.map((m) => presentMetric({ ...m, runId })));
    }
    return { metrics: metrics.slice(0, maxResults) };
  });
}
