import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ExperimentTable, LoggedModelTable, RunTable } from './schema.ts';
import type { LifecycleStage, MetricRecord, RunInfoRecord, TrackingStore } from '../tracking-store.ts';

export type Db = Kysely<Database> | Transaction<Database>;

/** Rows per multi-row INSERT: 9 columns × 3000 stays below SQLite's 32,766 bind variables. */
export const INSERT_CHUNK = 3000;
/** Ids per `IN (...)` list. */
export const IN_CHUNK = 5000;

/** Metric key ids by name. Keys are never deleted, so a committed id can be cached for good. */
export class MetricKeyCache {
  readonly ids = new Map<string, number>();
}

/**
 * What the parts of the SQL tracking store share: the Kysely handle (the database, or the
 * transaction a store created by `transaction()` runs every call on) and the metric key cache.
 * The store is a chain of classes, one file per entity (experiments → metrics → runs →
 * inputs/outputs → logged models), summed up by `SqlTrackingStore`.
 */
export abstract class SqlTrackingBase {
  protected readonly pendingKeys = new Map<string, number>();

  constructor(
    protected readonly db: Db,
    protected readonly keyCache: MetricKeyCache = new MetricKeyCache(),
    protected readonly inTransaction = false,
  ) {}

  abstract transaction<T>(work: (store: TrackingStore) => Promise<T>): Promise<T>;

  /** The Kysely handle of a store handed out by `transaction()`. */
  protected dbOf(store: TrackingStore): Db {
    return (store as unknown as SqlTrackingBase).db;
  }
}


export type ExperimentRow = Selectable<ExperimentTable>;

export type LoggedModelRow = Selectable<LoggedModelTable>;

export type RunRow = Selectable<RunTable>;

export function toRunInfo(row: RunRow): RunInfoRecord {
  return {
    pk: Number(row.id),
    runId: row.run_uuid,
    runName: row.name,
    experimentId: String(row.experiment_id),
    userId: row.user_id,
    status: row.status,
    startTime: Number(row.start_time),
    endTime: row.end_time === null ? null : Number(row.end_time),
    artifactUri: row.artifact_uri,
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
  };
}

export function toMetric(
  key: string,
  row: {
    step: number;
    timestamp: number;
    value: number;
    is_nan: number;
    model_id?: string | null;
    dataset_name?: string | null;
    dataset_digest?: string | null;
  },
): MetricRecord {
  const metric: MetricRecord = {
    key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  };
  if (row.model_id) metric.modelId = row.model_id;
  if (row.dataset_name) metric.datasetName = row.dataset_name;
  if (row.dataset_digest) metric.datasetDigest = row.dataset_digest;
  return metric;
}

/** MLflow's "latest" order: step, then timestamp, then value; NaN counts as the smallest value. */
export function isNewerPoint(
  a: { step: number; timestamp: number; value: number; is_nan: number },
  b: { step: number; timestamp: number; value: number; is_nan: number },
): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (a.is_nan !== b.is_nan) return b.is_nan === 1;
  return a.value > b.value;
}

export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Experiment ids are integers in this store; anything else cannot name an experiment. */
export function toIntId(id: string): number | undefined {
  return /^\d{1,15}$/.test(id) ? Number(id) : undefined;
}
