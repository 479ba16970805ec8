import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Table types of MLflow 3 evaluation datasets (migration 0008), shared by SQLite and PostgreSQL.
 * Kept beside schema.ts, as the registry's are, so the store is self-contained; it works on
 * `Database & EvaluationDatasetTables` through Kysely's `withTables`.
 */
export type EvaluationDatasetTables = {
  evaluation_datasets: EvaluationDatasetTable;
  evaluation_dataset_tags: EvaluationDatasetTagTable;
  evaluation_dataset_records: EvaluationDatasetRecordTable;
  evaluation_dataset_experiments: EvaluationDatasetExperimentTable;
};

export type EvaluationDatasetDatabase = Database & EvaluationDatasetTables;
export type EvaluationDatasetDb = Kysely<EvaluationDatasetDatabase> | Transaction<EvaluationDatasetDatabase>;

export type EvaluationDatasetTable = {
  dataset_id: string;
  project_id: number;
  name: string;
  schema_json: string | null;
  profile_json: string | null;
  digest: string;
  created_time: number;
  last_update_time: number;
  created_by: string | null;
  last_updated_by: string | null;
};

export type EvaluationDatasetTagTable = {
  dataset_id: string;
  key: string;
  value: string;
};

export type EvaluationDatasetRecordTable = {
  dataset_record_id: string;
  dataset_id: string;
  input_hash: string;
  inputs: string;
  outputs: string | null;
  expectations: string | null;
  tags: string | null;
  source: string | null;
  source_id: string | null;
  source_type: string | null;
  created_time: number;
  last_update_time: number;
  created_by: string | null;
  last_updated_by: string | null;
};

export type EvaluationDatasetExperimentTable = {
  dataset_id: string;
  experiment_id: number;
  created_time: number;
};
