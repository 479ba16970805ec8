import type { ImportProgress } from '../../domain/import/import-service.ts';
import { forEachConcurrent } from '../../domain/import/pool.ts';
import type { MigrationSource, SourceExperiment, SourceLoggedModel, SourceRun } from '../../domain/import/source.ts';
import { TrackingApiError } from '../models/tracking-client.ts';
import { ExportContext, SOURCE_EXPERIMENT_TAG, SOURCE_RUN_TAG, SOURCE_STORE_TAG, type ExportToServerTotals } from './export-context.ts';
import { exportLoggedModel } from './logged-model-export.ts';
import { exportRegistry } from './registry-export.ts';
import { createRun, fillRun } from './run-export.ts';
import { type Found, targetLoggedModels, targetRuns } from './target-state.ts';
import { exportTrace, targetTraceInfos, traceUpToDate, TracingUnsupportedError } from './trace-export.ts';
import type { TraceInfoInput } from '../../domain/tracing/trace-service.ts';
import { MlflowDbRefusedError } from '../mlflow-db.ts';
import type { MlflowMetricsTarget } from './mlflow-db-metrics.ts';

export type { ExportToServerTotals } from './export-context.ts';

interface RunJob {
  run: SourceRun;
  experimentId: string;
  /** The target run an earlier export made, if any. */
  existing: Found<SourceRun> | undefined;
  targetId?: string;
  targetRoot?: string;
}

/**
 * Writes what a {@link MigrationSource} holds into an MLflow tracking server through its REST API
 * (`trove export --to`): experiments (matched by name when the target has them), runs with their
 * params, tags and the full history of every metric (log-batch), inputs, files through the
 * target's artifact proxy, logged models, registered models with their versions (numbers kept),
 * stages, aliases and tags, and traces. MLflow mints run and logged model ids itself: the mapping
 * is returned, and parent-run tags, versions' run ids and `runs:/`/`models:/` sources follow it.
 *
 * Idempotent and resumable: runs and logged models are marked in the target with the Trove id
 * they come from, and what the target already holds is read back first, so a second export (or
 * one resumed after a kill) writes only what is new or changed and duplicates nothing.
 */
export class MlflowRestWriter {
  private readonly ctx: ExportContext;

  /**
   * `sourceStore`: this source's identity (`exportSourceIdentity`), marked on the runs and
   * experiments the export creates; only runs and experiments with this mark are updated or judged
   * gone, so several Troves (or projects) can export into one target, one experiment name included.
   * `deleteMissing`: what an earlier export made in the target and Trove no longer has at all (runs
   * purged by `trove gc`, registered models, versions and aliases deleted) is deleted there too.
   * `metricsDb` (`--target-db`): the target server's own database, into which the metric
   * histories are written instead of through log-batch (src/cli/export/mlflow-db-metrics.ts).
   */
  constructor(
    trackingUri: string,
    progress: ImportProgress,
    concurrency: number,
    env: NodeJS.ProcessEnv,
    private readonly options: { sourceStore: string; deleteMissing?: boolean; metricsDb?: MlflowMetricsTarget },
  ) {
    this.ctx = new ExportContext(trackingUri, progress, concurrency, env, options.sourceStore, options.metricsDb);
  }

