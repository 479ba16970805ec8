import { newRunId } from '../tracking/run-id.ts';
import { ExperimentsPhase } from './experiments-phase.ts';
import { planImport, type ImportPlan, type RunPlan } from './import-plan.ts';
import { SILENT_PROGRESS, type ArtifactRootMapping, type ImportOptions, type ImportProgress, type ImportTargets } from './import-phase.ts';
import { LoggedModelsPhase } from './logged-models-phase.ts';
import { MissingPhase, type RegistrySeen } from './missing-phase.ts';
import { forEachConcurrent } from './pool.ts';
import { RegistryPhase } from './registry-phase.ts';
import { ImportReport } from './report.ts';
import { RunsPhase } from './runs-phase.ts';
import type { MigrationSource, SourceRun } from './source.ts';
import { TracesPhase } from './traces-phase.ts';

export { SILENT_PROGRESS, type ImportOptions, type ImportProgress, type ImportTargets } from './import-phase.ts';

/** What the plan would import, for --dry-run. */
export interface ImportPreview {
  experiments: Array<{ name: string; targetName: string; action: string; note?: string; runs: { new: number; changed: number; unchanged: number }; metricSeries: number }>;
  runIdMap: Map<string, string>;
  loggedModels: number;
  registeredModels: number;
  modelVersions: number;
  artifactFiles: number;
  artifactBytes: number;
  /**
   * What was imported from this source before and is gone from it for good: what the same command
   * would delete with `--delete-missing` (`deleteMissing` true), or warn about without it.
   */
  missing: {
    deleteMissing: boolean;
    experiments: string[];
    runs: string[];
    registeredModels: string[];
    modelVersions: string[];
    aliases: string[];
  };
  warnings: string[];
}

/**
 * Brings experiments, runs (with every metric point), logged models, artifacts and the model
 * registry from a {@link MigrationSource} into Trove's stores, keeping ids, timestamps and version
 * numbers. Each object is recorded in the import state once complete, so running it again imports
 * only what changed and an interrupted run picks up where it stopped, without duplicates (metric
 * points, params and tags are written idempotently; files are replaced atomically).
 */
