import { newRunId } from './run-id.ts';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { parseRunFilter, parseRunOrderBy } from '../search/index.ts';
import type { KeyValue, RunInfoRecord, RunRecord, RunSearchQuery, RunWire, ViewType } from '../../store/tracking-store.ts';
import { currentProjectId } from '../request-context.ts';
import { randomRunName } from './run-names.ts';
import { LIMITS, validateRunTagValue, validateSearchMaxResults, validateTagKey } from './validation.ts';
import { TrackingExperiments } from './tracking-experiments.ts';
import {
  DOWNSAMPLE_LIMITS,
  RUN_NAME_TAG,
  USER_TAG,
  LOG_MODEL_HISTORY_TAG,
  RUN_STATUSES,
  lastValue,
  runNotFound,
  type RunStatus,
  type SearchPage,
} from './tracking-base.ts';

/** An experiment id as the store prints it: digits without leading zeros, at most 15 of them. */
const CANONICAL_ID = /^(?:0|[1-9]\d{0,14})$/;

/** A runs search as the API names it (runs/search, GraphQL). */
export interface RunSearchInput {
  experimentIds: string[];
  filter?: string | undefined;
  viewType?: ViewType | undefined;
  maxResults?: number | undefined;
  orderBy?: string[] | undefined;
  pageToken?: string | undefined;
}

