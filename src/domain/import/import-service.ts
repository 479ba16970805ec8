import { randomBytes, randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import type { ImportStore } from '../../store/import-store.ts';
import type { RegistryStore } from '../../store/registry-store.ts';
import type { SpanRow, TraceStore } from '../../store/trace-store.ts';
import { base64ToHex, type SpanDict } from '../tracing/spans.ts';
import type { TraceInfoInput } from '../tracing/trace-service.ts';
import { SPANS_IN_TRACKING_STORE, SYSTEM_TRACE_TAGS, TRACE_TAG } from '../tracing/validation.ts';
import type { KeyValue, LifecycleStage, MetricRecord, TrackingStore } from '../../store/tracking-store.ts';
import { projectArtifactPrefix, registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import { copyArtifact } from './artifact-copy.ts';
import { fingerprint } from './fingerprint.ts';
import { planImport, type ExperimentPlan, type ImportPlan, type OnConflict, type RunPlan } from './import-plan.ts';
import { forEachConcurrent } from './pool.ts';
import { ImportReport } from './report.ts';
import type { ArtifactOwner, MigrationSource, SourceLoggedModel, SourceModelVersion, SourceRegisteredModel, SourceRun } from './source.ts';

export interface ImportOptions {
  projectId: number;
  /** Root of new experiments' artifact locations; must be served by the artifact proxy (`mlflow-artifacts:/`). */
  defaultArtifactRoot: string;
  onConflict: OnConflict;
  /** Give colliding run ids new ones instead of refusing (the mapping is in the report). */
  remapIds: boolean;
  /** Runs (and logged models, registered models) imported at the same time. */
  concurrency: number;
  /** Leave the files where they are: imported runs point at the source's artifact locations. */
  skipArtifacts: boolean;
  /** Only these source experiments (ids or names). */
  experiments?: string[];
  /** Leave out the model registry. */
  skipRegistry: boolean;
}

/** What the progress display is told. Phases run one after the other. */
export interface ImportProgress {
  phase(name: string, total: { items: number }): void;
  item(): void;
  points(n: number): void;
  bytes(n: number): void;
  endPhase(): void;
  /** A sentence worth showing now (a warning, a failure). */
  note(message: string): void;
}

export const SILENT_PROGRESS: ImportProgress = { phase() {}, item() {}, points() {}, bytes() {}, endPhase() {}, note() {} };

/** What the plan would import, for --dry-run. */
export interface ImportPreview {
  experiments: Array<{ name: string; targetName: string; action: string; note?: string; runs: { new: number; changed: number; unchanged: number }; metricSeries: number }>;
  runIdMap: Map<string, string>;
  loggedModels: number;
  registeredModels: number;
  modelVersions: number;
  artifactFiles: number;
  artifactBytes: number;
  warnings: string[];
}

interface Targets {
  tracking: TrackingStore;
  registry: RegistryStore;
  imports: ImportStore;
  artifacts: ArtifactStore;
  /** Where traces go; without it (an import driven over `--to`), traces are skipped with a warning. */
  traces?: TraceStore;
}

/** Where an imported run or logged model keeps its files, here and at the source. */
interface ArtifactRootMapping {
  /** The run's or logged model's id at the source. */
  id: string;
  /** For a logged model: its name and the run that logged it (`runs:/<run>/<name>` means it in MLflow 3). */
  loggedModel?: { name: string; sourceRunId: string | null };
  sourceRoot: string;
  targetRoot: string;
}

const METRIC_BATCH = 20_000;
/** The fingerprint of an object whose import has started but not finished. */
const PENDING = 'pending';

/**
 * Brings experiments, runs (with every metric point), logged models, artifacts and the model
 * registry from a {@link MigrationSource} into Trove's stores, keeping ids, timestamps and version
 * numbers. Each object is recorded in the import state once complete, so running it again imports
 * only what changed and an interrupted run picks up where it stopped, without duplicates (metric
 * points, params and tags are written idempotently; files are replaced atomically).
 */
export class ImportService {
  constructor(
    private readonly targets: Targets,
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
      warnings: source.warnings,
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
    if (!options.skipRegistry) {
      for await (const model of source.registeredModels()) {
        preview.registeredModels++;
        preview.modelVersions += (await source.modelVersions(model.name)).length;
      }
    }
    return preview;
  }

  async run(source: MigrationSource, options: ImportOptions): Promise<ImportReport> {
    const report = new ImportReport();
    const plan = await this.plan(source, options);
    for (const [from, to] of plan.runIdMap) report.remapped.push({ kind: 'run', from, to });
    const roots: ArtifactRootMapping[] = [];

    // Experiments first, one at a time: runs need their ids.
    const experimentIds = new Map<string, string>();
    this.progress.phase('experiments', { items: plan.experiments.length });
    for (const e of plan.experiments) {
      try {
        const id = await this.importExperiment(source, e, options, report);
        if (id !== undefined) experimentIds.set(e.source.experimentId, id);
      } catch (error) {
        report.fail('experiments', e.source.name, error);
        this.progress.note(`experiment '${e.source.name}' failed: ${(error as Error).message}`);
      }
      this.progress.item();
    }
    this.progress.endPhase();

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

    await this.importLoggedModels(source, experimentIds, plan, options, report, roots);
    await this.importTraces(source, experimentIds, plan, report);
    if (!options.skipRegistry) await this.importRegistry(source, plan, options, report, roots);
    for (const warning of source.warnings) report.warn(warning);
    return report;
  }

  /**
   * Traces (MLflow 3) of the imported experiments, with their ids, times, state, tags, request
   * metadata, spans and assessments. A trace already in Trove is left as it is (traces are
   * written once, when they end), so a second import adds only new traces.
   */
  private async importTraces(source: MigrationSource, experimentIds: Map<string, string>, plan: ImportPlan, report: ImportReport): Promise<void> {
    const store = this.targets.traces;
    if (!source.traces || experimentIds.size === 0) return;
    if (!store) {
      report.warn('Traces were not imported: this import path does not carry them yet (import straight into the store instead).');
      return;
    }
    // The number of traces is known only once read: the phase counts experiments.
    this.progress.phase('traces (experiments)', { items: experimentIds.size });
    for (const [sourceExperimentId, experimentId] of experimentIds) {
      const experiment = await this.targets.tracking.getExperiment(experimentId);
      if (!experiment) {
        this.progress.item();
        continue;
      }
      const present = async (ids: string[]): Promise<Set<string>> => new Set((await store.getTraces(ids)).map((t) => t.traceId));
      try {
        for await (const trace of source.traces(sourceExperimentId, present)) {
          try {
            const created = await this.writeTrace(store, trace.info, trace.spans, experiment, plan);
            report.count('traces', created ? 'created' : 'unchanged');
          } catch (error) {
            report.fail('traces', trace.info.traceId, error);
            this.progress.note(`trace ${trace.info.traceId} failed: ${(error as Error).message}`);
          }
        }
      } catch (error) {
        report.warn(`Traces of experiment ${sourceExperimentId} could not be read: ${(error as Error).message}`);
      }
      this.progress.item();
    }
    this.progress.endPhase();
  }

  private async writeTrace(
    store: TraceStore,
    info: TraceInfoInput,
    spans: SpanDict[],
    experiment: { experimentId: string; projectId: number; artifactLocation: string },
    plan: ImportPlan,
  ): Promise<boolean> {
    const { experimentId, artifactLocation } = experiment;
    return store.transaction(async (tx) => {
      await tx.lockTraces([info.traceId]);
      const [existing] = await tx.getTraces([info.traceId]);
      if (existing) {
        if (existing.experimentId !== experimentId) throw new Error(`trace ${info.traceId} already exists in experiment ${existing.experimentId}`);
        return false;
      }
      await tx.insertTrace({
        traceId: info.traceId,
        projectId: experiment.projectId,
        experimentId,
        requestTime: info.requestTime,
        executionDuration: info.executionDuration,
        state: info.state,
        clientRequestId: info.clientRequestId,
        requestPreview: info.requestPreview,
        responsePreview: info.responsePreview,
      });
      const tags: Record<string, string> = {};
      for (const [key, value] of Object.entries(info.tags)) if (!SYSTEM_TRACE_TAGS.has(key)) tags[key] = value;
      tags[TRACE_TAG.artifactLocation] = `${artifactLocation.replace(/\/+$/, '')}/traces/${info.traceId}/artifacts`;
      if (spans.length > 0) tags[TRACE_TAG.spansLocation] = SPANS_IN_TRACKING_STORE;
      await tx.setTags(info.traceId, tags);
      const metadata = { ...info.metadata };
      const sourceRun = metadata['mlflow.sourceRun'];
      if (sourceRun !== undefined && plan.runIdMap.has(sourceRun)) metadata['mlflow.sourceRun'] = plan.runIdMap.get(sourceRun)!;
      await tx.setMetadata(info.traceId, metadata);
      const rows: SpanRow[] = spans.map((span) => ({
        traceId: info.traceId,
        spanId: base64ToHex(span.span_id),
        parentSpanId: span.parent_span_id ? base64ToHex(span.parent_span_id) : null,
        name: span.name,
        startTimeNs: span.start_time_unix_nano,
        content: JSON.stringify(span),
      }));
      if (rows.length > 0) await tx.upsertSpans(rows);
      for (const assessment of info.assessments) {
        const body = assessment.body;
        const name = typeof body.assessment_name === 'string' ? body.assessment_name : '';
        const createTime = assessment.createTime ?? info.requestTime;
        await tx.insertAssessment({
          assessmentId: assessment.assessmentId ?? `a-${randomUUID().replaceAll('-', '')}`,
          traceId: info.traceId,
          name,
          createTime,
          lastUpdateTime: assessment.lastUpdateTime ?? createTime,
          body,
        });
      }
      return true;
    });
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
      newRunId: () => randomUUID().replaceAll('-', ''),
    });
  }

  // ------------------------------------------------------------------ experiments

  private async importExperiment(source: MigrationSource, e: ExperimentPlan, options: ImportOptions, report: ImportReport): Promise<string | undefined> {
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

  // ------------------------------------------------------------------ runs

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

  /**
   * Copies every file below a source root that Trove does not already hold with the same size.
   * @returns how many files were copied
   */
  private async copyTree(source: MigrationSource, sourceRoot: string, owner: ArtifactOwner, targetRoot: string, report: ImportReport, what: string): Promise<number> {
    let copiedFiles = 0;
    const base = proxyPathFromArtifactUri(targetRoot);
    if (base === undefined) throw new Error(`Trove's artifact location ${targetRoot} is not served by its artifact proxy; use --default-artifact-root mlflow-artifacts:/ or --skip-artifacts`);
    for await (const file of source.listArtifacts(sourceRoot, owner)) {
      const target = base === '' ? file.path : `${base}/${file.path}`;
      try {
        const present = await this.targets.artifacts.stat(target);
        if (present && !present.isDir && file.size !== null && present.size === file.size) {
          report.artifactFilesUnchanged++;
          continue;
        }
        const opened = await source.openArtifact(sourceRoot, owner, file.path);
        const copied = await copyArtifact(this.targets.artifacts, opened, target, {
          expectedSize: file.size,
          expectedSha256: file.sha256 ?? null,
          onBytes: (n) => this.progress.bytes(n),
        });
        report.artifactFiles++;
        report.artifactBytes += copied.bytes;
        copiedFiles++;
      } catch (error) {
        // A run is not recorded as done while a file is missing, so the next import tries again.
        throw new Error(`${what}: artifact '${file.path}' could not be copied: ${(error as Error).message}`, { cause: error });
      }
    }
    return copiedFiles;
  }

  // ------------------------------------------------------------------ logged models

  private async importLoggedModels(
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

  // ------------------------------------------------------------------ registry

  private async importRegistry(source: MigrationSource, plan: ImportPlan, options: ImportOptions, report: ImportReport, roots: ArtifactRootMapping[]): Promise<void> {
    const modelState = await this.targets.imports.listState(source.key, 'registered-model');
    const versionState = await this.targets.imports.listState(source.key, 'model-version');
    const models: SourceRegisteredModel[] = [];
    try {
      for await (const m of source.registeredModels()) models.push(m);
    } catch (error) {
      report.warn(`The model registry could not be read: ${(error as Error).message}`);
      return;
    }
    if (models.length === 0) return;
    this.progress.phase('registered models', { items: models.length });
    // Longest roots first, so a logged model inside a run's folder maps to the logged model.
    const sortedRoots = [...roots].sort((a, b) => b.sourceRoot.length - a.sourceRoot.length);
    await forEachConcurrent(models, options.concurrency, async (model) => {
      try {
        await this.importRegisteredModel(source, model, plan, options, report, sortedRoots, modelState.has(model.name), versionState);
      } catch (error) {
        report.fail('registered models', model.name, error);
        this.progress.note(`registered model '${model.name}' failed: ${(error as Error).message}`);
      } finally {
        this.progress.item();
      }
    });
    this.progress.endPhase();
  }

  private async importRegisteredModel(
    source: MigrationSource,
    model: SourceRegisteredModel,
    plan: ImportPlan,
    options: ImportOptions,
    report: ImportReport,
    roots: ArtifactRootMapping[],
    importedBefore: boolean,
    versionState: Map<string, { fingerprint: string }>,
  ): Promise<void> {
    const { registry, imports } = this.targets;
    const versions = await source.modelVersions(model.name);
    const stamp = fingerprint({ model, versions });
    let existing = await registry.getRegisteredModel(options.projectId, model.name);
    if (existing && !importedBefore) {
      if (options.onConflict === 'skip') {
        report.count('registered models', 'skipped');
        report.conflicts.push({ name: `model ${model.name}`, resolution: 'skipped: the name is taken in Trove (--on-conflict skip)' });
        return;
      }
      if (options.onConflict !== 'merge') {
        throw new Error(`a registered model named '${model.name}' already exists in Trove and was not imported from this source (use --on-conflict merge or skip)`);
      }
      report.conflicts.push({ name: `model ${model.name}`, resolution: 'merged into the existing registered model (--on-conflict merge)' });
    }
    const modelStamp = (await imports.listState(source.key, 'registered-model')).get(model.name)?.fingerprint;
    if (existing && modelStamp === stamp) {
      report.count('registered models', 'unchanged');
      report.count('model versions', 'unchanged', versions.length);
      return;
    }
    let created = false;
    if (!existing) {
      await imports.putState(source.key, { kind: 'registered-model', sourceId: model.name, targetId: model.name, fingerprint: PENDING }, this.clock());
      await registry.createRegisteredModel({
        projectId: options.projectId,
        name: model.name,
        description: model.description,
        userId: model.userId,
        tags: model.tags,
        now: model.creationTimestamp,
      });
      existing = await registry.getRegisteredModel(options.projectId, model.name);
      if (!existing) throw new Error(`registered model '${model.name}' was not created`);
      created = true;
    } else {
      for (const tag of model.tags) await registry.setRegisteredModelTag(existing.pk, tag);
    }
    const modelPk = existing.pk;

    const sorted = [...versions].sort((a, b) => a.version - b.version);
    for (const version of sorted) {
      const key = `${model.name}/${version.version}`;
      const versionStamp = fingerprint(version);
      try {
        if (versionState.get(key)?.fingerprint === versionStamp && (await registry.getModelVersion(modelPk, version.version))) {
          report.count('model versions', 'unchanged');
          continue;
        }
        const had = await registry.getModelVersion(modelPk, version.version);
        if (had && !versionState.has(key)) throw new Error(`version ${version.version} of '${model.name}' already exists in Trove and was not imported from this source`);
        if (!had) await imports.putState(source.key, { kind: 'model-version', sourceId: key, targetId: key, fingerprint: PENDING }, this.clock());
        const storageLocation = had ? had.storageLocation : await this.versionStorage(version, modelPk, options, roots, report);
        const versionPk = await imports.upsertModelVersion({
          modelPk,
          version: version.version,
          creationTimestamp: version.creationTimestamp,
          lastUpdatedTimestamp: version.lastUpdatedTimestamp,
          userId: version.userId,
          currentStage: version.currentStage,
          description: version.description,
          source: this.translateSource(version.source, plan, roots),
          storageLocation,
          runId: version.runId ? (plan.runIdMap.get(version.runId) ?? version.runId) : null,
          runLink: version.runLink,
          status: version.status,
          statusMessage: version.statusMessage,
          modelId: version.modelId,
        });
        for (const tag of version.tags) await registry.setModelVersionTag(versionPk, tag);
        await imports.putState(source.key, { kind: 'model-version', sourceId: key, targetId: key, fingerprint: versionStamp }, this.clock());
        report.count('model versions', had ? 'updated' : 'created');
      } catch (error) {
        report.fail('model versions', key, error);
      }
    }
    for (const alias of model.aliases) {
      if (await registry.getModelVersion(modelPk, alias.version)) await registry.setAlias(modelPk, alias.alias, alias.version);
      else report.fail('model versions', `${model.name}@${alias.alias}`, new Error(`alias points at version ${alias.version}, which was not imported`));
    }
    await imports.setRegisteredModelFields(modelPk, {
      creationTimestamp: model.creationTimestamp,
      lastUpdatedTimestamp: model.lastUpdatedTimestamp,
      userId: model.userId,
      description: model.description,
    });
    await imports.putState(source.key, { kind: 'registered-model', sourceId: model.name, targetId: model.name, fingerprint: stamp }, this.clock());
    report.count('registered models', created ? 'created' : 'updated');
  }

  /**
   * Where an imported version's files live in Trove: its files at the source are found below an
   * imported run's or logged model's root and frozen into the registry's read-only copy, as a
   * version registered in Trove would be. A source outside everything imported (an s3:// bucket
   * the source server never served) is kept as it is, with a warning.
   */
  private async versionStorage(version: SourceModelVersion, modelPk: number, options: ImportOptions, roots: ArtifactRootMapping[], report: ImportReport): Promise<string> {
    const location = version.storageLocation ?? version.source;
    let mapped = mapThroughRoots(location, roots) ?? this.locationFromUri(version.source, roots);
    if (mapped !== undefined && !(await this.hasFiles(mapped))) {
      // MLflow 3 keeps a model logged in a run under the logged model, not the run's folder.
      const logged = this.loggedModelRootFor(version, roots);
      if (logged) mapped = logged;
    }
    if (mapped === undefined) {
      report.warn(`Model version ${version.name}/${version.version}: its files at ${location} are not below any imported run or logged model; the version keeps pointing there.`);
      return location;
    }
    const from = proxyPathFromArtifactUri(mapped);
    if (options.skipArtifacts || from === undefined || from === '') return mapped;
    if ((await this.targets.artifacts.list(from)).length === 0) return mapped;
    const to = `${registryArtifactRoot(options.projectId)}/${modelPk}/${randomBytes(16).toString('hex')}`;
    await this.targets.artifacts.copyPrefix(from, to);
    return `mlflow-artifacts:/${to}`;
  }

  private async hasFiles(location: string): Promise<boolean> {
    const path = proxyPathFromArtifactUri(location);
    if (path === undefined || path === '') return true;
    return (await this.targets.artifacts.list(path)).length > 0;
  }

  /** The imported logged model a version was registered from: by its model id, or by run and name. */
  private loggedModelRootFor(version: SourceModelVersion, roots: ArtifactRootMapping[]): string | undefined {
    if (version.modelId) {
      const byId = roots.find((r) => r.id === version.modelId && r.loggedModel);
      if (byId) return byId.targetRoot;
    }
    const runs = /^runs:\/([^/]+)\/([^/]+)\/?$/.exec(version.source);
    if (!runs) return undefined;
    return roots.find((r) => r.loggedModel?.sourceRunId === runs[1] && r.loggedModel?.name === runs[2])?.targetRoot;
  }

  /** `runs:/<id>/<path>` and `models:/<model id>` sources, resolved to the imported files. */
  private locationFromUri(uri: string, roots: ArtifactRootMapping[]): string | undefined {
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    const models = /^models:\/(m-[^/]+)\/?$/.exec(uri);
    const id = runs?.[1] ?? models?.[1];
    const root = id === undefined ? undefined : roots.find((r) => r.id === id);
    if (!root) return undefined;
    const path = runs?.[2] ?? '';
    return path === '' ? root.targetRoot : `${root.targetRoot.replace(/\/+$/, '')}/${path.replace(/\/+$/, '')}`;
  }

  /** A source given as a location the import moved (`mlflow-artifacts:/<exp>/<run>/...`) points at the new place. */
  private translateSource(sourceUri: string, plan: ImportPlan, roots: ArtifactRootMapping[]): string {
    const runs = /^runs:\/([^/]+)(\/.*)?$/.exec(sourceUri);
    if (runs) {
      const mapped = plan.runIdMap.get(runs[1]!);
      return mapped ? `runs:/${mapped}${runs[2] ?? ''}` : sourceUri;
    }
    if (/^(runs|models):/.test(sourceUri)) return sourceUri;
    return mapThroughRoots(sourceUri, roots) ?? sourceUri;
  }
}

/** The location below a target root that corresponds to `location` below a source root. */
function mapThroughRoots(location: string, roots: ArtifactRootMapping[]): string | undefined {
  const trimmed = location.replace(/\/+$/, '');
  for (const { sourceRoot, targetRoot } of roots) {
    const root = sourceRoot.replace(/\/+$/, '');
    if (trimmed === root) return targetRoot;
    if (trimmed.startsWith(`${root}/`)) return `${targetRoot.replace(/\/+$/, '')}${trimmed.slice(root.length)}`;
  }
  return undefined;
}

/** Tags that name runs (a nested run's parent) follow remapped ids. */
function remapTags(tags: KeyValue[], runIdMap: Map<string, string>): KeyValue[] {
  if (runIdMap.size === 0) return tags;
  return tags.map((t) => (t.key === 'mlflow.parentRunId' && runIdMap.has(t.value) ? { key: t.key, value: runIdMap.get(t.value)! } : t));
}

export type { SourceRun };
