import type { LifecycleStage, MetricRecord } from '../../store/tracking-store.ts';
import { fingerprint } from './fingerprint.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase, PENDING, remapTags, type ArtifactRootMapping, type ImportOptions } from './import-phase.ts';
import { forEachConcurrent } from './pool.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource, SourceLoggedModel } from './source.ts';

/** Logged models (MLflow 3), with params, metrics, tags and files. */
export class LoggedModelsPhase extends ImportPhase {
  async importLoggedModels(
    source: MigrationSource,
    experimentIds: Map<string, string>,
    plan: ImportPlan,
    options: ImportOptions,
    report: ImportReport,
    roots: ArtifactRootMapping[],
  ): Promise<void> {
    const state = await this.targets.imports.listState(source.key, 'logged-model');
    const models: SourceLoggedModel[] = [];
    try {
      for await (const m of source.loggedModels([...experimentIds.keys()])) models.push(m);
    } catch (error) {
      report.warn(`Logged models could not be listed: ${(error as Error).message}`);
      return;
    }
    if (models.length === 0) return;
    this.progress.phase('logged models', { items: models.length });
    await forEachConcurrent(models, options.concurrency, async (model) => {
      try {
        const experimentId = experimentIds.get(model.experimentId);
        if (experimentId === undefined) {
          report.count('logged models', 'skipped');
          return;
        }
        const stamp = fingerprint(model);
        const previous = state.get(model.modelId);
        const existing = await this.targets.tracking.getLoggedModel(model.modelId);
        if (existing && previous?.fingerprint === stamp) {
          report.count('logged models', 'unchanged');
          roots.push({ id: model.modelId, loggedModel: { name: model.name, sourceRunId: model.sourceRunId }, sourceRoot: model.artifactUri, targetRoot: existing.artifactUri });
          return;
        }
        if (existing && !previous) throw new Error(`a logged model with id ${model.modelId} already exists in Trove and was not imported from this source`);
        if (!previous) await this.targets.imports.putState(source.key, { kind: 'logged-model', sourceId: model.modelId, targetId: model.modelId, fingerprint: PENDING }, this.clock());
        const targetRoot = await this.importLoggedModel(source, model, experimentId, plan, options, report);
        roots.push({ id: model.modelId, loggedModel: { name: model.name, sourceRunId: model.sourceRunId }, sourceRoot: model.artifactUri, targetRoot });
        await this.targets.imports.putState(source.key, { kind: 'logged-model', sourceId: model.modelId, targetId: model.modelId, fingerprint: stamp }, this.clock());
        report.count('logged models', existing ? 'updated' : 'created');
      } catch (error) {
        report.fail('logged models', model.modelId, error);
        this.progress.note(`logged model ${model.modelId} failed: ${(error as Error).message}`);
      } finally {
        this.progress.item();
      }
    });
    this.progress.endPhase();
  }

  private async importLoggedModel(source: MigrationSource, model: SourceLoggedModel, experimentId: string, plan: ImportPlan, options: ImportOptions, report: ImportReport): Promise<string> {
    const { tracking } = this.targets;
    let current = await tracking.getLoggedModel(model.modelId);
    if (!current) {
      const experiment = await tracking.getExperiment(experimentId);
      if (!experiment) throw new Error(`experiment ${experimentId} vanished during the import`);
      await tracking.createLoggedModel({
        modelId: model.modelId,
        experimentId,
        name: model.name,
        artifactUri: options.skipArtifacts ? model.artifactUri : `${experiment.artifactLocation.replace(/\/+$/, '')}/models/${model.modelId}/artifacts`,
        status: model.status,
        creatorId: model.creatorId,
        modelType: model.modelType,
        sourceRunId: model.sourceRunId ? (plan.runIdMap.get(model.sourceRunId) ?? model.sourceRunId) : null,
        params: model.params,
        tags: [],
        timestamp: model.creationTimestamp,
      });
      current = await tracking.getLoggedModel(model.modelId);
      if (!current) throw new Error(`logged model ${model.modelId} was not created`);
    }
    if (model.params.length > 0) await tracking.insertLoggedModelParams(current.pk, model.params);
    if (model.metrics.length > 0) {
      const metrics: MetricRecord[] = model.metrics.map((m) => ({ ...m, ...(m.runId ? { runId: plan.runIdMap.get(m.runId) ?? m.runId } : {}) }));
      await tracking.logLoggedModelMetrics(model.modelId, metrics);
    }
    if (model.tags.length > 0) await tracking.setLoggedModelTags(current.pk, remapTags(model.tags, plan.runIdMap), model.lastUpdatedTimestamp);
    if (!options.skipArtifacts) {
      await this.copyTree(source, model.artifactUri, { kind: 'logged-model', id: model.modelId }, current.artifactUri, report, `logged model ${model.modelId}`);
    }
    await tracking.updateLoggedModel(current.pk, {
      status: model.status,
      statusMessage: model.statusMessage,
      lifecycleStage: model.lifecycleStage as LifecycleStage,
      now: model.lastUpdatedTimestamp,
    });
    return current.artifactUri;
  }
}
