import type { SourceLoggedModel, SourceRun } from '../../domain/import/source.ts';
import type { MetricRecord } from '../../store/tracking-store.ts';
import { loggedModelFromWire, metricFromWire, runFromWire, type WireLoggedModel, type WireMetric, type WireRun } from '../import/mlflow-wire.ts';
import { TrackingApiError } from '../models/tracking-client.ts';
import { type ExportContext, SOURCE_MODEL_TAG, SOURCE_RUN_TAG } from './export-context.ts';

/**
 * What the target already holds of an earlier export, read back through its own REST API each
 * time (so several people or machines exporting into one target agree on it): runs and logged
 * models found by their export tag (or, for objects that came from this target in the first place
 * and kept their ids, by id), metric histories and file listings.
 */

const RUNS_PAGE = 1000;
const MODELS_PAGE = 100;
const HISTORY_PAGE = 25_000;
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

/** A target object, with the id it has there. */
export interface Found<T> {
  targetId: string;
  record: T;
}

/**
 * Every run of a target experiment, deleted ones included, by the Trove run id it was exported
 * from; runs another source exported (another Trove, or another project: a different
 * `trove.source_store`) are left out unless `otherSources`, so they are neither updated nor
 * judged gone (with `otherSources` they are keyed by their target id).
 */
export async function targetRuns(ctx: ExportContext, experimentId: string, options: { otherSources?: boolean } = {}): Promise<Map<string, Found<SourceRun>>> {
  const bySource = new Map<string, Found<SourceRun>>();
  const byId = new Map<string, Found<SourceRun>>();
  let pageToken: string | undefined;
  do {
    const page = await ctx.post<{ runs?: WireRun[]; next_page_token?: string }>('runs/search', {
      experiment_ids: [experimentId],
      run_view_type: 'ALL',
      max_results: RUNS_PAGE,
      ...(pageToken ? { page_token: pageToken } : {}),
    });
    for (const wire of page.runs ?? []) {
      const run = runFromWire(wire);
      const found = { targetId: run.info.runId, record: run };
      const from = run.tags.find((t) => t.key === SOURCE_RUN_TAG)?.value;
      if (from && ctx.ownership(run.tags) === 'other') {
        if (options.otherSources) byId.set(run.info.runId, found);
      } else if (from) bySource.set(from, found);
      else byId.set(run.info.runId, found);
    }
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  for (const [id, found] of byId) if (!bySource.has(id)) bySource.set(id, found);
  return bySource;
}

/** The logged models of target experiments, by the Trove model id they were exported from. */
export async function targetLoggedModels(ctx: ExportContext, experimentIds: string[]): Promise<Map<string, Found<SourceLoggedModel>>> {
  const bySource = new Map<string, Found<SourceLoggedModel>>();
  if (experimentIds.length === 0) return bySource;
  let pageToken: string | undefined;
  try {
    do {
      const page = await ctx.post<{ models?: WireLoggedModel[]; next_page_token?: string }>('logged-models/search', {
        experiment_ids: experimentIds,
        max_results: MODELS_PAGE,
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      for (const wire of page.models ?? []) {
        const model = loggedModelFromWire(wire);
        const from = model.tags.find((t) => t.key === SOURCE_MODEL_TAG)?.value ?? model.modelId;
        if (!bySource.has(from)) bySource.set(from, { targetId: model.modelId, record: model });
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  } catch (error) {
    // An MLflow 2.x target has no logged models: nothing of an earlier export to find.
    if (error instanceof TrackingApiError && error.status === 404) return bySource;
    throw error;
  }
  return bySource;
}

/** Every point of one metric of a target run. */
export async function targetHistory(ctx: ExportContext, runId: string, key: string): Promise<MetricRecord[]> {
  const points: MetricRecord[] = [];
  let pageToken: string | undefined;
  do {
    const page = await ctx.get<{ metrics?: WireMetric[]; next_page_token?: string }>('metrics/get-history', {
      run_id: runId,
      metric_key: key,
      max_results: String(HISTORY_PAGE),
      ...(pageToken ? { page_token: pageToken } : {}),
    });
    for (const m of page.metrics ?? []) points.push(metricFromWire(m));
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return points;
}

/** Every file below a path of the target's artifact proxy, with its size, by path relative to it. */
export async function targetFiles(ctx: ExportContext, base: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const walk = async (relative: string): Promise<void> => {
    const listed = await ctx.retry(
      () => ctx.client.get<{ files?: Array<{ path: string; is_dir?: boolean; file_size?: number | string }> }>(ARTIFACTS, { path: relative === '' ? base : `${base}/${relative}` }),
      true,
    );
    for (const f of listed.files ?? []) {
      const child = relative === '' ? f.path : `${relative}/${f.path}`;
      if (f.is_dir) await walk(child);
      else seen.set(child, Number(f.file_size));
    }
  };
  await walk('');
  return seen;
}
