import type { FilterClause, OrderByClause } from '../domain/search/types.ts';
import type { KeyValue } from './tracking-store.ts';

/**
 * Storage of MLflow 3 evaluation datasets: datasets (per project), their tags, records and
 * experiment links. JSON fields are opaque text here; the domain decides what they hold. Every
 * dataset call takes the project it works in, and a dataset of another project is not found.
 */

export interface EvaluationDatasetRow {
  datasetId: string;
  projectId: number;
  name: string;
  schemaJson: string | null;
  profileJson: string | null;
  digest: string;
  createdTime: number;
  lastUpdateTime: number;
  createdBy: string | null;
  lastUpdatedBy: string | null;
  /** Sorted by key. */
  tags: KeyValue[];
}

export interface NewEvaluationDataset {
  datasetId: string;
  projectId: number;
  name: string;
  digest: string;
  createdBy: string | null;
  tags: KeyValue[];
  experimentIds: number[];
  now: number;
}

export interface DatasetRecordRow {
  datasetRecordId: string;
  datasetId: string;
  inputHash: string;
  inputs: string;
  outputs: string | null;
  expectations: string | null;
  tags: string | null;
  source: string | null;
  sourceId: string | null;
  sourceType: string | null;
  createdTime: number;
  lastUpdateTime: number;
  createdBy: string | null;
  lastUpdatedBy: string | null;
}

/** Which fields of a dataset change after its records changed. */
export interface DatasetRecordsUpdate {
  schemaJson?: string | null;
  profileJson?: string | null;
  digest?: string;
  lastUpdateTime?: number;
  lastUpdatedBy?: string | null;
}

export interface EvaluationDatasetSearchQuery {
  projectId: number;
  /** Only datasets linked to one of these experiments; undefined: all of the project. */
  experimentIds?: number[];
  filter: FilterClause[];
  /** Attribute orderings; the store appends `dataset_id DESC` as the tie-breaker. */
  orderBy: OrderByClause[];
  offset: number;
  limit: number;
}

/** Where the next page of records starts: after this (created_time, dataset_record_id). */
export interface RecordCursor {
  createdTime: number;
  datasetRecordId: string;
}

export interface EvaluationDatasetStore {
  /** Runs `work` in one transaction; the store handed to it runs every call there. */
  transaction<T>(work: (store: EvaluationDatasetStore) => Promise<T>): Promise<T>;

  createDataset(dataset: NewEvaluationDataset): Promise<void>;
  getDataset(projectId: number, datasetId: string): Promise<EvaluationDatasetRow | undefined>;
  /**
   * Like getDataset, inside a transaction, and locks the dataset row until it ends, so writers of
   * one dataset's records (read, merge, write back) take turns instead of losing each other's
   * updates. SQLite transactions already hold the database's write lock.
   */
  getDatasetForUpdate(projectId: number, datasetId: string): Promise<EvaluationDatasetRow | undefined>;
  /** Deletes the dataset with its tags, records and links; false when it was not there. */
  deleteDataset(projectId: number, datasetId: string): Promise<boolean>;
  searchDatasets(query: EvaluationDatasetSearchQuery): Promise<EvaluationDatasetRow[]>;

  /** Inserts or overwrites tags of a dataset known to exist. */
  setDatasetTags(datasetId: string, tags: KeyValue[]): Promise<void>;
  deleteDatasetTag(datasetId: string, key: string): Promise<void>;
  updateDataset(datasetId: string, update: DatasetRecordsUpdate): Promise<void>;

  /** Records of a dataset with one of these input hashes. */
  findRecordsByInputHash(datasetId: string, inputHashes: string[]): Promise<DatasetRecordRow[]>;
  insertRecords(records: DatasetRecordRow[]): Promise<void>;
  /** Overwrites the mutable fields (outputs, expectations, tags, last update) of a record. */
  updateRecord(record: DatasetRecordRow): Promise<void>;
  countRecords(datasetId: string): Promise<number>;
  /** A page of records in (created_time, dataset_record_id) order. */
  listRecords(datasetId: string, after: RecordCursor | undefined, limit: number): Promise<DatasetRecordRow[]>;
  deleteRecords(datasetId: string, datasetRecordIds: string[]): Promise<number>;

  listExperimentIds(datasetId: string): Promise<number[]>;
  /** Links the dataset to these experiments; existing links stay as they are. */
  addExperiments(datasetId: string, experimentIds: number[], now: number): Promise<void>;
  /** Unlinks; returns the experiment ids that were linked. */
  removeExperiments(datasetId: string, experimentIds: number[]): Promise<number[]>;
}
