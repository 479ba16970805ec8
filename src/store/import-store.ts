/**
 * The store-level writes `trove import` needs beyond the tracking and registry stores: objects
 * inserted with the ids, timestamps and version numbers they had in the source (the public
 * stores always mint their own), and the import state that makes a repeated import a mirror and
 * an interrupted one resumable. Implemented by the SQL store for SQLite and PostgreSQL.
 */
import type { LifecycleStage } from './tracking-store.ts';

/** One object already imported from a source. */
export interface ImportStateRecord {
  kind: ImportStateKind;
  /** The object's id in the source (a run id, an experiment id, `<model>/<version>`, ...). */
  sourceId: string;
  /** Its id in Trove (the same as sourceId unless it had to be remapped). */
  targetId: string;
  /** What the object looked like when it was imported; a different one means it changed. */
  fingerprint: string;
}

/**
 * `store-identity`: not an imported object but this store's own identity as a source of `trove
 * export --to` (a random id made once, so exports can tell their objects from another Trove's).
 */
export type ImportStateKind = 'experiment' | 'run' | 'logged-model' | 'registered-model' | 'model-version' | 'store-identity';

export interface ImportedExperiment {
  /** The id to keep, or null for a new one. */
  experimentId: number | null;
  projectId: number;
  name: string;
  /** Builds the artifact location from the experiment's (possibly new) id. */
  artifactLocationFor: (experimentId: string) => string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
}

export interface ImportedModelVersion {
  modelPk: number;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string | null;
  currentStage: string;
  description: string | null;
  source: string;
  storageLocation: string;
  runId: string | null;
  runLink: string | null;
  status: string;
  statusMessage: string | null;
  modelId: string | null;
}

export interface ImportStore {
  /** Everything recorded for `source` of one kind, keyed by source id. */
  listState(source: string, kind: ImportStateKind): Promise<Map<string, ImportStateRecord>>;
  /** Records (or replaces) one imported object. */
  putState(source: string, record: ImportStateRecord, now: number): Promise<void>;
  /**
   * Records an object unless one of the same source, kind and id is recorded already (the first
   * writer wins when two race). @returns the record kept
   */
  claimState(source: string, record: ImportStateRecord, now: number): Promise<ImportStateRecord>;
  /** Forgets one imported object (it is gone from the source and was dealt with here). */
  deleteState(source: string, kind: ImportStateKind, sourceId: string): Promise<void>;

  /** Whether any experiment (of any project) has this id. */
  experimentIdTaken(experimentId: number): Promise<boolean>;
  /**
   * Inserts an experiment with its original creation time (and id when given and free).
   * @returns the experiment's id
   * @throws UniqueViolationError when the project already has an experiment of that name
   */
  insertExperiment(experiment: ImportedExperiment): Promise<string>;
  /** Brings an experiment's lifecycle and last-update time in line with the source. */
  updateExperiment(experimentId: string, update: { lifecycleStage: LifecycleStage; lastUpdateTime: number; creationTime?: number }): Promise<void>;

  /** Sets a run's deletion time as well as its stage (the tracking store stamps "now"). */
  setRunLifecycle(runPk: number, stage: LifecycleStage, deletedTime: number | null): Promise<void>;

  /** Sets a registered model's times, creator and description as the source has them. */
  setRegisteredModelFields(modelPk: number, fields: { creationTimestamp: number; lastUpdatedTimestamp: number; userId: string | null; description: string | null }): Promise<void>;
  /**
   * Inserts a version with its own number and timestamps, or updates the fields that can change
   * (stage, description, status, last update) when the number already exists. The model's
   * next version number moves past it, so versions created later never reuse a number.
   * @returns the version's pk
   */
  upsertModelVersion(version: ImportedModelVersion): Promise<number>;
}