export class ImportService {
  constructor(
    private readonly targets: ImportTargets,
    private readonly progress: ImportProgress = SILENT_PROGRESS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Plans without writing anything and sums up what would be imported. */
  async preview(source: MigrationSource, options: ImportOptions): Promise<ImportPreview> {
    const plan = await this.plan(source, options);
    const preview: ImportPreview = {
      experiments: [],
      runIdMap: plan.runIdMap,
      loggedModels: 0,
      registeredModels: 0,
      modelVersions: 0,
      artifactFiles: 0,
      artifactBytes: 0,
      missing: { deleteMissing: options.deleteMissing === true, experiments: [], runs: [], registeredModels: [], modelVersions: [], aliases: [] },
      warnings: [...source.warnings],
    };
    const work: RunPlan[] = [];
    for (const e of plan.experiments) {
      const runs = { new: 0, changed: 0, unchanged: 0 };
      let metricSeries = 0;
      for (const r of e.runs) {
        runs[r.status]++;
        if (r.status !== 'unchanged') {
          metricSeries += r.source.latestMetrics.length;
          work.push(r);
        }
      }
      preview.experiments.push({ name: e.source.name, targetName: e.targetName, action: e.action, ...(e.note ? { note: e.note } : {}), runs, metricSeries });
    }
    if (!options.skipArtifacts) {
      this.progress.phase('sizing artifacts', { items: work.length });
      await forEachConcurrent(work, options.concurrency, async (r) => {
        for await (const file of source.listArtifacts(r.source.info.artifactUri, { kind: 'run', id: r.source.info.runId })) {
          preview.artifactFiles++;
          preview.artifactBytes += file.size ?? 0;
        }
        this.progress.item();
      });
      this.progress.endPhase();
    }
    const experimentIds = plan.experiments.filter((e) => e.action !== 'skip').map((e) => e.source.experimentId);
    for await (const _model of source.loggedModels(experimentIds)) preview.loggedModels++;
    let registry: RegistrySeen | undefined;
    if (!options.skipRegistry) {
      try {
        const seen: RegistrySeen = { models: new Set(), versions: new Map(), aliases: new Map() };
        for await (const model of source.registeredModels()) {
          const versions = await source.modelVersions(model.name);
          preview.registeredModels++;
          preview.modelVersions += versions.length;
          seen.models.add(model.name);
          seen.versions.set(model.name, new Set(versions.map((v) => v.version)));
          seen.aliases.set(model.name, new Set(model.aliases.map((a) => a.alias)));
        }
        registry = seen;
      } catch (error) {
        preview.warnings.push(`The model registry could not be read: ${(error as Error).message}`);
      }
    }
    // What the real run's last phase would find gone, judged on the same reads; nothing is written.
    const judged = plan.experiments.flatMap((e) => (e.action !== 'skip' && e.targetId !== null ? [e.targetId] : []));
    const missing = await new MissingPhase(this.targets, this.progress, this.clock).findMissing(source, plan, judged, registry, options);
    preview.missing.experiments = missing.experiments.map((e) => `${e.name} (id ${e.targetId})`);
    preview.missing.runs = missing.runs.map((r) => r.targetId);
    preview.missing.registeredModels = missing.registeredModels;
    preview.missing.modelVersions = missing.modelVersions;
    preview.missing.aliases = missing.aliases;
    return preview;
  }

  async run(source: MigrationSource, options: ImportOptions): Promise<ImportReport> {
    const report = new ImportReport();
    const plan = await this.plan(source, options);
    for (const [from, to] of plan.runIdMap) report.remapped.push({ kind: 'run', from, to });
    const roots: ArtifactRootMapping[] = [];

    // Experiments first, one at a time: runs need their ids.
    const experimentIds = new Map<string, string>();
    const experiments = new ExperimentsPhase(this.targets, this.progress, this.clock);
    this.progress.phase('experiments', { items: plan.experiments.length });
    for (const e of plan.experiments) {
      try {
        const id = await experiments.importExperiment(source, e, options, report);
        if (id !== undefined) experimentIds.set(e.source.experimentId, id);
      } catch (error) {
        report.fail('experiments', e.source.name, error);
        this.progress.note(`experiment '${e.source.name}' failed: ${(error as Error).message}`);
      }
      this.progress.item();
    }
    this.progress.endPhase();

    await new RunsPhase(this.targets, this.progress, this.clock).importRuns(source, plan, experimentIds, options, report, roots);

    await new LoggedModelsPhase(this.targets, this.progress, this.clock).importLoggedModels(source, experimentIds, plan, options, report, roots);
    await new TracesPhase(this.targets, this.progress, this.clock).importTraces(source, experimentIds, plan, options, report);
    const registry = options.skipRegistry ? undefined : await new RegistryPhase(this.targets, this.progress, this.clock).importRegistry(source, plan, options, report, roots);
    // Only after a complete pass: a failed experiment's runs were not listed, so nothing is judged gone then.
    if (report.counts.get('experiments')?.failed ?? 0) report.warn('Objects gone from the source were not looked for: an experiment failed to import.');
    else await new MissingPhase(this.targets, this.progress, this.clock).handleMissing(source, plan, experimentIds, registry, options, report);
    for (const warning of source.warnings) report.warn(warning);
    return report;
  }

  private plan(source: MigrationSource, options: ImportOptions): Promise<ImportPlan> {
    return planImport({
      source,
      tracking: this.targets.tracking,
      imports: this.targets.imports,
      projectId: options.projectId,
      onConflict: options.onConflict,
      remapIds: options.remapIds,
      ...(options.experiments ? { experimentFilter: options.experiments } : {}),
      newRunId,
    });
  }
}

export type { SourceRun };
