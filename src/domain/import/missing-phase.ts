import type { ImportStateKind } from '../../store/import-store.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase, type ImportOptions } from './import-phase.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

/** What the registry phase (or the dry run) read from the source, to tell what is gone from it. */
export interface RegistrySeen {
  models: Set<string>;
  /** Version numbers per model, for the models whose versions were read completely. */
  versions: Map<string, Set<number>>;
  /** The aliases each model has at the source. */
  aliases: Map<string, Set<string>>;
}

/**
 * What was imported from this source before and is gone from it for good, as found in Trove now.
 * Names are for people: Trove experiment names, Trove run ids, `model/version`, `model@alias`.
 */
export interface MissingObjects {
  experiments: Array<{ sourceId: string; targetId: string; name: string; deleted: boolean }>;
  runs: Array<{ sourceId: string; targetId: string; pk: number; deleted: boolean }>;
  registeredModels: string[];
  /** `<model name>/<version number>` */
  modelVersions: string[];
  /** `<model name>@<alias>`: aliases of models this source brought that the source no longer has. */
  aliases: string[];
  /** Import state whose Trove object is gone already (forgotten with --delete-missing). */
  stale: Array<{ kind: ImportStateKind; sourceId: string }>;
}

/** The counts of {@link MissingObjects}, as the report's warning and the dry run word them. */
export function describeMissing(missing: MissingObjects): string {
  return [
    describe(missing.experiments.length, 'experiment'),
    describe(missing.runs.length, 'run'),
    describe(missing.registeredModels.length, 'registered model'),
    describe(missing.modelVersions.length, 'model version'),
    describe(missing.aliases.length, 'alias', 'aliases'),
  ]
    .filter((p) => p !== '')
    .join(', ');
}

/**
 * Objects imported from this source before that the source no longer has at all (MLflow deletes
 * registered models, versions and aliases for good; `mlflow gc` purges deleted runs and
 * experiments). Soft deletions and restores are not this phase's business: those objects are
 * still listed, and their lifecycle is brought across with the rest of them.
 *
 * {@link findMissing} only reads (the dry run shows its answer). Without `deleteMissing` nothing is
 * touched and the report says how many there are. With it, runs and experiments are marked deleted
 * in Trove (`trove gc` purges them, as at the source), registered models and versions are deleted,
 * and the objects are forgotten by the import state (the registry phase already dropped the
 * aliases). Only what this import could read completely is judged: experiments when no
 * `--experiment` filter narrowed the listing, runs of the experiments read, versions of the models
 * read, aliases of the models this source brought.
 */
export class MissingPhase extends ImportPhase {
  /**
   * @param judgedExperiments Trove ids of the experiments whose runs were listed completely
   * @param registry what the source's registry holds (undefined when it was not read)
   */
  async findMissing(source: MigrationSource, plan: ImportPlan, judgedExperiments: Iterable<string>, registry: RegistrySeen | undefined, options: ImportOptions): Promise<MissingObjects> {
    const { imports, tracking, registry: models } = this.targets;
    const missing: MissingObjects = { experiments: [], runs: [], registeredModels: [], modelVersions: [], aliases: [], stale: [] };

    // Experiments: only a complete listing tells that one is gone.
    if (!options.experiments) {
      const listed = new Set(plan.experiments.map((e) => e.source.experimentId));
      for (const [sourceId, state] of await imports.listState(source.key, 'experiment')) {
        if (listed.has(sourceId)) continue;
        const there = await tracking.getExperiment(state.targetId);
        if (!there) {
          missing.stale.push({ kind: 'experiment', sourceId });
          continue;
        }
        // The Default experiment is never deleted.
        if (state.targetId === '0') continue;
        missing.experiments.push({ sourceId, targetId: state.targetId, name: there.name, deleted: there.lifecycleStage === 'deleted' });
      }
    }

    // Runs of the experiments read in full (and of the experiments gone as a whole).
    const judged = new Set([...judgedExperiments, ...missing.experiments.map((e) => e.targetId)]);
    const listedRuns = new Set(plan.experiments.flatMap((e) => e.runs.map((r) => r.source.info.runId)));
    for (const [sourceId, state] of await imports.listState(source.key, 'run')) {
      if (listedRuns.has(sourceId)) continue;
      const run = await tracking.getRunInfo(state.targetId);
      if (!run) {
        missing.stale.push({ kind: 'run', sourceId });
        continue;
      }
      if (!judged.has(run.experimentId)) continue;
      missing.runs.push({ sourceId, targetId: state.targetId, pk: run.pk, deleted: run.lifecycleStage === 'deleted' });
    }

    // The registry, when it was read.
    if (registry) {
      for (const [key] of await imports.listState(source.key, 'model-version')) {
        const slash = key.lastIndexOf('/');
        const seen = registry.versions.get(key.slice(0, slash));
        // Versions of a model gone as a whole go with it, below.
        if (seen && !seen.has(Number(key.slice(slash + 1)))) missing.modelVersions.push(key);
      }
      for (const [name] of await imports.listState(source.key, 'registered-model')) {
        const model = await models.getRegisteredModel(options.projectId, name);
        if (registry.models.has(name)) {
          const kept = registry.aliases.get(name) ?? new Set<string>();
          for (const alias of model?.aliases ?? []) if (!kept.has(alias.alias)) missing.aliases.push(`${name}@${alias.alias}`);
        } else if (model) {
          missing.registeredModels.push(name);
        } else {
          missing.stale.push({ kind: 'registered-model', sourceId: name });
        }
      }
    }
    return missing;
  }