  async write(source: MigrationSource): Promise<ExportToServerTotals> {
    const { ctx } = this;
    const experiments: SourceExperiment[] = [];
    for await (const e of source.experiments()) experiments.push(e);
    const runs: RunJob[] = [];
    const experimentIds = new Map<string, string>();
    /** Target runs an earlier export of this source made (tagged) whose Trove run is gone for good. */
    const purged: string[] = [];
    /** The same, but made before exports marked their source: maybe another Trove's, never deleted. */
    let unmarkedGone = 0;

    ctx.progress.phase('experiments', { items: experiments.length });
    for (const e of experiments) {
      try {
        const { id, deleted, tags } = await this.experiment(e);
        experimentIds.set(e.experimentId, id);
        // Read before a deleted experiment is restored for the writes (restoring it restores its runs).
        const there = await targetRuns(ctx, id);
        if (deleted) await ctx.post('experiments/restore', { experiment_id: id });
        for (const tag of e.tags) {
          // Markers the Trove experiment carries from an earlier trip through MLflow are not copied: the target's own mark it.
          if (tag.key !== SOURCE_EXPERIMENT_TAG && tag.key !== SOURCE_STORE_TAG && tags.get(tag.key) !== tag.value) await ctx.post('experiments/set-experiment-tag', { experiment_id: id, key: tag.key, value: tag.value });
        }
        let known = 0;
        let runCount = 0;
        const inTrove = new Set<string>();
        for await (const run of source.runs(e.experimentId)) {
          runCount++;
          inTrove.add(run.info.runId);
          const existing = there.get(run.info.runId);
          if (existing) known++;
          runs.push({ run, experimentId: id, existing });
        }
        for (const [from, found] of there) {
          const tagged = found.record.tags.some((t) => t.key === SOURCE_RUN_TAG && t.value === from);
          if (!tagged || inTrove.has(from) || found.record.info.lifecycleStage === 'deleted') continue;
          if (ctx.ownership(found.record.tags) === 'ours') purged.push(found.targetId);
          else unmarkedGone++;
        }
        if (known === 0) this.firstExport.add(id);
        if (e.name !== 'Default' && known === 0 && runCount > 0 && this.preexisting.has(id)) {
          ctx.warn(`Experiment '${e.name}' was already in the target (id ${id}) with no run exported from this Trove before; the runs were added to it.`);
        }
      } catch (error) {
        ctx.fail(`experiment '${e.name}'`, error);
      }
      ctx.progress.item();
    }
    ctx.progress.endPhase();

    // Runs are created first (ids are needed for parent tags and logged models), then filled.
    ctx.progress.phase('creating runs', { items: runs.filter((r) => !r.existing).length });
    await forEachConcurrent(runs, ctx.concurrency, async (job) => {
      const { run } = job;
      try {
        if (job.existing) {
          job.targetId = job.existing.targetId;
          job.targetRoot = job.existing.record.info.artifactUri;
        } else {
          const created = await createRun(ctx, run, job.experimentId);
          job.targetId = created.runId;
          job.targetRoot = created.artifactUri;
          ctx.progress.item();
        }
        ctx.runIds.set(run.info.runId, job.targetId);
        ctx.roots.push({ id: run.info.runId, newId: job.targetId, sourceRoot: run.info.artifactUri, targetRoot: job.targetRoot });
        ctx.map('run', run.info.runId, job.targetId);
      } catch (error) {
        ctx.fail(`run ${run.info.runId}`, error);
      }
    });
    ctx.progress.endPhase();

    if (ctx.metricsDb) await this.checkTargetDb(ctx.metricsDb, runs);

    await this.loggedModels(source, experimentIds);

    ctx.progress.phase('runs', { items: runs.length });
    await forEachConcurrent(runs, ctx.concurrency, async (job) => {
      try {
        if (job.targetId !== undefined) {
          const wrote = await fillRun(ctx, source, job.run, job.targetId, job.targetRoot!, job.existing);
          if (!job.existing) ctx.totals.runs++;
          else if (wrote) ctx.totals.runsUpdated++;
          else ctx.totals.runsUnchanged++;
        }
      } catch (error) {
        ctx.fail(`run ${job.run.info.runId}`, error);
      }
      ctx.progress.item();
    });
    ctx.progress.endPhase();

    await this.traces(source, experimentIds);

    if (purged.length > 0) {
      if (this.options.deleteMissing) {
        for (const runId of purged) {
          await ctx.post('runs/delete', { run_id: runId }).then(
            () => ctx.totals.runsDeleted++,
            (error: unknown) => ctx.fail(`run ${runId} (target)`, error),
          );
        }
      } else {
        ctx.warn(`${purged.length} run(s) in the target came from an earlier export of Trove runs that are gone for good (trove gc); they were kept. Run again with --delete-missing to delete them there too.`);
      }
    }
    if (unmarkedGone > 0 && this.options.deleteMissing) {
      ctx.warn(`${unmarkedGone} run(s) in the target were exported before exports marked their source (no ${SOURCE_STORE_TAG} tag) and this Trove no longer has them: kept, as another Trove may have exported them. Delete them by hand if they came from here.`);
    }

    // Deleted experiments last: MLflow does not take runs (or traces) into a deleted experiment.
    for (const e of experiments) {
      const id = experimentIds.get(e.experimentId);
      if (id !== undefined && e.lifecycleStage === 'deleted' && id !== '0') await ctx.post('experiments/delete', { experiment_id: id }).catch((error: unknown) => ctx.fail(`experiment '${e.name}'`, error));
    }

    // Only after every experiment was read: a failed one is not judged gone.
    if (!ctx.totals.failures.some((f) => f.what.startsWith('experiment '))) await this.experimentsGoneFromTrove(experiments, experimentIds);

    await exportRegistry(ctx, source, this.options.deleteMissing === true);
    for (const w of source.warnings) ctx.warn(w);
    return ctx.totals;
  }

