/**
 * The persistence contract of the model registry: registered models with tags and aliases, and
 * their versions with tags. The SQL implementation serves SQLite and PostgreSQL; the domain's
 * RegistryService holds the rules (validation, stage names, source resolution, events) and calls
 * these methods, inside `transaction()` when several must succeed or fail together.
 *
 * Models are addressed by their internal integer id (`pk`) once the domain has looked them up by
 * name, so a rename never races a write. Query methods return `undefined` for a missing entity
 * and leave the MLflow error to the domain. Deleted versions stay behind as tombstones that no
 * method here ever returns, so a version number is never handed out twice.
 */
import type { KeyValue, MetricRecord, Page, PagePosition, StoreFilterClause, StoreOrderBy } from './tracking-store.ts';

/** The stage a deleted version's tombstone carries, as MLflow's SQL store does. */
export const STAGE_DELETED_INTERNAL = 'Deleted_Internal';

/** The tag that marks a registered model (and its versions) as an MLflow prompt. */
export const PROMPT_TAG_KEY = 'mlflow.prompt.is_prompt';

export interface ModelVersionRecord {
  /** Internal id of the version row; never leaves the server. */
  pk: number;
  /** Internal id of the registered model. */
  modelPk: number;
  /** The registered model's (current) name. */
  name: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string | null;
  /** `None`, `Staging`, `Production` or `Archived`. */
  currentStage: string;
  description: string | null;
  /** The source URI as the client gave it (or as the domain normalised it). */
  source: string;
  /** Where the version's files are read from: a frozen registry copy, or the source itself. */
  storageLocation: string;
  runId: string | null;
  runLink: string | null;
  status: string;
  statusMessage: string | null;
  /** The MLflow 3 logged model the version was registered from. */
  modelId: string | null;
  /** Snapshot of the logged model's params at registration (MLflow's `model_params`). */
  modelParams: KeyValue[];
  /** Snapshot of the logged model's metrics at registration (MLflow's `model_metrics`). */
  modelMetrics: MetricRecord[];
  tags: KeyValue[];
  /** Aliases of the model that point at this version. */
  aliases: string[];
}

export interface RegisteredModelRecord {
  pk: number;
  projectId: number;
  name: string;
  description: string | null;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string | null;
  tags: KeyValue[];
  aliases: Array<{ alias: string; version: number }>;
  /** For each stage that has live versions, the one with the highest number. */
  latestVersions: ModelVersionRecord[];
}

export interface NewRegisteredModel {
  projectId: number;
  name: string;
  description: string | null;
  userId: string | null;
  tags: KeyValue[];
  now: number;
}

export interface NewModelVersion {
  modelPk: number;
  source: string;
  storageLocation: string;
  runId: string | null;
  runLink: string | null;
  description: string | null;
  userId: string | null;
  status: string;
  stage: string;
  modelId: string | null;
  modelParams: KeyValue[];
  modelMetrics: MetricRecord[];
  tags: KeyValue[];
  now: number;
}

export interface RegisteredModelSearchQuery {
  projectId: number;
  /** Attribute `name` and tag clauses, all of which must hold (a missing tag never matches). */
  filter: StoreFilterClause[];
  /** Leave out models that are prompts (tag `mlflow.prompt.is_prompt` = `true`). */
  excludePrompts: boolean;
  /** Attributes `name`, `creation_timestamp`, `last_updated_timestamp`; `name ASC` is appended. */
  orderBy: StoreOrderBy[];
  maxResults: number;
  page: PagePosition;
}

export interface ModelVersionSearchQuery {
  projectId: number;
  /** Attributes `name`, `version_number`, `run_id`, `source_path` and tag clauses. */
  filter: StoreFilterClause[];
  /** Leave out versions of prompts (the model or any of its versions tagged as a prompt). */
  excludePrompts: boolean;
  /**
   * Attributes `name`, `version_number`, `creation_timestamp`, `last_updated_timestamp`. Empty
   * means `last_updated_timestamp DESC`; `name ASC` and then `version DESC` (numeric) are appended
   * unless already present.
   */
  orderBy: StoreOrderBy[];
  maxResults: number;
  page: PagePosition;
}

export interface RegistryStore {
  /** Runs `work` in one transaction: all its writes commit together or none do. */
  transaction<T>(work: (store: RegistryStore) => Promise<T>): Promise<T>;

  // ------------------------------------------------------------------ registered models

