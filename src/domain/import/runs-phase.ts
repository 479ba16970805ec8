import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import type { ImportPlan, RunPlan } from './import-plan.ts';
import { ImportPhase, PENDING, remapTags, type ArtifactRootMapping, type ImportOptions } from './import-phase.ts';
import { forEachConcurrent } from './pool.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

const METRIC_BATCH = 20_000;

/** Runs, with params, tags, inputs, every metric point and their files. */
export class RunsPhase extends ImportPhase {
  /** Imports the runs of the imported experiments; each run's artifact roots are added to `roots`. */
  async importRuns(source: MigrationSource, plan: ImportPlan, experimentIds: Map<string, string>, options: ImportOptions, report: ImportReport, roots: ArtifactRootMapping[]): Promise<void> {
    const runs = plan.experiments.flatMap((e) => (experimentIds.has(e.source.experimentId) ? e.runs.map((r) => ({ run: r, experimentId: experimentIds.get(e.source.experimentId)! })) : []));
    this.progress.phase('runs', { items: runs.length });
    await forEachConcurrent(runs, options.concurrency, async ({ run, experimentId }) => {
      try {
        if (run.status === 'unchanged') {
          const existing = await this.targets.tracking.getRunInfo(run.targetId);
          // Files can be added to a finished run without changing anything else about it: the
          // listings are compared, and what is missing or has another size is copied (unless the
          // run was imported with --skip-artifacts and points at a location Trove does not serve).
          const copied = existing && !options.skipArtifacts && proxyPathFromArtifactUri(existing.artifactUri) !== undefined
            ? await this.copyTree(source, run.source.info.artifactUri, { kind: 'run', id: run.source.info.runId }, existing.artifactUri, report, `run ${run.source.info.runId}`)
            : 0;
          report.count('runs', copied > 0 ? 'updated' : 'unchanged');
          if (existing) roots.push({ id: run.source.info.runId, sourceRoot: run.source.info.artifactUri, targetRoot: existing.artifactUri });
        } else {
          const targetRoot = await this.importRun(source, run, experimentId, plan, options, report);
          roots.push({ id: run.source.info.runId, sourceRoot: run.source.info.artifactUri, targetRoot });
          report.count('runs', run.status === 'new' ? 'created' : 'updated');
        }
      } catch (error) {
        report.fail('runs', run.source.info.runId, error);
        this.progress.note(`run ${run.source.info.runId} failed: ${(error as Error).message}`);
      }
      this.progress.item();
    });
    this.progress.endPhase();
  }

  /** @returns the run's artifact root in Trove */
  private async importRun(source: MigrationSource, plan: RunPlan, experimentId: string, importPlan: ImportPlan, options: ImportOptions, report: ImportReport): Promise<string> {
    const { tracking, imports } = this.targets;
    const run = plan.source;
    const experiment = await tracking.getExperiment(experimentId);
    if (!experiment) throw new Error(`experiment ${experimentId} vanished during the import`);
    let info = await tracking.getRunInfo(plan.targetId);
    if (!info) {
      // Claimed before anything is written: a run interrupted halfway is ours to finish next time.
      await imports.putState(source.key, { kind: 'run', sourceId: run.info.runId, targetId: plan.targetId, fingerprint: PENDING }, this.clock());
      const artifactUri = options.skipArtifacts ? run.info.artifactUri : `${experiment.artifactLocation.replace(/\/+$/, '')}/${plan.targetId}/artifacts`;
      await tracking.createRun({
        runId: plan.targetId,
        experimentId,
        name: run.info.runName,
        userId: run.info.userId,
        status: run.info.status,
        startTime: run.info.startTime,
        artifactUri,
        tags: [],
      });
      info = await tracking.getRunInfo(plan.targetId);
      if (!info) throw new Error(`run ${plan.targetId} was not created`);
    }
    const pk = info.pk;
    await tracking.updateRunInfo(pk, { status: run.info.status, endTime: run.info.endTime, name: run.info.runName });
    await tracking.setRunTags(pk, remapTags(run.tags, importPlan.runIdMap));
    if (run.params.length > 0) await tracking.insertParams(pk, run.params);
    if (run.datasetInputs.length > 0) await tracking.logDatasetInputs(pk, experimentId, run.datasetInputs);
    if (run.modelInputs.length > 0) await tracking.logModelInputs(pk, run.modelInputs);
    if (run.modelOutputs.length > 0) await tracking.logModelOutputs(pk, run.modelOutputs);

    // Only the histories whose latest point moved since the last import are fetched again.
    for (const latest of run.latestMetrics) {
      if (plan.previous && plan.previous.metrics[latest.key] === plan.fingerprint.metrics[latest.key]) continue;
      const points = await source.metricHistory(run.info.runId, latest.key);
      for (let i = 0; i < points.length; i += METRIC_BATCH) {
        const part = points.slice(i, i + METRIC_BATCH).map((p) => ({ ...p, key: latest.key }));
        await tracking.logMetrics(pk, part);
      }
      report.metricPoints += points.length;
      this.progress.points(points.length);
    }

    if (!options.skipArtifacts) {
      await this.copyTree(source, run.info.artifactUri, { kind: 'run', id: run.info.runId }, info.artifactUri, report, `run ${run.info.runId}`);
    }
    await imports.setRunLifecycle(pk, run.info.lifecycleStage, run.info.lifecycleStage === 'deleted' ? (run.info.endTime ?? run.info.startTime) : null);
    // Recorded last: a run interrupted before this point is imported again next time.
    await imports.putState(source.key, { kind: 'run', sourceId: run.info.runId, targetId: plan.targetId, fingerprint: JSON.stringify(plan.fingerprint) }, this.clock());
    return info.artifactUri;
  }
}
