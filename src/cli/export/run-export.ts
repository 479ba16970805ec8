import type { MigrationSource, SourceRun } from '../../domain/import/source.ts';
import type { KeyValue } from '../../store/tracking-store.ts';
import { type ExportContext, pointKey, SOURCE_RUN_TAG, SOURCE_STORE_TAG } from './export-context.ts';
import { copyFiles } from './file-export.ts';
import { type Found, targetHistory } from './target-state.ts';

/** MLflow's log-batch limits: 1000 metrics, 100 params, 100 tags per request. */
const METRICS_PER_BATCH = 1000;
const PARAMS_PER_BATCH = 100;
const TAGS_PER_BATCH = 100;

interface WireRunInfo {
  run_id: string;
  artifact_uri: string;
}

/**
 * Creates a run in the target, marked with the Trove run id it comes from ({@link SOURCE_RUN_TAG})
 * and this source's identity ({@link SOURCE_STORE_TAG}) in the same request, so an export killed
 * right after finds and finishes it next time.
 */
export async function createRun(ctx: ExportContext, run: SourceRun, experimentId: string): Promise<{ runId: string; artifactUri: string }> {
  const created = await ctx.post<{ run: { info: WireRunInfo } }>('runs/create', {
    experiment_id: experimentId,
    user_id: run.info.userId,
    start_time: run.info.startTime,
    run_name: run.info.runName,
    tags: [
      { key: SOURCE_RUN_TAG, value: run.info.runId },
      { key: SOURCE_STORE_TAG, value: ctx.sourceStore },
    ],
  });
  return { runId: created.run.info.run_id, artifactUri: created.run.info.artifact_uri };
}

/**
 * Brings a target run up to its Trove run. For a run just created everything is sent; for one an
 * earlier (or interrupted) export made (`existing`), only what the target lacks: params and tags
 * it does not have with these values, the points of each metric whose latest point differs that
 * are not in its history, dataset inputs it does not list, files missing or of another size, and
 * the status, end time, name and deleted state when they differ. @returns whether anything was written
 */
