import { randomBytes } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { parseModelVersionFilter, parseModelVersionOrderBy, parseRegisteredModelFilter, parseRegisteredModelOrderBy } from '../search/index.ts';
import type { ArtifactService } from '../artifacts/artifact-service.ts';
import { normalizeArtifactPath, proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import type { Clock, SearchPage, TrackingService } from '../tracking/tracking-service.ts';
import { currentProjectId } from '../request-context.ts';
import { NO_AUDIT, type AuditChange, type AuditSink } from '../audit/audit-log.ts';
import { checkProxyPath, registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import type { KeyValue, LoggedModelRecord, RunRecord, StoreFilterClause, ViewType } from '../../store/tracking-store.ts';
import type { ModelVersionRecord, RegisteredModelRecord, RegistryStore } from '../../store/registry-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { NO_REGISTRY_EVENTS, type RegistryAction, type RegistryEntity, type RegistryEvent, type RegistryEventSink } from './registry-events.ts';
import { checkSourcePath, invalidSource, parseModelsUri, parseRunsUri, uriScheme } from './source-uri.ts';
import {
  ACTIVE_STAGES,
  applyPromptRule,
  canonicalStage,
  isPromptTagged,
  LATEST_ALIAS,
  parseVersion,
  REGISTRY_LIMITS,
  validateAliasName,
  validateModelName,
  validateNewAliasName,
  validateRegistryMaxResults,
  validateTag,
  validateTagKey,
  type Stage,
} from './validation.ts';

/** Tag carrying a version's free-form label (e.g. a semantic version); unique per model. */
export const VERSION_LABEL_TAG = 'trove.version_label';
/** Tag marking the `[model]<name>` experiment of a registered model; its value is the model name. */
export const MODEL_EXPERIMENT_TAG = 'trove.model_experiment';
/** The tag MLflow's client keeps on a logged model listing the versions registered from it. */
const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';
/** Versions are created ready: files are frozen (or referenced) before the row exists. */
const READY = 'READY';

/** The experiment holding a model's candidate runs, as GitLab names it. */
export function modelExperimentName(modelName: string): string {
  return `[model]${modelName}`;
}

export interface CreateModelVersionInput {
  name: unknown;
  source: unknown;
  runId?: string | undefined;
  tags?: KeyValue[] | undefined;
  runLink?: string | undefined;
  description?: string | undefined;
  modelId?: string | undefined;
}

export interface PromoteRunInput {
  runId: string;
  modelName: unknown;
  /** Folder of the run's artifacts (or name of its logged model) holding the model; default `model`. */
  artifactPath?: string | undefined;
  description?: string | undefined;
  /** Alias to point at the new version. */
  alias?: string | undefined;
  /** Free-form label (e.g. `1.4.0`), stored as tag `trove.version_label`. */
  versionLabel?: string | undefined;
  tags?: KeyValue[] | undefined;
  /** Create the registered model (and its experiment) when it does not exist yet. */
  createModelIfMissing?: boolean | undefined;
}

export interface CandidateRuns {
  /** The `[model]<name>` experiment, absent when it does not exist. */
  experimentId?: string;
  runs: RunRecord[];
  nextPageToken?: string;
  /** Versions of this model registered from each listed run, by run id. */
  versionsByRun: Record<string, number[]>;
}

/** Where a version's files come from, before they are frozen. */
interface ResolvedSource {
  /** The `source` stored on the version. */
  source: string;
  /** The location the files are at now (an artifact-proxy URI, s3://, a path...). */
  location: string;
  runId: string | null;
  loggedModel?: LoggedModelRecord;
}

interface RegistryServiceOptions {
  events?: RegistryEventSink | undefined;
  /** Every change is appended to the audit log in its transaction. */
  audit?: AuditSink | undefined;
  clock?: Clock | undefined;
}

/**
 * MLflow's model registry rules: registered models with tags and aliases, versions with stages
 * and tags, searches, and the sources versions are registered from. Versions are created READY
 * with their files frozen: a source served by our artifact proxy is copied into a registry-owned
 * folder first, so deleting or re-logging the run's artifacts never changes a registered version.
 *
 * Also GitLab's model–experiment link: every registered model (prompts aside) has an experiment
 * `[model]<name>` whose runs are the model's candidates, and `promoteRun` turns a run into the
 * next version. Every committed change is published to the RegistryEventSink.
 */
export class RegistryService {
  private readonly events: RegistryEventSink;
  private readonly audit: AuditSink;
  private readonly clock: Clock;

  /** The project of the running request: every lookup and search is limited to it. */
  private get projectId(): number {
    return currentProjectId();
  }

  constructor(
    private readonly store: RegistryStore,
    private readonly tracking: TrackingService,
    private readonly artifacts: ArtifactService,
    options: RegistryServiceOptions = {},
  ) {
    this.events = options.events ?? NO_REGISTRY_EVENTS;
    this.audit = options.audit ?? NO_AUDIT;
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  // ------------------------------------------------------------------ registered models

  /**
   * Creates a registered model and, unless it is a prompt, its `[model]<name>` experiment.
   * @throws MlflowError INVALID_PARAMETER_VALUE for a bad name or tag; RESOURCE_ALREADY_EXISTS
   */
  async createRegisteredModel(input: { name: unknown; tags?: KeyValue[] | undefined; description?: string | undefined }): Promise<RegisteredModelRecord> {
    const name = validateModelName(input.name);
    const tags = (input.tags ?? []).map(validateTag);
    const isPrompt = isPromptTagged(tags);
    const existing = await this.store.getRegisteredModel(this.projectId, name);
    if (existing) throw modelExists(name, isPromptTagged(existing.tags), isPrompt);
    // The experiment first: it is idempotent, so a model never exists without it.
    if (!isPrompt) await this.ensureModelExperiment(name);
    const now = this.clock.now();
    try {
      return await this.change(async (store, emit) => {
        await store.createRegisteredModel({ projectId: this.projectId, name, description: input.description ?? null, userId: null, tags, now });
        emit('registered_model', 'created', name, { name, tags: tagMap(tags), description: input.description ?? null, ...promptFlag(isPrompt) }, now);
        return this.requireModel(name, store);
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw modelExists(name, false, isPrompt);
      throw error;
    }
  }

  /** @throws MlflowError RESOURCE_DOES_NOT_EXIST "Registered Model with name=X not found" */
  async getRegisteredModel(name: unknown): Promise<RegisteredModelRecord> {
    return this.requireModel(validateModelName(name));
  }

  /**
   * Renames a model; versions, tags and aliases follow, and so does its `[model]` experiment.
   * @throws MlflowError RESOURCE_ALREADY_EXISTS when the new name is taken
   */
  async renameRegisteredModel(name: unknown, newName: unknown): Promise<RegisteredModelRecord> {
    const oldName = validateModelName(name);
    const target = validateModelName(newName, 'new_name');
    const model = await this.requireModel(oldName);
    if (target === oldName) return model;
    if (await this.store.getRegisteredModel(this.projectId, target)) throw modelExists(target, false, false);
    const now = this.clock.now();
    let renamed: RegisteredModelRecord;
    try {
      renamed = await this.change(async (store, emit) => {
        await store.renameRegisteredModel(model.pk, target, now);
        emit('registered_model', 'updated', target, { name: target, previous_name: oldName, ...promptFlag(isPromptTagged(model.tags)) }, now);
        return this.requireModel(target, store);
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw modelExists(target, false, false);
      throw error;
    }
    await this.renameModelExperiment(oldName, target);
    return renamed;
  }

  /** Sets the description (absent clears it). */
  async updateRegisteredModel(name: unknown, description: string | undefined): Promise<RegisteredModelRecord> {
    const model = await this.requireModel(validateModelName(name));
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      await store.updateRegisteredModel(model.pk, { description: description ?? null, now });
      emit('registered_model', 'updated', model.name, { name: model.name, description: description ?? null, ...this.promptOf(model) }, now);
      return this.requireModel(model.name, store);
    });
  }

  /**
   * Deletes a model with all its versions, tags and aliases, and the frozen copies of its
   * versions' files. Its `[model]` experiment and runs stay: they are tracking data.
   */
  async deleteRegisteredModel(name: unknown): Promise<void> {
    const model = await this.requireModel(validateModelName(name));
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.deleteRegisteredModel(model.pk);
      emit('registered_model', 'deleted', model.name, { name: model.name, ...this.promptOf(model) }, now);
    });
    await this.deleteFrozenFiles(`${registryArtifactRoot(this.projectId)}/${model.pk}`);
  }

  /** `registered-models/search`: default 100 per page, at most 1000; prompts excluded unless asked for. */
  async searchRegisteredModels(input: {
    filter?: string | undefined;
    maxResults?: number | undefined;
    orderBy?: string[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<RegisteredModelRecord>> {
    const maxResults = input.maxResults ?? REGISTRY_LIMITS.searchModelsDefault;
    validateRegistryMaxResults(maxResults, REGISTRY_LIMITS.searchModelsMax);
    const { clauses, excludePrompts } = applyPromptRule(parseRegisteredModelFilter(input.filter));
    const orderBy = parseRegisteredModelOrderBy(input.orderBy);
    const page = await this.store.searchRegisteredModels({
      projectId: this.projectId,
      filter: clauses,
      excludePrompts,
      orderBy,
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  /**
   * For each requested stage (every stage, `None` included, when none is requested) the model's
   * highest version in that stage.
   */
  async getLatestVersions(name: unknown, stages: string[] = []): Promise<ModelVersionRecord[]> {
    const model = await this.requireModel(validateModelName(name));
    const wanted = new Set<string>(stages.map(canonicalStage));
    const latest = wanted.size === 0 ? model.latestVersions : model.latestVersions.filter((v) => wanted.has(v.currentStage));
    return [...latest].sort((a, b) => a.version - b.version);
  }

  async setRegisteredModelTag(name: unknown, tag: KeyValue): Promise<void> {
    const modelName = validateModelName(name);
    const valid = validateTag(tag);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.setRegisteredModelTag(model.pk, valid);
      emit('registered_model', 'updated', model.name, { name: model.name, tag: { key: valid.key, value: valid.value }, ...this.promptOf(model) }, now);
    });
  }

  /** Deleting a tag the model does not have succeeds, as upstream. */
  async deleteRegisteredModelTag(name: unknown, key: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const validKey = validateTagKey(key);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if (await store.deleteRegisteredModelTag(model.pk, validKey)) {
        emit('registered_model', 'updated', model.name, { name: model.name, deleted_tag: validKey, ...this.promptOf(model) }, now);
      }
    });
  }

  // ------------------------------------------------------------------ aliases

  /**
   * Points an alias at a version (creating or moving it).
   * @throws MlflowError INVALID_PARAMETER_VALUE for a bad or reserved alias or version;
   *   RESOURCE_DOES_NOT_EXIST for an unknown model or version
   */
  async setAlias(name: unknown, alias: unknown, version: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const aliasName = validateNewAliasName(alias);
    const number = parseVersion(version);
    const model = await this.requireModel(modelName);
    await this.requireVersion(model, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      const previous = await store.setAlias(model.pk, aliasName, number);
      emit('model_version_alias', 'created', model.name, {
        name: model.name,
        alias: aliasName,
        version: String(number),
        ...(previous !== undefined && previous !== number ? { previous_version: String(previous) } : {}),
        ...this.promptOf(model),
      }, now);
    });
  }

  /** Deleting an alias the model does not have succeeds, as upstream. */
  async deleteAlias(name: unknown, alias: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const aliasName = validateAliasName(alias);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if ((await store.deleteAlias(model.pk, aliasName)) !== undefined) {
        emit('model_version_alias', 'deleted', model.name, { name: model.name, alias: aliasName, ...this.promptOf(model) }, now);
      }
    });
  }

  /**
   * The version an alias points at; `latest` (any case) is the highest version.
   * @throws MlflowError INVALID_PARAMETER_VALUE "Registered model alias X not found." (400, not
   *   404: the client relies on it)
   */
  async getVersionByAlias(name: unknown, alias: unknown): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const aliasName = validateAliasName(alias);
    const model = await this.requireModel(modelName);
    if (aliasName.toLowerCase() === LATEST_ALIAS) {
      const highest = highestVersion(model.latestVersions);
      if (!highest) throw MlflowError.notFound(`Latest version not found for model ${modelName}.`);
      return highest;
    }
    const version = await this.store.getAlias(model.pk, aliasName);
    if (version === undefined) throw MlflowError.invalidParameter(`Registered model alias ${aliasName} not found.`);
    return this.requireVersion(model, version);
  }

  // ------------------------------------------------------------------ model versions

  /**
   * Creates the next version of a model from a source: `models:/m-<id>` (a logged model),
   * `models:/<name>/<version|stage|latest>` or `models:/<name>@<alias>` (another registered
   * version), `runs:/<run_id>/<path>` (a run's artifacts, or its logged model of that name),
   * `mlflow-artifacts:/...`, or any other URI (stored as given). Files the artifact proxy serves
   * are copied into a registry-owned folder first and served from there ever after.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for bad input or a source that does not match
   *   run_id / model_id; RESOURCE_DOES_NOT_EXIST for an unknown model
   */
  async createModelVersion(input: CreateModelVersionInput): Promise<ModelVersionRecord> {
    const name = validateModelName(input.name);
    if (typeof input.source !== 'string' || input.source === '') throw missingSource();
    const tags = (input.tags ?? []).map(validateTag);
    const model = await this.requireModel(name);
    await this.checkVersionLabel(model, lastTagValue(tags, VERSION_LABEL_TAG));
    const resolved = await this.resolveSource(input.source, input.runId || null, input.modelId || null, false);
    return this.createVersion(model, resolved, { tags, description: input.description ?? null, runLink: input.runLink || null });
  }

  /** @throws MlflowError RESOURCE_DOES_NOT_EXIST "Model Version (name=X, version=N) not found" */
  async getModelVersion(name: unknown, version: unknown): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    return this.requireVersion(await this.requireModel(modelName), number);
  }

  /** Sets a version's description (absent clears it, as upstream). */
  async updateModelVersion(name: unknown, version: unknown, description: string | undefined): Promise<ModelVersionRecord> {
    const current = await this.getModelVersion(name, version);
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      await store.updateModelVersion(current.pk, { description: description ?? null, now });
      emit('model_version', 'updated', current.name, {
        name: current.name,
        version: String(current.version),
        description: description ?? null,
      }, now);
      return this.requireVersionIn(store, current.modelPk, current.name, current.version);
    });
  }

  /**
   * Moves a version to a stage (case-insensitive); with `archiveExisting`, the model's other
   * versions in that stage (Staging or Production only) move to Archived.
   */
  async transitionStage(name: unknown, version: unknown, stage: string, archiveExisting: boolean): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const target = canonicalStage(stage);
    if (archiveExisting && !ACTIVE_STAGES.includes(target)) {
      throw MlflowError.invalidParameter(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ['Staging', 'Production']`,
      );
    }
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      const archived = archiveExisting ? await store.archiveVersionsInStage(model.pk, target, number, now) : [];
      await store.setModelVersionStage(current.pk, target, now);
      await store.touchRegisteredModel(model.pk, now);
      for (const other of archived) {
        emit('model_version', 'updated', model.name, { name: model.name, version: String(other), current_stage: 'Archived', previous_stage: target }, now);
      }
      emit('model_version', 'updated', model.name, {
        name: model.name,
        version: String(number),
        current_stage: target,
        previous_stage: current.currentStage,
      }, now);
      return this.requireVersionIn(store, model.pk, model.name, number);
    });
  }

  /**
   * Deletes a version: its number stays taken, its aliases go, and so does its frozen copy.
   */
  async deleteModelVersion(name: unknown, version: unknown): Promise<void> {
    const current = await this.getModelVersion(name, version);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      const removedAliases = await store.deleteModelVersion(current.pk, now);
      for (const alias of removedAliases) emit('model_version_alias', 'deleted', current.name, { name: current.name, alias }, now);
      emit('model_version', 'deleted', current.name, { name: current.name, version: String(current.version) }, now);
    });
    const frozen = proxyPathOrUndefined(current.storageLocation);
    if (frozen?.startsWith(`${registryArtifactRoot(this.projectId)}/${current.modelPk}/`)) await this.deleteFrozenFiles(frozen);
  }

  /** `model-versions/search`: default 10000 per page, at most 200000; prompt versions excluded unless asked for. */
  async searchModelVersions(input: {
    filter?: string | undefined;
    maxResults?: number | undefined;
    orderBy?: string[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<ModelVersionRecord>> {
    const maxResults = input.maxResults ?? REGISTRY_LIMITS.searchVersionsDefault;
    validateRegistryMaxResults(maxResults, REGISTRY_LIMITS.searchVersionsMax);
    const { clauses, excludePrompts } = applyPromptRule(parseModelVersionFilter(input.filter));
    const orderBy = parseModelVersionOrderBy(input.orderBy);
    const page = await this.store.searchModelVersions({
      projectId: this.projectId,
      filter: clauses,
      excludePrompts,
      orderBy,
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  /** Where the version's files are served from: its frozen copy, or its source. */
  async getDownloadUri(name: unknown, version: unknown): Promise<string> {
    return (await this.getModelVersion(name, version)).storageLocation;
  }

  /**
   * Sets a version tag. The label tag `trove.version_label` must be unique among the model's
   * live versions.
   */
  async setModelVersionTag(name: unknown, version: unknown, tag: KeyValue): Promise<void> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const valid = validateTag(tag);
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    if (valid.key === VERSION_LABEL_TAG) await this.checkVersionLabel(model, valid.value, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.setModelVersionTag(current.pk, valid);
      emit('model_version_tag', 'set', model.name, {
        name: model.name,
        version: String(number),
        key: valid.key,
        value: valid.value,
        ...this.promptOf(model),
      }, now);
    });
  }

  /** Deleting a tag the version does not have succeeds, as upstream. */
  async deleteModelVersionTag(name: unknown, version: unknown, key: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const validKey = validateTagKey(key);
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if (await store.deleteModelVersionTag(current.pk, validKey)) {
        emit('model_version_tag', 'deleted', model.name, { name: model.name, version: String(number), key: validKey, ...this.promptOf(model) }, now);
      }
    });
  }

  // ------------------------------------------------------------------ GitLab's model experiments

  /**
   * The model's candidate runs: the runs of its `[model]<name>` experiment, newest first by
   * default, each with the versions already registered from it.
   */
  async listCandidateRuns(
    name: unknown,
    input: { filter?: string | undefined; orderBy?: string[] | undefined; maxResults?: number | undefined; pageToken?: string | undefined; viewType?: ViewType | undefined } = {},
  ): Promise<CandidateRuns> {
    const model = await this.requireModel(validateModelName(name));
    const experimentId = await this.modelExperimentId(model.name);
    if (experimentId === undefined) return { runs: [], versionsByRun: {} };
    const page = await this.tracking.searchRuns({
      experimentIds: [experimentId],
      filter: input.filter,
      orderBy: input.orderBy,
      maxResults: input.maxResults ?? 100,
      pageToken: input.pageToken,
      viewType: input.viewType,
    });
    const versionsByRun: Record<string, number[]> = {};
    const runIds = page.items.map((r) => r.info.runId);
    if (runIds.length > 0) {
      const filter: StoreFilterClause[] = [
        { entity: 'attribute', key: 'name', comparator: '=', value: model.name },
        { entity: 'attribute', key: 'run_id', comparator: 'IN', value: runIds },
      ];
      const versions = await this.store.searchModelVersions({
        projectId: this.projectId,
        filter,
        excludePrompts: false,
        orderBy: [{ entity: 'attribute', key: 'version_number', ascending: true }],
        maxResults: REGISTRY_LIMITS.searchVersionsMax,
        page: { offset: 0, snapshot: null },
      });
      for (const v of versions.items) if (v.runId) (versionsByRun[v.runId] ??= []).push(v.version);
    }
    return {
      experimentId,
      runs: page.items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      versionsByRun,
    };
  }

  /**
   * Promotes a run to the next version of a model (the UI's Promote button): the source is
   * `runs:/<run>/<artifactPath>`, resolved to the run's files at that path, or, when there are
   * none, to the run's MLflow 3 logged model of that name. Optionally sets an alias and a label.
   *
   * @throws MlflowError RESOURCE_DOES_NOT_EXIST for an unknown run, or an unknown model when
   *   `createModelIfMissing` is off; INVALID_PARAMETER_VALUE when the run has no model at the path
   */
  async promoteRun(input: PromoteRunInput): Promise<ModelVersionRecord> {
    const name = validateModelName(input.modelName, 'model_name');
    const alias = input.alias === undefined || input.alias === '' ? undefined : validateNewAliasName(input.alias);
    const artifactPath = normalizeArtifactPath(input.artifactPath ?? 'model', { directory: true, allowRoot: true });
    const tags = (input.tags ?? []).map(validateTag);
    if (input.versionLabel !== undefined && input.versionLabel !== '') {
      tags.push(validateTag({ key: VERSION_LABEL_TAG, value: input.versionLabel }));
    }
    if (!input.runId) throw MlflowError.invalidParameter("Missing value for required parameter 'run_id'.");
    const run = await this.tracking.getRun(input.runId);
    const source = `runs:/${run.info.runId}${artifactPath === '' ? '' : `/${artifactPath}`}`;
    const resolved = await this.resolveSource(source, run.info.runId, null, true);

    let model = await this.store.getRegisteredModel(this.projectId, name);
    if (!model) {
      if (!input.createModelIfMissing) throw modelNotFound(name);
      try {
        model = await this.createRegisteredModel({ name });
      } catch (error) {
        // Created concurrently: promote into it.
        if (!(error instanceof MlflowError) || error.code !== 'RESOURCE_ALREADY_EXISTS') throw error;
        model = await this.requireModel(name);
      }
    }
    await this.checkVersionLabel(model, lastTagValue(tags, VERSION_LABEL_TAG));
    const created = await this.createVersion(model, resolved, { tags, description: input.description ?? null, runLink: null });
    if (created.modelId) await this.recordRegistrationOnLoggedModel(created);
    if (alias !== undefined) {
      await this.setAlias(model.name, alias, created.version);
      return this.requireVersion(model, created.version);
    }
    return created;
  }

  // ------------------------------------------------------------------ internals

  /**
   * Runs one change in a transaction and publishes its events to the sink inside it, after all
   * of the change's writes (see RegistryEventSink).
   */
  private async change<T>(
    work: (store: RegistryStore, emit: (entity: RegistryEntity, action: RegistryAction, name: string, data: Record<string, unknown>, timestamp: number) => void) => Promise<T>,
  ): Promise<T> {
    return this.store.transaction(async (store) => {
      const events: RegistryEvent[] = [];
      const result = await work(store, (entity, action, name, data, timestamp) => events.push({ entity, action, name, data, timestamp }));
      if (events.length > 0) await this.events.publish(events, store);
      // Every registry change emits its events, so they are also what the audit log records.
      await this.audit.record(store, ...events.map(auditChangeOf));
      return result;
    });
  }

  private async requireModel(name: string, store: RegistryStore = this.store): Promise<RegisteredModelRecord> {
    const model = await store.getRegisteredModel(this.projectId, name);
    if (!model) throw modelNotFound(name);
    return model;
  }

  private async requireVersion(model: RegisteredModelRecord, version: number): Promise<ModelVersionRecord> {
    return this.requireVersionIn(this.store, model.pk, model.name, version);
  }

  private async requireVersionIn(store: RegistryStore, modelPk: number, name: string, version: number): Promise<ModelVersionRecord> {
    const found = await store.getModelVersion(modelPk, version);
    if (!found) throw MlflowError.notFound(`Model Version (name=${name}, version=${version}) not found`);
    return found;
  }

  private promptOf(model: RegisteredModelRecord): { is_prompt?: true } {
    return promptFlag(isPromptTagged(model.tags));
  }

  /** A version label must not already name another live version of the model. */
  private async checkVersionLabel(model: RegisteredModelRecord, label: string | undefined, exceptVersion?: number): Promise<void> {
    if (label === undefined) return;
    const holders = (await this.store.findVersionsByTag(model.pk, VERSION_LABEL_TAG, label)).filter((v) => v !== exceptVersion);
    if (holders.length > 0) {
      throw MlflowError.alreadyExists(`Version label '${label}' is already used by version ${holders[0]} of registered model '${model.name}'.`);
    }
  }

  /**
   * Works out where a source's files are, checking it against `run_id` / `model_id`.
   *
   * @param requireFiles for promotion: a run without files at the path and without a logged
   *   model of that name is an error rather than an empty version
   */
  private async resolveSource(source: string, runId: string | null, modelId: string | null, requireFiles: boolean): Promise<ResolvedSource> {
    checkSourcePath(source);
    const scheme = uriScheme(source);
    const givenModel = modelId ? await this.loggedModelFor(source, modelId) : undefined;

    if (scheme === 'models') {
      const parsed = parseModelsUri(source);
      if (parsed.kind === 'logged-model') {
        if (modelId && modelId !== parsed.modelId) throw invalidSource(source, 'model_id');
        const logged = givenModel ?? (await this.loggedModelFor(source, parsed.modelId));
        return { source, location: logged.artifactUri, runId: runId ?? logged.sourceRunId, loggedModel: logged };
      }
      // Another registered version: its files are already frozen; copy them again so every
      // registry copy belongs to exactly one version.
      const referenced = await this.resolveModelsUri(parsed);
      return {
        source: `models:/${referenced.name}/${referenced.version}`,
        location: referenced.storageLocation,
        runId: runId ?? referenced.runId,
        ...(givenModel ? { loggedModel: givenModel } : {}),
      };
    }

    if (scheme === 'runs') {
      const parsed = parseRunsUri(source);
      // A run's files are not a logged model's: upstream refuses this combination too.
      if (givenModel) throw invalidSource(source, 'model_id');
      if (runId && runId !== parsed.runId) throw invalidSource(source, 'run_id');
      const run = await this.runFor(source, parsed.runId);
      const path = normalizeArtifactPath(parsed.path, { directory: true, allowRoot: true });
      const location = path === '' ? run.info.artifactUri : `${run.info.artifactUri.replace(/\/+$/, '')}/${path}`;
      if (await this.hasProxiedFiles(location)) return { source, location, runId: parsed.runId };
      // MLflow 3's log_model stores the files under a logged model named like the path.
      const logged = path === '' ? undefined : await this.loggedModelOfRun(run, path);
      if (logged) return { source, location: logged.artifactUri, runId: parsed.runId, loggedModel: logged };
      if (requireFiles) {
        throw MlflowError.invalidParameter(`Run '${parsed.runId}' has no artifacts at '${path}' and no logged model named '${path}'.`);
      }
      return { source, location, runId: parsed.runId };
    }

    if (scheme === 'mlflow-artifacts') {
      const path = proxyPathOrUndefined(source);
      if (path === undefined) throw invalidSource(source, 'run_id');
      checkProxyPath(path, 'read');
      if (runId) await this.runFor(source, runId);
    }
    return { source, location: source, runId: runId ?? givenModel?.sourceRunId ?? null, ...(givenModel ? { loggedModel: givenModel } : {}) };
  }

  private async resolveModelsUri(parsed: Exclude<ReturnType<typeof parseModelsUri>, { kind: 'logged-model' }>): Promise<ModelVersionRecord> {
    const model = await this.requireModel(validateModelName(parsed.name));
    switch (parsed.kind) {
      case 'version':
        return this.requireVersion(model, parsed.version);
      case 'latest': {
        const highest = highestVersion(model.latestVersions);
        if (!highest) throw MlflowError.notFound(`Latest version not found for model ${model.name}.`);
        return highest;
      }
      case 'stage': {
        const stage: Stage = canonicalStage(parsed.stage);
        const inStage = model.latestVersions.find((v) => v.currentStage === stage);
        if (!inStage) throw MlflowError.notFound(`No versions of model with name '${model.name}' and stage '${stage}' found`);
        return inStage;
      }
      case 'alias':
        return this.getVersionByAlias(model.name, parsed.alias);
    }
  }

  /** Copies proxied files into the registry, then creates the version row; nothing half-written. */
  private async createVersion(
    model: RegisteredModelRecord,
    resolved: ResolvedSource,
    extra: { tags: KeyValue[]; description: string | null; runLink: string | null },
  ): Promise<ModelVersionRecord> {
    const frozen = await this.freeze(model, resolved.location);
    const now = this.clock.now();
    const logged = resolved.loggedModel;
    try {
      return await this.change(async (store, emit) => {
        // The model may have gone while the files were copied.
        const current = await this.requireModel(model.name, store);
        const created = await store.createModelVersion({
          modelPk: current.pk,
          source: resolved.source,
          storageLocation: frozen ?? resolved.location,
          runId: resolved.runId,
          runLink: extra.runLink,
          description: extra.description,
          userId: null,
          status: READY,
          stage: 'None',
          modelId: logged?.modelId ?? null,
          modelParams: logged?.params ?? [],
          modelMetrics: logged?.metrics ?? [],
          tags: extra.tags,
          now,
        });
        emit('model_version', 'created', current.name, {
          name: current.name,
          version: String(created.version),
          source: created.source,
          run_id: created.runId,
          tags: tagMap(created.tags),
          description: created.description,
          ...this.promptOf(current),
        }, now);
        return created;
      });
    } catch (error) {
      if (frozen) await this.deleteFrozenFiles(proxyPathOrUndefined(frozen));
      throw error;
    }
  }

  /**
   * Copies the files at a proxied location into `registry/<model pk>/<random id>`.
   * @returns the copy's URI, or undefined when the location is not served by our proxy or holds
   *   no folder of files (then the version references its source as given)
   */
  private async freeze(model: RegisteredModelRecord, location: string): Promise<string | undefined> {
    const from = proxyPathOrUndefined(location);
    if (from === undefined || from === '') return undefined;
    // Only files of this project can be frozen into it (a source naming another project's path reads as missing).
    checkProxyPath(from, 'read');
    if ((await this.artifacts.list(from)).length === 0) return undefined;
    const to = `${registryArtifactRoot(this.projectId)}/${model.pk}/${randomBytes(16).toString('hex')}`;
    try {
      await this.artifacts.copyFolder(from, to);
    } catch (error) {
      await this.deleteFrozenFiles(to);
      throw error;
    }
    return `mlflow-artifacts:/${to}`;
  }

  private async deleteFrozenFiles(path: string | undefined): Promise<void> {
    if (!path) return;
    try {
      await this.artifacts.delete(path);
    } catch {
      // Best effort: an orphaned copy costs space, never correctness.
    }
  }

  private async hasProxiedFiles(location: string): Promise<boolean> {
    const path = proxyPathOrUndefined(location);
    if (path === undefined || path === '') return false;
    return (await this.artifacts.list(path)).length > 0;
  }

  private async loggedModelFor(source: string, modelId: string): Promise<LoggedModelRecord> {
    try {
      return await this.tracking.getLoggedModel(modelId);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') throw invalidSource(source, 'model_id');
      throw error;
    }
  }

  private async runFor(source: string, runId: string): Promise<RunRecord> {
    try {
      return await this.tracking.getRun(runId);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') throw invalidSource(source, 'run_id');
      throw error;
    }
  }

  /** The run's logged model named `name` (the newest if several, as the client picks by step). */
  private async loggedModelOfRun(run: RunRecord, name: string): Promise<LoggedModelRecord | undefined> {
    const quoted = quoteFilterValue(name);
    if (quoted === undefined) return undefined;
    const page = await this.tracking.searchLoggedModels({
      experimentIds: [run.info.experimentId],
      filter: `name = ${quoted} AND source_run_id = '${run.info.runId}'`,
      maxResults: 100,
    });
    if (page.items.length <= 1) return page.items[0];
    const stepOf = new Map(run.modelOutputs.map((o) => [o.modelId, o.step]));
    return [...page.items].sort((a, b) => (stepOf.get(b.modelId) ?? -1) - (stepOf.get(a.modelId) ?? -1))[0];
  }

  /** Appends the version to the logged model's `mlflow.modelVersions` tag, as the MLflow client does. */
  private async recordRegistrationOnLoggedModel(version: ModelVersionRecord): Promise<void> {
    if (!version.modelId) return;
    try {
      const logged = await this.tracking.getLoggedModel(version.modelId);
      const entry = { name: version.name, version: String(version.version) };
      let list: unknown[] = [];
      const current = logged.tags.find((t) => t.key === MODEL_VERSIONS_TAG)?.value;
      if (current) {
        try {
          const parsed = JSON.parse(current) as unknown;
          if (Array.isArray(parsed)) list = parsed;
        } catch {
          list = [];
        }
      }
      list.push(entry);
      await this.tracking.setLoggedModelTags(version.modelId, [{ key: MODEL_VERSIONS_TAG, value: JSON.stringify(list) }]);
    } catch {
      // The link back is informative only; the version exists either way.
    }
  }

  /** Creates (or adopts) the `[model]<name>` experiment and tags it as the model's. */
  private async ensureModelExperiment(name: string): Promise<void> {
    const experimentName = modelExperimentName(name);
    const tags: KeyValue[] = [
      { key: MODEL_EXPERIMENT_TAG, value: name },
      { key: 'mlflow.note.content', value: `Candidate runs of registered model '${name}'. Promote a run to create a new version of the model.` },
    ];
    const existing = await this.findExperiment(experimentName);
    if (existing) {
      if (existing.lifecycleStage === 'active' && !existing.tags.some((t) => t.key === MODEL_EXPERIMENT_TAG && t.value === name)) {
        await this.tracking.setExperimentTag(existing.experimentId, tags[0]!);
      }
      return;
    }
    try {
      await this.tracking.createExperiment({ name: experimentName, tags });
    } catch (error) {
      if (!(error instanceof MlflowError) || error.code !== 'RESOURCE_ALREADY_EXISTS') throw error;
    }
  }

  /** After a model rename, its experiment follows when it is the model's and the new name is free. */
  private async renameModelExperiment(oldName: string, newName: string): Promise<void> {
    try {
      const experiment = await this.findExperiment(modelExperimentName(oldName));
      if (!experiment || experiment.lifecycleStage !== 'active') return;
      if (!experiment.tags.some((t) => t.key === MODEL_EXPERIMENT_TAG && t.value === oldName)) return;
      if (await this.findExperiment(modelExperimentName(newName))) return;
      await this.tracking.renameExperiment(experiment.experimentId, modelExperimentName(newName));
      await this.tracking.setExperimentTag(experiment.experimentId, { key: MODEL_EXPERIMENT_TAG, value: newName });
    } catch (error) {
      // The rename of the model has committed; a failed experiment rename must not undo it.
      if (!(error instanceof MlflowError) || error.status >= 500) throw error;
    }
  }

  private async modelExperimentId(name: string): Promise<string | undefined> {
    return (await this.findExperiment(modelExperimentName(name)))?.experimentId;
  }

  private async findExperiment(name: string) {
    try {
      return await this.tracking.getExperimentByName(name);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }
}

/** The audit entry of a registry event: `<entity>.<verb>` on the model, version or alias. */
function auditChangeOf(event: RegistryEvent): AuditChange {
  const data = event.data;
  const version = typeof data.version === 'string' ? data.version : undefined;
  const details: Record<string, unknown> = {};
  for (const key of ['version', 'previous_version', 'current_stage', 'previous_stage', 'previous_name', 'key', 'deleted_tag', 'run_id', 'is_prompt']) {
    if (data[key] !== undefined && data[key] !== null) details[key] = data[key];
  }
  if (isRecordValue(data.tag) && typeof data.tag.key === 'string') details.key = data.tag.key;
  if ('description' in data && event.action === 'updated') details.description_changed = true;
  const verb = { created: 'create', updated: 'update', deleted: 'delete', set: 'set' }[event.action];
  switch (event.entity) {
    case 'registered_model':
      return { action: `registered_model.${verb}`, entityType: 'registered_model', entityId: event.name, details };
    case 'model_version':
      return { action: `model_version.${verb}`, entityType: 'model_version', entityId: `${event.name}/${version ?? ''}`, details };
    case 'model_version_tag':
      return { action: event.action === 'deleted' ? 'model_version.delete_tag' : 'model_version.set_tag', entityType: 'model_version', entityId: `${event.name}/${version ?? ''}`, details };
    case 'model_version_alias':
      return {
        action: event.action === 'deleted' ? 'registered_model_alias.delete' : 'registered_model_alias.set',
        entityType: 'registered_model_alias',
        entityId: `${event.name}@${String(data.alias ?? '')}`,
        details,
      };
  }
}

function isRecordValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function modelNotFound(name: string): MlflowError {
  return MlflowError.notFound(`Registered Model with name=${name} not found`);
}

function missingSource(): MlflowError {
  return MlflowError.invalidParameter(
    "Missing value for required parameter 'source'. See the API docs for more information about request parameters.",
  );
}

/** MLflow's conflict messages, which tell a model and a prompt of the same name apart. */
function modelExists(name: string, existingIsPrompt: boolean, newIsPrompt: boolean): MlflowError {
  const existing = existingIsPrompt ? 'Prompt' : 'Registered Model';
  const wanted = newIsPrompt ? 'Prompt' : 'Registered Model';
  if (existing !== wanted) {
    return MlflowError.alreadyExists(
      `Tried to create a ${wanted.toLowerCase()} with name '${name}', but the name is already taken by a ${existing.toLowerCase()}. MLflow does not allow creating a model and a prompt with the same name.`,
    );
  }
  return MlflowError.alreadyExists(`${wanted} (name=${name}) already exists.`);
}

function highestVersion(versions: ModelVersionRecord[]): ModelVersionRecord | undefined {
  let best: ModelVersionRecord | undefined;
  for (const v of versions) if (!best || v.version > best.version) best = v;
  return best;
}

function tagMap(tags: KeyValue[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.key, t.value]));
}

function promptFlag(isPrompt: boolean): { is_prompt?: true } {
  return isPrompt ? { is_prompt: true } : {};
}

function lastTagValue(tags: KeyValue[], key: string): string | undefined {
  let value: string | undefined;
  for (const tag of tags) if (tag.key === key) value = tag.value;
  return value;
}

/** The proxied path of an `mlflow-artifacts:` URI; undefined for other URIs or unsafe paths. */
function proxyPathOrUndefined(uri: string): string | undefined {
  try {
    return proxyPathFromArtifactUri(uri);
  } catch {
    return undefined;
  }
}

/** A string literal for a search filter; undefined when the text holds both quote kinds. */
function quoteFilterValue(text: string): string | undefined {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return undefined;
}