  /**
   * Inserts a registered model with its tags (the last value of a repeated key wins).
   * @returns the new model's pk
   * @throws UniqueViolationError when the project already has a model of that name
   */
  createRegisteredModel(model: NewRegisteredModel): Promise<number>;

  /** The model of that exact name in the project, with tags, aliases and latest versions. */
  getRegisteredModel(projectId: number, name: string): Promise<RegisteredModelRecord | undefined>;

  /**
   * Renames a model; its versions, tags and aliases follow because they reference the pk.
   * Stamps the model and its live versions as updated at `now`.
   * @throws UniqueViolationError when the project already has a model named `newName`
   */
  renameRegisteredModel(modelPk: number, newName: string, now: number): Promise<void>;

  /** Sets the description (null clears it) and the last-updated time. */
  updateRegisteredModel(modelPk: number, update: { description: string | null; now: number }): Promise<void>;

  /** Stamps the model as updated at `now` (a version of it was created, moved or deleted). */
  touchRegisteredModel(modelPk: number, now: number): Promise<void>;

  /** Deletes the model with all its versions (tombstones included), tags and aliases. */
  deleteRegisteredModel(modelPk: number): Promise<void>;

  /** One page of models matching the query, each with tags, aliases and latest versions. */
  searchRegisteredModels(query: RegisteredModelSearchQuery): Promise<Page<RegisteredModelRecord>>;

  /** Sets (inserts or replaces) one tag of a model. */
  setRegisteredModelTag(modelPk: number, tag: KeyValue): Promise<void>;

  /** @returns false when the model had no such tag. */
  deleteRegisteredModelTag(modelPk: number, key: string): Promise<boolean>;

  // ------------------------------------------------------------------ aliases

  /**
   * Points `alias` at `version`, creating or moving it.
   * @returns the version the alias pointed at before, undefined when it is new
   */
  setAlias(modelPk: number, alias: string, version: number): Promise<number | undefined>;

  /** @returns the version the alias pointed at, undefined when there was no such alias */
  deleteAlias(modelPk: number, alias: string): Promise<number | undefined>;

  /** The version an alias points at, undefined when the model has no such alias. */
  getAlias(modelPk: number, alias: string): Promise<number | undefined>;

  // ------------------------------------------------------------------ model versions

  /**
   * Creates the next version of a model: takes the model's `next_version` and advances it, so a
   * number is never handed out twice, even after deletions or concurrent creations. Stamps the
   * model as updated.
   * @returns the created version, with tags
   */
  createModelVersion(version: NewModelVersion): Promise<ModelVersionRecord>;

  /** A live version (never a tombstone) of a model, with tags and aliases. */
  getModelVersion(modelPk: number, version: number): Promise<ModelVersionRecord | undefined>;

  /** For each stage of the model that has live versions, the version with the highest number. */
  getLatestVersions(modelPk: number): Promise<ModelVersionRecord[]>;

  /**
   * Live versions of a model whose tag `key` has exactly `value` (e.g. a version label).
   * @returns their version numbers, ascending
   */
  findVersionsByTag(modelPk: number, key: string, value: string): Promise<number[]>;

  /** Sets a version's description (null clears it) and last-updated time. */
  updateModelVersion(versionPk: number, update: { description: string | null; now: number }): Promise<void>;

  /** Moves a version to `stage`. */
  setModelVersionStage(versionPk: number, stage: string, now: number): Promise<void>;

  /**
   * Moves every live version of the model in `stage`, except `exceptVersion`, to `Archived`.
   * @returns the version numbers that were archived, ascending
   */
  archiveVersionsInStage(modelPk: number, stage: string, exceptVersion: number, now: number): Promise<number[]>;

  /**
   * Deletes a version: it becomes a redacted tombstone that keeps its number taken, its tags go,
   * and the aliases pointing at it are removed.
   * @returns the aliases that were removed
   */
  deleteModelVersion(versionPk: number, now: number): Promise<string[]>;

  /** One page of live versions matching the query, each with tags and aliases. */
  searchModelVersions(query: ModelVersionSearchQuery): Promise<Page<ModelVersionRecord>>;

  /** Sets (inserts or replaces) one tag of a version. */
  setModelVersionTag(versionPk: number, tag: KeyValue): Promise<void>;

  /** @returns false when the version had no such tag. */
  deleteModelVersionTag(versionPk: number, key: string): Promise<boolean>;
}
