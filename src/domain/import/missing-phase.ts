import type { ImportStateKind } from '../../store/import-store.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase, type ImportOptions } from './import-phase.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

/** What the registry phase read from the source, to tell what is gone from it. */
export interface RegistrySeen {
  models: Set<string>;
  /** Version numbers per model, for the models whose versions were read completely. */
  versions: Map<string, Set<number>>;
}

/**
 * Objects imported from this source before that the source no longer has at all (MLflow deletes
 * registered models and versions for good; `mlflow gc` purges deleted runs and experiments).
 * Soft deletions and restores are not this phase's business: those objects are still listed, and
 * their lifecycle is brought across with the rest of them.
 *
 * Without `deleteMissing` nothing is touched and the report says how many there are. With it,
 * runs and experiments are marked deleted in Trove (`trove gc` purges them, as at the source),
 * registered models and versions are deleted, and the objects are forgotten by the import state.
 * Only what this import could read completely is judged: experiments when no `--experiment`
 * filter narrowed the listing, runs of the experiments listed, versions of the models read.
 */
export class MissingPhase extends ImportPhase {
  async handleMissing(
    source: MigrationSource,
    plan: ImportPlan,
    experimentIds: Map<string, string>,
    registry: RegistrySeen | undefined,
    options: ImportOptions,
    report: ImportReport,
  ): Promise<void> {
    const { imports, tracking, registry: models } = this.targets;
    const gone = { experiments: 0, runs: 0, models: 0, versions: 0 };
    const apply = options.deleteMissing === true;
    const now = this.clock();
    const forget = (kind: ImportStateKind, id: string) => imports.deleteState(source.key, kind, id);

    // Experiments: only a complete listing tells that one is gone.
    const goneExperiments = new Set<string>();
    if (!options.experiments) {
      const listed = new Set(plan.experiments.map((e) => e.source.experimentId));
      for (const [sourceId, state] of await imports.listState(source.key, 'experiment')) {
        if (listed.has(sourceId)) continue;
        const there = await tracking.getExperiment(state.targetId);
        if (!there) {
          if (apply) await forget('experiment', sourceId);
          continue;
        }
        // The Default experiment is never deleted.
        if (state.targetId === '0') continue;
        gone.experiments++;
        goneExperiments.add(state.targetId);
        if (apply) {
          if (there.lifecycleStage !== 'deleted') await imports.updateExperiment(state.targetId, { lifecycleStage: 'deleted', lastUpdateTime: now });
          await forget('experiment', sourceId);
          report.count('experiments', 'deleted');
        }
      }
    }

    // Runs of the experiments read in full (and of the experiments gone as a whole).
    const judged = new Set([...experimentIds.values(), ...goneExperiments]);
    const listedRuns = new Set(plan.experiments.flatMap((e) => e.runs.map((r) => r.source.info.runId)));
    for (const [sourceId, state] of await imports.listState(source.key, 'run')) {
      if (listedRuns.has(sourceId)) continue;
      const run = await tracking.getRunInfo(state.targetId);
      if (!run) {
        if (apply) await forget('run', sourceId);
        continue;
      }
      if (!judged.has(run.experimentId)) continue;
      gone.runs++;
      if (apply) {
        if (run.lifecycleStage !== 'deleted') await imports.setRunLifecycle(run.pk, 'deleted', now);
        await forget('run', sourceId);
        report.count('runs', 'deleted');
      }
    }

    // The registry, when it was read.
    if (registry) {
      const versionState = await imports.listState(source.key, 'model-version');
      for (const [key] of versionState) {
        const slash = key.lastIndexOf('/');
        const name = key.slice(0, slash);
        const number = Number(key.slice(slash + 1));
        const seen = registry.versions.get(name);
        // Versions of a model gone as a whole go with it, below.
        if (!seen || seen.has(number)) continue;
        gone.versions++;
        if (!apply) continue;
        const model = await models.getRegisteredModel(options.projectId, name);
        const version = model ? await models.getModelVersion(model.pk, number) : undefined;
        if (version) {
          await models.deleteModelVersion(version.pk, now);
          report.count('model versions', 'deleted');
        }
        await forget('model-version', key);
      }
      for (const [name] of await imports.listState(source.key, 'registered-model')) {
        if (registry.models.has(name)) continue;
        const model = await models.getRegisteredModel(options.projectId, name);
        if (model) gone.models++;
        if (!apply) continue;
        if (model) {
          await models.deleteRegisteredModel(model.pk);
          report.count('registered models', 'deleted');
        }
        await forget('registered-model', name);
        for (const key of versionState.keys()) if (key.startsWith(`${name}/`)) await forget('model-version', key);
      }
    }

    if (!apply) {
      const parts = [
        describe(gone.experiments, 'experiment'),
        describe(gone.runs, 'run'),
        describe(gone.models, 'registered model'),
        describe(gone.versions, 'model version'),
      ].filter((p) => p !== '');
      if (parts.length > 0) {
        report.warn(
          `Imported from this source earlier and gone from it since (deleted there for good): ${parts.join(', ')}. ` +
            'Kept in Trove as they are; run again with --delete-missing to delete them here too.',
        );
      }
    }
  }
}

function describe(n: number, what: string): string {
  return n === 0 ? '' : `${n} ${what}${n === 1 ? '' : 's'}`;
}
