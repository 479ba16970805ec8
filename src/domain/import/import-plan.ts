import type { ImportStateRecord, ImportStore } from '../../store/import-store.ts';
import type { TrackingStore } from '../../store/tracking-store.ts';
import type { MigrationSource, SourceExperiment, SourceRun } from './source.ts';
import { fingerprint, latestPointKey, stableJson } from './fingerprint.ts';

/** What to do with a source experiment whose name is taken in the target project. */
export type OnConflict = 'fail' | 'skip' | 'merge' | 'rename';

export interface ExperimentPlan {
  source: SourceExperiment;
  /** `create`: new in Trove; `merge`: into an existing experiment; `skip`: left out. */
  action: 'create' | 'merge' | 'skip';
  /** The Trove experiment to merge into (merge), or the id to keep (create, when free). */
  targetId: string | null;
  /** The name it gets in Trove (differs from the source's after --on-conflict rename). */
  targetName: string;
  /** Merged into an empty experiment that takes over the source's creation time and lifecycle. */
  adopt?: boolean;
  /** Why it is merged, renamed or skipped, for the report. */
  note?: string;
  runs: RunPlan[];
}

export interface RunPlan {
  source: SourceRun;
  /** The run id in Trove (the source's unless remapped). */
  targetId: string;
  /** `new`: not in Trove yet; `changed`: imported before, changed since; `unchanged`: nothing to do. */
  status: 'new' | 'changed' | 'unchanged';
  /** The state recorded at the last import, if any (tells which metric histories grew). */
  previous: RunFingerprint | undefined;
  fingerprint: RunFingerprint;
}

/** Recorded per run: a digest of everything but the metrics, and each metric's latest point. */
export interface RunFingerprint {
  data: string;
  metrics: Record<string, string>;
}

export interface ImportPlan {
  experiments: ExperimentPlan[];
  /** Source run id → Trove run id, for every run whose id changed. */
  runIdMap: Map<string, string>;
}

/** Raised before anything is written, when the import cannot go ahead as asked. */
export class ImportConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportConflictError';
  }
}

export function runFingerprint(run: SourceRun): RunFingerprint {
  const metrics: Record<string, string> = {};
  for (const m of run.latestMetrics) metrics[m.key] = latestPointKey(m);
  const { info, params, tags, datasetInputs, modelInputs, modelOutputs } = run;
  return { data: fingerprint({ info, params, tags, datasetInputs, modelInputs, modelOutputs }), metrics };
}