/** Runs: create, read, update, delete/restore, search, counts, MLflow 2's model history tag. */
export class TrackingRuns extends TrackingExperiments {
  async createRun(input: {
    experimentId?: string | undefined;
    userId?: string | undefined;
    runName?: string | undefined;
    startTime?: number | undefined;
    tags?: KeyValue[] | undefined;
  }): Promise<RunRecord> {
    const experimentId = input.experimentId === undefined || input.experimentId === '' ? '0' : input.experimentId;
    const storedExperimentId = await this.resolveExperimentId(experimentId);
    const runId = newRunId();
    const tags = [...(input.tags ?? [])];
    for (const tag of tags) {
      validateTagKey(tag.key);
      validateRunTagValue(tag.key, tag.value);
    }
    // run_name becomes the mlflow.runName tag, so it has the tag value limit (upstream too).
    if (input.runName) validateRunTagValue(RUN_NAME_TAG, input.runName);
    const tagName = lastValue(tags, RUN_NAME_TAG);
    if (input.runName && tagName !== undefined && tagName !== input.runName) {
      throw MlflowError.invalidParameter(
        `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.runName}', mlflow.runName='${tagName}').`,
      );
    }
    const runName = input.runName || tagName || randomRunName();
    if (tagName === undefined) tags.push({ key: RUN_NAME_TAG, value: runName });
    const fields = {
      runId,
      name: runName,
      userId: input.userId || lastValue(tags, USER_TAG) || '',
      status: 'RUNNING',
      startTime: input.startTime ?? this.clock.now(),
      tags,
    };
    const audit = (experimentIdStored: string) =>
      // Written by the store with the run itself (on PostgreSQL in the same statement).
      this.audit.entries({ action: 'run.create', entityType: 'run', entityId: runId, details: { experiment_id: experimentIdStored, run_name: runName } });
    // The common case in one store call: the store checks that the experiment exists in this project
    // and is active as it writes (on PostgreSQL one statement, no transaction; on SQLite inside the
    // group's transaction). An id in another spelling ("007") takes the checked path below, so the
    // audit entry and the answer name the experiment as stored.
    const projectId = currentProjectId();
    if (CANONICAL_ID.test(storedExperimentId)) {
      const created = await this.store.createRunInExperiment({
        ...fields,
        experimentId: storedExperimentId,
        projectId,
        artifactSuffix: `/${runId}/artifacts`,
        audit: audit(storedExperimentId),
      });
      if (created) {
        this.rememberProject({ experimentId: storedExperimentId, projectId });
        return created;
      }
    }
    // Nothing written: the experiment is unknown, of another project or not active, and the checks
    // here say which. One transaction for the checks, the writes and reading the new run back: on
    // SQLite the reads join the group commit instead of waiting for the group in progress
    // (runInfo explains).
    return this.store.transaction(async (tx) => {
      const experiment = await this.activeExperimentIn(tx, experimentId, storedExperimentId);
      // The store returns the new run as runs/get reads it (on PostgreSQL from the insert itself).
      return tx.createRun({
        ...fields,
        experimentId: experiment.experimentId,
        artifactUri: `${experiment.artifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`,
        audit: audit(experiment.experimentId),
      });
    });
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run || !(await this.inCurrentProject(run.info.experimentId))) throw runNotFound(runId);
    return run;
  }

  /** getRun for runs/get's answer: the run's MLflow JSON as text when the store builds it (TrackingStore.getRunWire), otherwise its record. */
  async getRunWire(runId: string): Promise<RunWire> {
    const run = await this.store.getRunWire(runId);
    if (!run || !(await this.inCurrentProject(run.info.experimentId))) throw runNotFound(runId);
    return run;
  }

  /**
   * Whether no project has a run with this id. A run of another project is not unknown: callers
   * that accept references to runs that do not exist (MLflow's registry does) must still refuse it.
   */
  async isUnknownRun(runId: string): Promise<boolean> {
    return (await this.store.getRunInfo(runId)) === undefined;
  }

  async getRunArtifactUri(runId: string): Promise<string> {
    return (await this.runInfo(runId)).artifactUri;
  }

  async updateRun(input: { runId: string; status?: string | undefined; endTime?: number | undefined; runName?: string | undefined }): Promise<RunInfoRecord> {
    const info = await this.activeRun(input.runId);
    const update: { status?: string; endTime?: number | null; name?: string } = {};
    if (input.status !== undefined) update.status = parseRunStatus(input.status);
    // MLflow stores end_time as given; an update without one (a rename, a resume) clears it.
    update.endTime = input.endTime ?? null;
    if (input.runName) validateRunTagValue(RUN_NAME_TAG, input.runName);
    if (input.runName) update.name = input.runName;
    await this.store.transaction(async (store) => {
      await store.updateRunInfo(info.pk, update);
      if (input.runName) await store.setRunTags(info.pk, [{ key: RUN_NAME_TAG, value: input.runName }]);
      await this.audit.record(store, {
        action: 'run.update',
        entityType: 'run',
        entityId: info.runId,
        details: { ...(update.status !== undefined ? { status: update.status } : {}), ...(input.runName ? { run_name: input.runName } : {}) },
      });
    });
    return this.runInfo(input.runId);
  }

  async deleteRun(runId: string): Promise<void> {
    const info = await this.runInfo(runId);
    await this.audited(
      (tx) => tx.setRunLifecycle(info.pk, 'deleted', this.clock.now()),
      () => ({ action: 'run.delete', entityType: 'run', entityId: info.runId }),
    );
  }

  async restoreRun(runId: string): Promise<void> {
    const info = await this.runInfo(runId);
    await this.audited(
      (tx) => tx.setRunLifecycle(info.pk, 'active', this.clock.now()),
      () => ({ action: 'run.restore', entityType: 'run', entityId: info.runId }),
    );
  }

  async searchRuns(input: RunSearchInput): Promise<SearchPage<RunRecord>> {
    const page = await this.store.searchRuns(await this.runSearchQuery(input));
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  /**
   * searchRuns for runs/search's answer: the page as the text of MLflow's JSON `runs` array when
   * the store builds it (TrackingStore.searchRunsWire), otherwise as records.
   */
  async searchRunsWire(input: RunSearchInput): Promise<{ json: string; nextPageToken?: string } | SearchPage<RunRecord>> {
    const page = await this.store.searchRunsWire(await this.runSearchQuery(input));
    const token = page.next ? { nextPageToken: encodePageToken(page.next) } : {};
    return 'json' in page ? { json: page.json, ...token } : { items: page.items, ...token };
  }

  private async runSearchQuery(input: RunSearchInput): Promise<RunSearchQuery> {
    const maxResults = input.maxResults ?? LIMITS.searchDefaultResults;
    validateSearchMaxResults(maxResults, 'hint');
    const filter = parseRunFilter(input.filter);
    const orderBy = parseRunOrderBy(input.orderBy);
    return {
      experimentIds: await this.experimentIdsInProject(input.experimentIds),
      filter,
      orderBy,
      viewType: input.viewType ?? 'ACTIVE_ONLY',
      maxResults,
      page: decodePageToken(input.pageToken),
    };
  }

  /**
   * Number of runs of each experiment (Trove's UI endpoint; MLflow has no count). Experiments
   * without runs, or unknown, count 0.
   * @throws INVALID_PARAMETER_VALUE for more than 1000 ids.
   */
  async countRuns(experimentIds: string[], viewType: ViewType = 'ACTIVE_ONLY'): Promise<Record<string, number>> {
    if (experimentIds.length > DOWNSAMPLE_LIMITS.countExperiments) {
      throw MlflowError.invalidParameter(`At most ${DOWNSAMPLE_LIMITS.countExperiments} experiment_ids are allowed, got ${experimentIds.length}.`);
    }
    const counts = await this.store.countRuns(await this.experimentIdsInProject(experimentIds), viewType);
    return Object.fromEntries(experimentIds.map((id) => [id, counts.get(id) ?? 0]));
  }

  /** MLflow 2's `runs/log-model`: appends the MLmodel JSON to the run's model history tag. */
  async logModelHistory(runId: string, modelJson: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(modelJson);
    } catch {
      throw MlflowError.invalidParameter(`Malformed model info. \n ${modelJson} \n is not a valid JSON.`);
    }
    const model = parsed as Record<string, unknown>;
    const missing = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'].filter((k) => !(k in (model ?? {})));
    if (!model || typeof model !== 'object' || missing.length > 0) {
      throw MlflowError.invalidParameter(`Model json is missing mandatory fields: ${missing.join(', ')}`);
    }
    const info = await this.activeRun(runId);
    const run = await this.getRun(info.runId);
    const current = run.tags.find((t) => t.key === LOG_MODEL_HISTORY_TAG)?.value;
    let history: unknown[] = [];
    if (current) {
      try {
        const value = JSON.parse(current) as unknown;
        if (Array.isArray(value)) history = value;
      } catch {
        history = [];
      }
    }
    history.push(model);
    await this.audited(
      (tx) => tx.setRunTags(info.pk, [{ key: LOG_MODEL_HISTORY_TAG, value: JSON.stringify(history) }]),
      () => ({ action: 'run.log_model', entityType: 'run', entityId: info.runId }),
    );
  }
}

/** Run status by name or by MLflow's enum number. */
export function parseRunStatus(status: string | number): RunStatus {
  const byNumber: Record<string, RunStatus> = { '1': 'RUNNING', '2': 'SCHEDULED', '3': 'FINISHED', '4': 'FAILED', '5': 'KILLED' };
  const text = String(status).toUpperCase();
  const resolved = byNumber[text] ?? (RUN_STATUSES as readonly string[]).find((s) => s === text);
  if (!resolved) {
    throw MlflowError.invalidParameter(`Invalid value ${JSON.stringify(status)} for parameter 'status' supplied. Valid values are ${RUN_STATUSES.join(', ')}.`);
  }
  return resolved as RunStatus;
}