  async handleMissing(
    source: MigrationSource,
    plan: ImportPlan,
    experimentIds: Map<string, string>,
    registry: RegistrySeen | undefined,
    options: ImportOptions,
    report: ImportReport,
  ): Promise<void> {
    const missing = await this.findMissing(source, plan, experimentIds.values(), registry, options);
    if (options.deleteMissing !== true) {
      const parts = describeMissing(missing);
      if (parts !== '') {
        report.warn(
          `Imported from this source earlier and gone from it since (deleted there for good): ${parts}. ` +
            'Kept in Trove as they are; run again with --delete-missing to delete them here too.',
        );
      }
      return;
    }
    const { imports, registry: models } = this.targets;
    const now = this.clock();
    const forget = (kind: ImportStateKind, id: string) => imports.deleteState(source.key, kind, id);
    for (const { kind, sourceId } of missing.stale) await forget(kind, sourceId);
    for (const e of missing.experiments) {
      if (!e.deleted) await imports.updateExperiment(e.targetId, { lifecycleStage: 'deleted', lastUpdateTime: now });
      await forget('experiment', e.sourceId);
      report.count('experiments', 'deleted');
    }
    for (const r of missing.runs) {
      if (!r.deleted) await imports.setRunLifecycle(r.pk, 'deleted', now);
      await forget('run', r.sourceId);
      report.count('runs', 'deleted');
    }
    for (const key of missing.modelVersions) {
      const slash = key.lastIndexOf('/');
      const model = await models.getRegisteredModel(options.projectId, key.slice(0, slash));
      const version = model ? await models.getModelVersion(model.pk, Number(key.slice(slash + 1))) : undefined;
      if (version) {
        await models.deleteModelVersion(version.pk, now);
        report.count('model versions', 'deleted');
      }
      await forget('model-version', key);
    }
    const goneModels = [...missing.registeredModels, ...missing.stale.filter((s) => s.kind === 'registered-model').map((s) => s.sourceId)];
    const versionState = goneModels.length > 0 ? await imports.listState(source.key, 'model-version') : new Map<string, unknown>();
    for (const name of missing.registeredModels) {
      const model = await models.getRegisteredModel(options.projectId, name);
      if (model) {
        await models.deleteRegisteredModel(model.pk);
        report.count('registered models', 'deleted');
      }
      await forget('registered-model', name);
    }
    for (const name of goneModels) for (const key of versionState.keys()) if (key.startsWith(`${name}/`)) await forget('model-version', key);
  }
}

function describe(n: number, what: string, plural = `${what}s`): string {
  return n === 0 ? '' : `${n} ${n === 1 ? what : plural}`;
}
