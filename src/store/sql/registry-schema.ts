import type { Generated, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Table types of the model registry (migration 0002), shared by SQLite and PostgreSQL. Kept
 * beside schema.ts rather than in it so the registry store is self-contained; the registry store
 * works on `Database & RegistryTables` through Kysely's `withTables`.
 */
export type RegistryTables = {
  registered_models: RegisteredModelTable;
  registered_model_tags: RegisteredModelTagTable;
  registered_model_aliases: RegisteredModelAliasTable;
  model_versions: ModelVersionTable;
  model_version_tags: ModelVersionTagTable;
}

export type RegistryDatabase = Database & RegistryTables;
export type RegistryDb = Kysely<RegistryDatabase> | Transaction<RegistryDatabase>;

export type RegisteredModelTable = {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: string | null;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string | null;
  /** The number the next version of this model gets; only ever grows. */
  next_version: Generated<number>;
}

export type RegisteredModelTagTable = {
  registered_model_id: number;
  key: string;
  value: string;
}

export type RegisteredModelAliasTable = {
  registered_model_id: number;
  alias: string;
  version: number;
}

export type ModelVersionTable = {
  id: Generated<number>;
  registered_model_id: number;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string | null;
  current_stage: string;
  description: string | null;
  source: string;
  storage_location: string;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
  model_id: string | null;
  model_params: string | null;
  model_metrics: string | null;
  /** Set on the tombstone a deleted version leaves behind; null for live versions. */
  deleted_time: number | null;
}

export type ModelVersionTagTable = {
  model_version_id: number;
  key: string;
  value: string;
}
