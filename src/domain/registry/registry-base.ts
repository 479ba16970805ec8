import { MlflowError } from '../errors.ts';
import type { ArtifactService } from '../artifacts/artifact-service.ts';
import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import type { Clock, TrackingService } from '../tracking/tracking-service.ts';
import { currentProjectId } from '../request-context.ts';
import { NO_AUDIT, type AuditChange, type AuditSink } from '../audit/audit-log.ts';
import type { KeyValue, LoggedModelRecord, RunRecord } from '../../store/tracking-store.ts';
import type { ModelVersionRecord, RegisteredModelRecord, RegistryStore } from '../../store/registry-store.ts';
import {
  NO_REGISTRY_EVENTS,
  type RegistryAction,
  type RegistryEntity,
  type RegistryEvent,
  type RegistryEventSink,
} from './registry-events.ts';
import { isPromptTagged } from './validation.ts';

/** Tag carrying a version's free-form label (e.g. a semantic version); unique per model. */
export const VERSION_LABEL_TAG = 'trove.version_label';
/** Tag marking the `[model]<name>` experiment of a registered model; its value is the model name. */
export const MODEL_EXPERIMENT_TAG = 'trove.model_experiment';
/** The tag MLflow's client keeps on a logged model listing the versions registered from it. */
export const MODEL_VERSIONS_TAG = 'mlflow.modelVersions';
/** Versions are created ready: files are frozen (or referenced) before the row exists. */
export const READY = 'READY';

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
export interface ResolvedSource {
  /** The `source` stored on the version. */
  source: string;
  /** The location the files are at now (an artifact-proxy URI, s3://, a path...). */
  location: string;
  runId: string | null;
  loggedModel?: LoggedModelRecord;
}

export interface RegistryServiceOptions {
  events?: RegistryEventSink | undefined;
  /** Every change is appended to the audit log in its transaction. */
  audit?: AuditSink | undefined;
  clock?: Clock | undefined;
}

/**
 * What every part of the registry service shares: stores, clock, event and audit sinks, lookups
 * of models and versions, and the `[model]<name>` experiment bookkeeping. The service is built as
 * a chain of classes, one file per entity (registered models → aliases → sources → versions →
 * stages → model experiments), so each stays small while callers keep using `RegistryService`.
 */
export class RegistryBase {
  protected readonly events: RegistryEventSink;
  protected readonly audit: AuditSink;
  protected readonly clock: Clock;

  /** The project of the running request: every lookup and search is limited to it. */
  protected get projectId(): number {
    return currentProjectId();
  }

  constructor(
    protected readonly store: RegistryStore,
    protected readonly tracking: TrackingService,
    protected readonly artifacts: ArtifactService,
    options: RegistryServiceOptions = {},
  ) {
    this.events = options.events ?? NO_REGISTRY_EVENTS;
    this.audit = options.audit ?? NO_AUDIT;
    this.clock = options.clock ?? { now: () => Date.now() };
  }


  /**
   * Runs one change in a transaction and publishes its events to the sink inside it, after all
   * of the change's writes (see RegistryEventSink).
   */
  protected async change<T>(
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

  protected async requireModel(name: string, store: RegistryStore = this.store): Promise<RegisteredModelRecord> {
    const model = await store.getRegisteredModel(this.projectId, name);
    if (!model) throw modelNotFound(name);
    return model;
  }

  protected async requireVersion(model: RegisteredModelRecord, version: number): Promise<ModelVersionRecord> {
    return this.requireVersionIn(this.store, model.pk, model.name, version);
  }

  protected async requireVersionIn(store: RegistryStore, modelPk: number, name: string, version: number): Promise<ModelVersionRecord> {
    const found = await store.getModelVersion(modelPk, version);
    if (!found) throw MlflowError.notFound(`Model Version (name=${name}, version=${version}) not found`);
    return found;
  }

  protected promptOf(model: RegisteredModelRecord): { is_prompt?: true } {
    return promptFlag(isPromptTagged(model.tags));
  }

  /** A version label must not already name another live version of the model. */
  protected async checkVersionLabel(model: RegisteredModelRecord, label: string | undefined, exceptVersion?: number): Promise<void> {
    if (label === undefined) return;
    const holders = (await this.store.findVersionsByTag(model.pk, VERSION_LABEL_TAG, label)).filter((v) => v !== exceptVersion);
    if (holders.length > 0) {
      throw MlflowError.alreadyExists(`Version label '${label}' is already used by version ${holders[0]} of registered model '${model.name}'.`);
    }
  }

  protected async deleteFrozenFiles(path: string | undefined): Promise<void> {
    if (!path) return;
    try {
      await this.artifacts.delete(path);
    } catch {
      // Best effort: an orphaned copy costs space, never correctness.
    }
  }

  /** Creates (or adopts) the `[model]<name>` experiment and tags it as the model's. */
  protected async ensureModelExperiment(name: string): Promise<void> {
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
  protected async renameModelExperiment(oldName: string, newName: string): Promise<void> {
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

  protected async modelExperimentId(name: string): Promise<string | undefined> {
    return (await this.findExperiment(modelExperimentName(name)))?.experimentId;
  }

  protected async findExperiment(name: string) {
    try {
      return await this.tracking.getExperimentByName(name);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }
}


/** The audit entry of a registry event: `<entity>.<verb>` on the model, version or alias. */
export function auditChangeOf(event: RegistryEvent): AuditChange {
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

export function isRecordValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function modelNotFound(name: string): MlflowError {
  return MlflowError.notFound(`Registered Model with name=${name} not found`);
}

export function missingSource(): MlflowError {
  return MlflowError.invalidParameter(
    "Missing value for required parameter 'source'. See the API docs for more information about request parameters.",
  );
}

/** MLflow's conflict messages, which tell a model and a prompt of the same name apart. */
export function modelExists(name: string, existingIsPrompt: boolean, newIsPrompt: boolean): MlflowError {
  const existing = existingIsPrompt ? 'Prompt' : 'Registered Model';
  const wanted = newIsPrompt ? 'Prompt' : 'Registered Model';
  if (existing !== wanted) {
    return MlflowError.alreadyExists(
      `Tried to create a ${wanted.toLowerCase()} with name '${name}', but the name is already taken by a ${existing.toLowerCase()}. MLflow does not allow creating a model and a prompt with the same name.`,
    );
  }
  return MlflowError.alreadyExists(`${wanted} (name=${name}) already exists.`);
}

export function highestVersion(versions: ModelVersionRecord[]): ModelVersionRecord | undefined {
  let best: ModelVersionRecord | undefined;
  for (const v of versions) if (!best || v.version > best.version) best = v;
  return best;
}

export function tagMap(tags: KeyValue[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.key, t.value]));
}

export function promptFlag(isPrompt: boolean): { is_prompt?: true } {
  return isPrompt ? { is_prompt: true } : {};
}

export function lastTagValue(tags: KeyValue[], key: string): string | undefined {
  let value: string | undefined;
  for (const tag of tags) if (tag.key === key) value = tag.value;
  return value;
}

/** The proxied path of an `mlflow-artifacts:` URI; undefined for other URIs or unsafe paths. */
export function proxyPathOrUndefined(uri: string): string | undefined {
  try {
    return proxyPathFromArtifactUri(uri);
  } catch {
    return undefined;
  }
}

/** A string literal for a search filter; undefined when the text holds both quote kinds. */
export function quoteFilterValue(text: string): string | undefined {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return undefined;
}

