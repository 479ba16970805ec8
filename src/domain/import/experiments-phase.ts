import { projectArtifactPrefix } from '../artifacts/artifact-scope.ts';
import { fingerprint } from './fingerprint.ts';
import type { ExperimentPlan } from './import-plan.ts';
import { ImportPhase, type ImportOptions } from './import-phase.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource } from './source.ts';

/** Experiments: created (ids kept where free), merged or skipped as the plan says, with their tags. */
export class ExperimentsPhase extends ImportPhase {
  async importExperiment(source: MigrationSource, e: ExperimentPlan, options: ImportOptions, report: ImportReport): Promise<string | undefined> {
    const { tracking, imports } = this.targets;
    if (e.note) report.conflicts.push({ name: e.source.name, resolution: e.note });
    if (e.action === 'skip') {
      report.count('experiments', 'skipped');
      report.count('runs', 'skipped', e.runs.length);
      return undefined;
    }
    const state = (await imports.listState(source.key, 'experiment')).get(e.source.experimentId);
    const stamp = fingerprint(e.source);
    let id: string;
    if (e.action === 'create') {
      id = await imports.insertExperiment({
        experimentId: e.targetId === null ? null : Number(e.targetId),
        projectId: options.projectId,
        name: e.targetName,
        artifactLocationFor: (newId) => this.artifactLocationFor(newId, options),
        lifecycleStage: e.source.lifecycleStage,
        creationTime: e.source.creationTime,
        lastUpdateTime: e.source.lastUpdateTime,
      });
      if (id !== e.source.experimentId) report.remapped.push({ kind: 'experiment', from: e.source.experimentId, to: id });
      report.count('experiments', 'created');
    } else {
      id = e.targetId!;
      if (state?.fingerprint === stamp) {
        report.count('experiments', 'unchanged');
        return id;
      }
      // A merged experiment keeps its own name; its lifecycle follows the source only when it came from it.
      if (state || e.adopt) {
        await imports.updateExperiment(id, {
          lifecycleStage: e.source.lifecycleStage,
          lastUpdateTime: e.source.lastUpdateTime,
          ...(e.adopt ? { creationTime: e.source.creationTime } : {}),
        });
      }
      report.count('experiments', state ? 'updated' : 'created');
    }
    for (const tag of e.source.tags) await tracking.setExperimentTag(id, tag);
    await imports.putState(source.key, { kind: 'experiment', sourceId: e.source.experimentId, targetId: id, fingerprint: stamp }, this.clock());
    return id;
  }

  private artifactLocationFor(experimentId: string, options: ImportOptions): string {
    const root = options.defaultArtifactRoot.replace(/\/+$/, '');
    const prefix = projectArtifactPrefix(options.projectId);
    return prefix === '' ? `${root}/${experimentId}` : `${root}/${prefix}/${experimentId}`;
  }
}