  /**
   * Experiments an earlier export created in the target (tagged {@link SOURCE_EXPERIMENT_TAG}) whose
   * Trove experiment is gone for good (`trove gc`): deleted there with `--delete-missing` (MLflow
   * marks them and their runs deleted), otherwise counted in a warning. Only experiments marked with
   * this source's identity are judged; an experiment the export found by name, or one that holds a
   * run this source's exports did not make, is never deleted.
   */
  private async experimentsGoneFromTrove(experiments: SourceExperiment[], experimentIds: Map<string, string>): Promise<void> {
    const { ctx } = this;
    const inTrove = new Set(experiments.map((e) => e.experimentId));
    const matched = new Set(experimentIds.values());
    const gone: Array<{ id: string; name: string }> = [];
    const unmarked: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await ctx.post<{ experiments?: Array<{ experiment_id: string; name: string; lifecycle_stage: string; tags?: Array<{ key: string; value: string }> }>; next_page_token?: string }>(
        'experiments/search',
        { view_type: 'ALL', max_results: 1000, ...(pageToken ? { page_token: pageToken } : {}) },
      );
      for (const e of page.experiments ?? []) {
        const from = e.tags?.find((t) => t.key === SOURCE_EXPERIMENT_TAG)?.value;
        if (from === undefined || inTrove.has(from) || matched.has(e.experiment_id) || e.lifecycle_stage === 'deleted') continue;
        const owner = ctx.ownership(e.tags);
        if (owner === 'ours') gone.push({ id: e.experiment_id, name: e.name });
        else if (owner === 'unmarked') unmarked.push(e.name);
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    if (unmarked.length > 0 && this.options.deleteMissing) {
      ctx.warn(`${unmarked.length} experiment(s) in the target were created by an export made before exports marked their source (no ${SOURCE_STORE_TAG} tag) from an experiment id this Trove no longer has: ${unmarked.map((n) => `'${n}'`).join(', ')}; kept, as another Trove may have created them.`);
    }
    if (gone.length === 0) return;
    if (!this.options.deleteMissing) {
      ctx.warn(`${gone.length} experiment(s) in the target were created by an earlier export from Trove experiments that are gone for good (trove gc): ${gone.map((e) => `'${e.name}'`).join(', ')}; they were kept. Run again with --delete-missing to delete them there too.`);
      return;
    }
    for (const e of gone) {
      try {
        const runs = await targetRuns(ctx, e.id, { otherSources: true });
        const foreign = [...runs.values()].filter((r) => !r.record.tags.some((t) => t.key === SOURCE_RUN_TAG) || ctx.ownership(r.record.tags) !== 'ours');
        if (foreign.length > 0) {
          ctx.warn(`Experiment '${e.name}' (id ${e.id}) in the target came from a Trove experiment gone for good, but holds ${foreign.length} run(s) the export did not make: kept.`);
          continue;
        }
        await ctx.post('experiments/delete', { experiment_id: e.id });
        ctx.totals.experimentsDeleted++;
      } catch (error) {
        ctx.fail(`experiment '${e.name}' (target)`, error);
      }
    }
  }

  /**
   * `--target-db` must be the target server's own database: every run the export created or found
   * there through the API must be in its `runs` table. Checked before any point is written; a
   * database of another server stops the export here (the runs just created stay, empty, and are
   * completed by the next export with the right database).
   */
  private async checkTargetDb(db: MlflowMetricsTarget, runs: RunJob[]): Promise<void> {
    const ids = runs.map((r) => r.targetId).filter((id): id is string => id !== undefined);
    const missing = await db.missingRuns(ids);
    if (missing.length === 0) return;
    throw new MlflowDbRefusedError(
      `${missing.length} of the ${ids.length} runs in the target (e.g. ${missing[0]}) are not in the database ${db.description}: --target-db must be the target server's own --backend-store-uri. ` +
        'No metric point was written (runs and experiments were created through the API; an export with the right database completes them).',
    );
  }

  /** Target experiments holding no run of an earlier export of this Trove. */
  private readonly firstExport = new Set<string>();

  /** Target experiments that existed before this export touched them (found by name, not created). */
  private readonly preexisting = new Set<string>();

  /**
   * The target experiment of a Trove one (found by name, else created) and the tags it has.
   * A deleted one is restored by the caller for the export's writes (an experiment deleted in Trove
   * is deleted again at the end).
   */
  private async experiment(e: SourceExperiment): Promise<{ id: string; deleted: boolean; tags: Map<string, string> }> {
    const { ctx } = this;
    let id: string | undefined;
    let deleted = false;
    let tags: Map<string, string> = new Map();
    try {
      const found = await ctx.get<{ experiment: { experiment_id: string; lifecycle_stage: string; tags?: Array<{ key: string; value: string }> } }>('experiments/get-by-name', { experiment_name: e.name });
      id = found.experiment.experiment_id;
      tags = new Map((found.experiment.tags ?? []).map((t) => [t.key, t.value]));
      deleted = found.experiment.lifecycle_stage === 'deleted';
      this.preexisting.add(id);
    } catch (error) {
      if (!(error instanceof TrackingApiError) || error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw error;
    }
    if (id === undefined) {
      id = (await ctx.post<{ experiment_id: string }>('experiments/create', {
          name: e.name,
          tags: [
            { key: SOURCE_EXPERIMENT_TAG, value: e.experimentId },
            { key: SOURCE_STORE_TAG, value: ctx.sourceStore },
          ],
        })).experiment_id;
      ctx.totals.experiments++;
    }
    if (id !== e.experimentId) ctx.map('experiment', e.experimentId, id);
    return { id, deleted, tags };
  }

  private async loggedModels(source: MigrationSource, experimentIds: Map<string, string>): Promise<void> {
    const { ctx } = this;
    const models: SourceLoggedModel[] = [];
    for await (const m of source.loggedModels([...experimentIds.keys()])) models.push(m);
    if (models.length === 0) return;
    const there = await targetLoggedModels(ctx, [...new Set(models.map((m) => experimentIds.get(m.experimentId)).filter((id): id is string => id !== undefined))]);
    ctx.progress.phase('logged models', { items: models.length });
    await forEachConcurrent(models, ctx.concurrency, async (model) => {
      try {
        const experimentId = experimentIds.get(model.experimentId);
        if (experimentId !== undefined) {
          const existing = there.get(model.modelId);
          // MLflow's search leaves deleted logged models out: one deleted in Trove is created (and
          // deleted) only by the first export into its experiment, not again by every later one.
          if (!existing && model.lifecycleStage === 'deleted' && !this.firstExport.has(experimentId)) {
            ctx.totals.loggedModelsUnchanged++;
          } else {
            const wrote = await exportLoggedModel(ctx, source, model, experimentId, existing);
            if (!existing || wrote) ctx.totals.loggedModels++;
            else ctx.totals.loggedModelsUnchanged++;
          }
        }
      } catch (error) {
        ctx.fail(`logged model ${model.modelId}`, error);
      }
      ctx.progress.item();
    });
    ctx.progress.endPhase();
  }

  /**
   * Every trace of the exported experiments, into the experiment each now has in the target. A
   * target without tracing routes (404) gets no traces and a warning, once.
   */
  private async traces(source: MigrationSource, experimentIds: Map<string, string>): Promise<void> {
    const { ctx } = this;
    if (!source.traceIds || !source.trace) return;
    const ids: Array<{ traceId: string; experimentId: string }> = [];
    for (const [from, to] of experimentIds) {
      // What the target holds is listed once per experiment (lazily: only when the source has traces there).
      let there: Map<string, TraceInfoInput> | undefined;
      let pageToken: string | undefined;
      do {
        const page = await source.traceIds(from, pageToken);
        const infos = new Map((page.infos ?? []).map((i) => [i.traceId, i]));
        for (const traceId of page.traceIds) {
          const info = infos.get(traceId);
          if (info) {
            there ??= await targetTraceInfos(ctx.client, (work, repeatable = true) => ctx.retry(work, repeatable), to);
            const held = there.get(traceId);
            const upToDate = held ? traceUpToDate(info, held, to) : undefined;
            if (upToDate) {
              ctx.totals.tracesUnchanged++;
              for (const a of upToDate.assessments) ctx.map('assessment', a.from, a.to);
              continue;
            }
          }
          ids.push({ traceId, experimentId: to });
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
    }
    if (ids.length === 0) return;
    let unsupported = false;
    ctx.progress.phase('traces', { items: ids.length });
    await forEachConcurrent(ids, ctx.concurrency, async ({ traceId, experimentId }) => {
      try {
        if (unsupported) return;
        const trace = await source.trace!(traceId);
        const written = await exportTrace(ctx.client, (work, repeatable = true) => ctx.retry(work, repeatable), trace, experimentId, ctx.runIds);
        if (written.wrote) ctx.totals.traces++;
        else ctx.totals.tracesUnchanged++;
        ctx.totals.assessments += written.createdAssessments;
        if (written.traceId !== traceId) ctx.map('trace', traceId, written.traceId);
        for (const a of written.assessments) ctx.map('assessment', a.from, a.to);
      } catch (error) {
        if (error instanceof TracingUnsupportedError) {
          unsupported = true;
          ctx.warn(`The target has no tracing routes (HTTP 404 on ${error.message.includes('/v1/traces') ? '/v1/traces' : '/api/3.0/mlflow/traces'}): ${ids.length} trace(s) were not exported (MLflow 3 servers take them).`);
        } else {
          ctx.fail(`trace ${traceId}`, error);
        }
      } finally {
        ctx.progress.item();
      }
    });
    ctx.progress.endPhase();
  }
}