export function parseRunFingerprint(text: string): RunFingerprint | undefined {
  try {
    const parsed = JSON.parse(text) as RunFingerprint;
    return typeof parsed.data === 'string' && parsed.metrics && typeof parsed.metrics === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function sameFingerprint(a: RunFingerprint | undefined, b: RunFingerprint): boolean {
  return a !== undefined && stableJson(a) === stableJson(b);
}

const SAFE_ID = /^(0|[1-9][0-9]{0,14})$/;

/**
 * Reads the source's experiments and runs and decides, for each, what the import will do; checks
 * name and id conflicts up front so a refused import writes nothing.
 */
export async function planImport(input: {
  source: MigrationSource;
  tracking: TrackingStore;
  imports: ImportStore;
  projectId: number;
  onConflict: OnConflict;
  remapIds: boolean;
  /** Only these source experiment ids or names, when given. */
  experimentFilter?: string[];
  newRunId: () => string;
}): Promise<ImportPlan> {
  const { source, tracking, imports, projectId } = input;
  const experimentState = await imports.listState(source.key, 'experiment');
  const runState = await imports.listState(source.key, 'run');
  const plans: ExperimentPlan[] = [];
  const conflicts: string[] = [];
  const takenNames = new Set<string>();

  for await (const experiment of source.experiments()) {
    if (input.experimentFilter && !input.experimentFilter.includes(experiment.experimentId) && !input.experimentFilter.includes(experiment.name)) continue;
    plans.push(await planExperiment(experiment));
  }
  if (conflicts.length > 0) {
    throw new ImportConflictError(
      `These experiments already exist in the target project and were not imported from this source before:\n` +
        conflicts.map((c) => `  - ${c}`).join('\n') +
        `\nChoose what to do with --on-conflict skip (leave them out), merge (add the runs to the existing experiment) or rename (import as a new experiment with a suffixed name).`,
    );
  }

  const runIdMap = new Map<string, string>();
  const collisions: string[] = [];
  for (const plan of plans) {
    if (plan.action === 'skip') continue;
    for await (const run of source.runs(plan.source.experimentId)) {
      const state = runState.get(run.info.runId);
      const current = runFingerprint(run);
      if (state) {
        const previous = parseRunFingerprint(state.fingerprint);
        const exists = await tracking.getRunInfo(state.targetId);
        if (state.targetId !== run.info.runId) runIdMap.set(run.info.runId, state.targetId);
        const status = !exists ? 'new' : sameFingerprint(previous, current) ? 'unchanged' : 'changed';
        plan.runs.push({ source: run, targetId: state.targetId, status, previous: exists ? previous : undefined, fingerprint: current });
        continue;
      }
      let targetId = run.info.runId;
      if (await tracking.getRunInfo(targetId)) {
        if (!input.remapIds) {
          collisions.push(run.info.runId);
          continue;
        }
        targetId = input.newRunId();
        runIdMap.set(run.info.runId, targetId);
      }
      plan.runs.push({ source: run, targetId, status: 'new', previous: undefined, fingerprint: current });
    }
  }
  if (collisions.length > 0) {
    const shown = collisions.slice(0, 20).map((id) => `  - ${id}`).join('\n');
    throw new ImportConflictError(
      `${collisions.length} run id(s) of the source already exist in Trove and were not imported from this source:\n${shown}` +
        (collisions.length > 20 ? `\n  ... and ${collisions.length - 20} more` : '') +
        `\nNothing was written. Pass --remap-ids to give those runs new ids (the mapping is printed), or import into another Trove.`,
    );
  }
  return { experiments: plans, runIdMap };

  async function planExperiment(experiment: SourceExperiment): Promise<ExperimentPlan> {
    const base = { source: experiment, runs: [] as RunPlan[] };
    const state: ImportStateRecord | undefined = experimentState.get(experiment.experimentId);
    if (state) {
      const existing = await tracking.getExperiment(state.targetId);
      if (existing) return { ...base, action: 'merge', targetId: state.targetId, targetName: existing.name };
    }
    const existing = await tracking.getExperimentByName(projectId, experiment.name);
    if (!existing) {
      const keep = SAFE_ID.test(experiment.experimentId) && !(await imports.experimentIdTaken(Number(experiment.experimentId)));
      takenNames.add(experiment.name);
      return { ...base, action: 'create', targetId: keep ? experiment.experimentId : null, targetName: experiment.name };
    }
    // An experiment without runs (a fresh Trove's Default) loses nothing by being merged into.
    const runCount = (await tracking.countRuns([existing.experimentId], 'ALL')).get(existing.experimentId) ?? 0;
    if (runCount === 0) {
      return { ...base, action: 'merge', adopt: true, targetId: existing.experimentId, targetName: existing.name, note: 'merged into an existing empty experiment of the same name' };
    }
    switch (input.onConflict) {
      case 'fail':
        conflicts.push(`'${experiment.name}' (Trove experiment ${existing.experimentId}, ${runCount} run(s))`);
        return { ...base, action: 'skip', targetId: null, targetName: experiment.name };
      case 'skip':
        return { ...base, action: 'skip', targetId: null, targetName: experiment.name, note: 'skipped: the name is taken in Trove (--on-conflict skip)' };
      case 'merge':
        return { ...base, action: 'merge', targetId: existing.experimentId, targetName: existing.name, note: `merged into Trove experiment ${existing.experimentId} (--on-conflict merge)` };
      case 'rename': {
        let name = `${experiment.name} (imported)`;
        for (let n = 2; (await tracking.getExperimentByName(projectId, name)) || takenNames.has(name); n++) name = `${experiment.name} (imported ${n})`;
        takenNames.add(name);
        const keep = SAFE_ID.test(experiment.experimentId) && !(await imports.experimentIdTaken(Number(experiment.experimentId)));
        return { ...base, action: 'create', targetId: keep ? experiment.experimentId : null, targetName: name, note: `renamed to '${name}' (--on-conflict rename)` };
      }
    }
  }
}
