import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../domain/services.ts';
import { int64, parseFields, text, textList, viewType, idList } from './request-schema.ts';
import { rpc } from './rpc.ts';

const downsampledSchema = z.object({
  run_ids: textList,
  metric_key: text,
  x_axis: text.optional(),
  start: int64.optional(),
  end: int64.optional(),
  max_buckets: int64.optional(),
});

const runCountsSchema = z.object({ experiment_ids: idList, view_type: viewType.optional() });

/** JSON numbers cannot hold ±Infinity; they travel as MLflow spells them. */
function wireNumber(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/**
 * Trove's own UI endpoints (not part of MLflow's API), relative to /ajax-api/2.0/trove or
 * /api/2.0/trove. Documented in docs/api-trove.md.
 */
export async function troveUiRoutes(app: FastifyInstance, { tracking }: Services): Promise<void> {
  rpc(app, 'GET', '/experiments/run-counts', 'read', async (fields) => {
    const input = parseFields(runCountsSchema, fields);
    return { counts: await tracking.countRuns(input.experiment_ids, input.view_type ?? 'ACTIVE_ONLY') };
  });

  rpc(app, 'GET', '/metrics/history-downsampled', 'read', async (fields) => {
    const input = parseFields(downsampledSchema, fields);
    const series = await tracking.getMetricSeriesDownsampled({
      runIds: input.run_ids,
      key: input.metric_key,
      xAxis: input.x_axis,
      start: input.start,
      end: input.end,
      maxBuckets: input.max_buckets,
    });
    return {
      metric_key: input.metric_key,
      x_axis: input.x_axis ?? 'step',
      series: series.map((s) => ({
        run_id: s.runId,
        total_points: s.totalPoints,
        bucketed: s.bucketed,
        x: s.x,
        x_end: s.xEnd,
        min: s.min.map(wireNumber),
        max: s.max.map(wireNumber),
        count: s.count,
      })),
    };
  });
}