export async function fillRun(ctx: ExportContext, source: MigrationSource, run: SourceRun, runId: string, targetRoot: string, existing: Found<SourceRun> | undefined): Promise<boolean> {
  const have = existing?.record;
  // Reads first, writes collected: MLflow writes nothing into a deleted run, so a deleted target
  // run that needs something is restored for the writes (and deleted again after).
  const writes: Array<() => Promise<unknown>> = [];
  const params = missing(run.params, have?.params);
  // A run an earlier export made before runs carried the source's mark (it has this run's id) gets it now.
  const adopt = have !== undefined && have.tags.some((t) => t.key === SOURCE_RUN_TAG) && ctx.ownership(have.tags) === 'unmarked';
  const tags = missing([...ctx.remapTags(run.tags), ...(adopt ? [{ key: SOURCE_STORE_TAG, value: ctx.sourceStore }] : [])], have?.tags);
  // Params and tags share log-batch requests (each within its own limit): one request per run
  // where two were sent, the target's per-request cost being most of a small run's export.
  for (let i = 0; i * PARAMS_PER_BATCH < params.length || i * TAGS_PER_BATCH < tags.length; i++) {
    const paramPart = params.slice(i * PARAMS_PER_BATCH, (i + 1) * PARAMS_PER_BATCH);
    const tagPart = tags.slice(i * TAGS_PER_BATCH, (i + 1) * TAGS_PER_BATCH);
    writes.push(() => ctx.post('runs/log-batch', { run_id: runId, ...(paramPart.length > 0 ? { params: paramPart } : {}), ...(tagPart.length > 0 ? { tags: tagPart } : {}) }));
  }

  let pointsSent = 0;
  const counted = (n: number) => {
    ctx.totals.metricPoints += n;
    ctx.progress.points(n);
    pointsSent += n;
  };
  // With --target-db the run's points are buffered into transactions of several metrics each.
  const dbWriter = ctx.metricsDb?.runWriter(runId);
  const latestThere = new Map((have?.latestMetrics ?? []).map((m) => [m.key, pointKey(m)]));
  const metricWrites: Array<() => Promise<unknown>> = [];
  for (const latest of run.latestMetrics) {
    if (latestThere.get(latest.key) === pointKey(latest)) continue;
    const key = latest.key;
    metricWrites.push(async () => {
      let points = await source.metricHistory(run.info.runId, key);
      if (latestThere.has(key)) {
        const there = new Set((ctx.metricsDb ? await ctx.metricsDb.history(runId, key) : await targetHistory(ctx, runId, key)).map(pointKey));
        points = points.filter((p) => !there.has(pointKey(p)));
      }
      // With --target-db the points go straight into the target's database, but those of a logged
      // model (MLflow 3 also files them under the model): through log-batch, as without it.
      const viaApi = dbWriter ? points.filter((p) => p.modelId) : points;
      if (dbWriter && viaApi.length < points.length) counted(await dbWriter.add(key, viaApi.length === 0 ? points : points.filter((p) => !p.modelId)));
      for (let i = 0; i < viaApi.length; i += METRICS_PER_BATCH) {
        await ctx.post('runs/log-batch', { run_id: runId, metrics: viaApi.slice(i, i + METRICS_PER_BATCH).map((p) => ctx.wireMetric(key, p)) });
      }
      counted(viaApi.length);
    });
  }

  if (dbWriter && metricWrites.length > 0) metricWrites.push(async () => counted(await dbWriter.flush()));

  const listed = new Set((have?.datasetInputs ?? []).map((d) => `${d.dataset.name}\n${d.dataset.digest}`));
  const inputs = run.datasetInputs.filter((d) => !listed.has(`${d.dataset.name}\n${d.dataset.digest}`));
  if (inputs.length > 0) {
    writes.push(() =>
      ctx.post('runs/log-inputs', {
        run_id: runId,
        datasets: inputs.map((d) => ({
          tags: d.tags,
          dataset: {
            name: d.dataset.name,
            digest: d.dataset.digest,
            source_type: d.dataset.sourceType,
            source: d.dataset.source,
            ...(d.dataset.schema ? { schema: d.dataset.schema } : {}),
            ...(d.dataset.profile ? { profile: d.dataset.profile } : {}),
          },
        })),
      }),
    );
  }
  const info = run.info;
  const last: Array<() => Promise<unknown>> = [];
  if (!have || have.info.status !== info.status || have.info.endTime !== info.endTime || have.info.runName !== info.runName) {
    last.push(() => ctx.post('runs/update', { run_id: runId, status: info.status, ...(info.endTime !== null ? { end_time: info.endTime } : {}), run_name: info.runName }));
  }

  // Files go through the artifact proxy, which does not look at the run's state.
  const sentFiles = await copyFiles(ctx, source, info.artifactUri, { kind: 'run', id: info.runId }, targetRoot, `run ${info.runId}`, existing !== undefined);
  let deletedThere = have?.info.lifecycleStage === 'deleted';
  if (writes.length + metricWrites.length + last.length > 0 && deletedThere) {
    await ctx.post('runs/restore', { run_id: runId });
    deletedThere = false;
  }
  // The status last: a run the target shows finished has everything.
  for (const write of [...writes, ...metricWrites, ...last]) await write();
  let changedState = false;
  if (info.lifecycleStage === 'deleted' && !deletedThere) {
    await ctx.post('runs/delete', { run_id: runId });
    changedState = have?.info.lifecycleStage !== 'deleted';
  } else if (info.lifecycleStage !== 'deleted' && deletedThere) {
    await ctx.post('runs/restore', { run_id: runId });
    changedState = true;
  }
  return writes.length + last.length > 0 || pointsSent > 0 || sentFiles || changedState;
}

/** The key/values the target does not hold with the same value. */
function missing(wanted: KeyValue[], there: KeyValue[] | undefined): KeyValue[] {
  if (!there) return wanted;
  const have = new Map(there.map((t) => [t.key, t.value]));
  return wanted.filter((t) => have.get(t.key) !== t.value);
}
