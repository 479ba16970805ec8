import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { Database } from './schema.ts';
import { isMetricColumns, type MetricColumns } from '../metric-columns.ts';
import { chunk } from './sql-conditions.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The write path of a metric batch, one statement per table (issue 14 ingest): the points in one
 * multi-row insert, the latest values in one upsert. On PostgreSQL the points travel as nine
 * arrays through `INSERT … SELECT FROM unnest(…)`: nine parameters whatever the batch size, no
 * per-row statement text to build or parse. On SQLite a multi-row `VALUES` statement is written
 * as text directly (no query-builder tree per value) and run as one prepared statement.
 */

/**
 * A batch of one run's points as columns (issue 14 ingest): one typed array per numeric field
 * instead of one object per point. A 1,000-point batch stays alive until its group commit's
 * fdatasync, so every object per point was copied by the young generation's scavenges and
 * promoted; the typed arrays' contents live outside the V8 heap and are never copied.
 * NaN is stored as value 0 with isNan 1. The text columns are null when no point has one.
 */
export interface PointColumns {
  length: number;
  keyId: Float64Array;
  step: Float64Array;
  timestamp: Float64Array;
  value: Float64Array;
  isNan: Uint8Array;
  modelId: Array<string | null> | null;
  datasetName: Array<string | null> | null;
  datasetDigest: Array<string | null> | null;
}

/** The points of a batch as columns (objects, or columns read from the request body); `keyIds` holds the id of every key. */
export function pointColumns(
  metrics: ReadonlyArray<{ key: string; value: number; timestamp: number; step: number; modelId?: string | null | undefined; datasetName?: string | null | undefined; datasetDigest?: string | null | undefined }> | MetricColumns,
  keyIds: ReadonlyMap<string, number>,
): PointColumns {
  if (isMetricColumns(metrics)) return pointColumnsOf(metrics, keyIds);
  const n = metrics.length;
  const columns: PointColumns = {
    length: n,
    keyId: new Float64Array(n),
    step: new Float64Array(n),
    timestamp: new Float64Array(n),
    value: new Float64Array(n),
    isNan: new Uint8Array(n),
    modelId: null,
    datasetName: null,
    datasetDigest: null,
  };
  // A long series arrives as one key repeated: one map lookup per run of equal keys.
  let lastKey: string | undefined;
  let lastId = 0;
  for (let i = 0; i < n; i++) {
    const m = metrics[i]!;
    if (m.key !== lastKey) {
      lastKey = m.key;
      lastId = keyIds.get(m.key) as number;
    }
    columns.keyId[i] = lastId;
    columns.step[i] = m.step;
    columns.timestamp[i] = m.timestamp;
    const value = m.value;
    if (value !== value) columns.isNan[i] = 1;
    else columns.value[i] = value;
    if (m.modelId !== undefined && m.modelId !== null) (columns.modelId ??= new Array<string | null>(n).fill(null))[i] = m.modelId;
    if (m.datasetName !== undefined && m.datasetName !== null) (columns.datasetName ??= new Array<string | null>(n).fill(null))[i] = m.datasetName;
    if (m.datasetDigest !== undefined && m.datasetDigest !== null) (columns.datasetDigest ??= new Array<string | null>(n).fill(null))[i] = m.datasetDigest;
  }
  return columns;
}

/**
 * A batch read from the request's bytes (metric-columns.ts) as the store's columns: its step and
 * timestamp arrays as they are, key ids by the key's index, NaN as value 0 with its flag.
 */
export function pointColumnsOf(batch: MetricColumns, keyIds: ReadonlyMap<string, number>): PointColumns {
  const n = batch.length;
  const ids = batch.keys.map((key) => keyIds.get(key) as number);
  const keyId = new Float64Array(n);
  const value = new Float64Array(n);
  const isNan = new Uint8Array(n);
  const { keyIndex, value: values } = batch;
  for (let i = 0; i < n; i++) {
    keyId[i] = ids[keyIndex[i]!]!;
    const v = values[i]!;
    if (v !== v) isNan[i] = 1;
    else value[i] = v;
  }
  return { length: n, keyId, step: batch.step, timestamp: batch.timestamp, value, isNan, modelId: null, datasetName: null, datasetDigest: null };
}

/** Points `start` … `end - 1` of a batch, as views of the same columns (no copy). */
export function sliceColumns(columns: PointColumns, start: number, end: number): PointColumns {
  if (start === 0 && end >= columns.length) return columns;
  return {
    length: Math.min(end, columns.length) - start,
    keyId: columns.keyId.subarray(start, end),
    step: columns.step.subarray(start, end),
    timestamp: columns.timestamp.subarray(start, end),
    value: columns.value.subarray(start, end),
    isNan: columns.isNan.subarray(start, end),
    modelId: columns.modelId?.slice(start, end) ?? null,
    datasetName: columns.datasetName?.slice(start, end) ?? null,
    datasetDigest: columns.datasetDigest?.slice(start, end) ?? null,
  };
}

/** The points a rollup needs: key, step, value and NaN flag (a batch's columns, or the rows a RETURNING gave back). */
export interface RollupPoints {
  length: number;
  keyId: ArrayLike<number>;
  step: ArrayLike<number>;
  value: ArrayLike<number>;
  isNan: ArrayLike<number>;
}

/** SQLite: the savepoint around one insert, inside the caller's transaction (names nest). */
const SAVEPOINT = CompiledQuery.raw('savepoint trove_metric_insert');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to trove_metric_insert');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release trove_metric_insert');
const POINT_COLUMNS = ['run_id', 'key_id', 'step', 'timestamp', 'value', 'is_nan', 'model_id', 'dataset_name', 'dataset_digest'] as const;
/** SQLite: 9 bind variables a row; 3,000 rows stay under its 32,766 limit. */
const SQLITE_ROWS_PER_STATEMENT = 3000;

/**
 * SQLite: inserts a batch's points, ignoring exact duplicates (same run, key, step, timestamp,
 * value, NaN flag), and returns the points actually inserted (the batch's own columns when all
 * were new), so a re-sent point is not counted twice in the rollups.
 */
export async function insertMetricPoints(db: Db, runPk: number, columns: PointColumns): Promise<RollupPoints> {
  if (columns.length <= SQLITE_ROWS_PER_STATEMENT) return insertPart(db, runPk, columns);
  const parts: RollupPoints[] = [];
  for (let start = 0; start < columns.length; start += SQLITE_ROWS_PER_STATEMENT) {
    parts.push(await insertPart(db, runPk, sliceColumns(columns, start, start + SQLITE_ROWS_PER_STATEMENT)));
  }
  const joined = { length: 0, keyId: [] as number[], step: [] as number[], value: [] as number[], isNan: [] as number[] };
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      joined.keyId.push(part.keyId[i]!);
      joined.step.push(part.step[i]!);
      joined.value.push(part.value[i]!);
      joined.isNan.push(part.isNan[i]!);
    }
    joined.length += part.length;
  }
  return joined;
}

async function insertPart(db: Db, runPk: number, part: PointColumns): Promise<RollupPoints> {
  const { text, parameters } = sqlitePointInsert(runPk, part);
  // RETURNING more than doubled the native cost of a 1,000-point insert (every row copied out and
  // turned into a JavaScript object). Almost every batch is all new points: insert without it and
  // count the changes. Only when some point was already stored (or sent twice) is the insert
  // undone to the savepoint and run again with RETURNING, to learn which points were new.
  await db.executeQuery(SAVEPOINT);
  try {
    const result = await db.executeQuery(CompiledQuery.raw(text, parameters));
    if (Number(result.numAffectedRows ?? -1) === part.length) return part;
    await db.executeQuery(ROLLBACK_TO_SAVEPOINT);
    const returned = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(`${text} returning "key_id", "step", "value", "is_nan"`, parameters));
    const rows = returned.rows;
    const inserted = { length: rows.length, keyId: new Float64Array(rows.length), step: new Float64Array(rows.length), value: new Float64Array(rows.length), isNan: new Uint8Array(rows.length) };
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      inserted.keyId[i] = Number(r.key_id);
      inserted.step[i] = Number(r.step);
      inserted.value[i] = Number(r.value);
      inserted.isNan[i] = Number(r.is_nan);
    }
    return inserted;
  } catch (error) {
    await db.executeQuery(ROLLBACK_TO_SAVEPOINT);
    throw error;
  } finally {
    await db.executeQuery(RELEASE_SAVEPOINT);
  }
}

const POINT_HEAD = `insert into "metrics" (${POINT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values `;
const POINT_ROW = `(${POINT_COLUMNS.map(() => '?').join(', ')})`;
/** A point without model or dataset: the three NULLs in the text, not bound. */
const PLAIN_POINT_ROW = '(?, ?, ?, ?, ?, ?, null, null, null)';
/** SQLite statement texts by row count, plain or general (a 1,000-point batch is the same text every time). */
const pointTexts = new Map<string, string>();

/**
 * The multi-row point insert for SQLite. When no point carries a model or dataset (the usual
 * batch), the three NULLs are in the text: 6 values a point to bind instead of 9 (better-sqlite3
 * does not bind a repeated numbered `?1`, so the run is bound on every row). The text is kept by
 * row count, not joined anew per batch (a 1,000-row text is 30 KB, hashed again by the driver's
 * statement cache on every lookup).
 */
function sqlitePointInsert(runPk: number, part: PointColumns): { text: string; parameters: unknown[] } {
  const plain = part.modelId === null && part.datasetName === null && part.datasetDigest === null;
  const cacheKey = `${plain ? 'p' : 'g'}${part.length}`;
  let text = pointTexts.get(cacheKey);
  if (text === undefined) {
    text = `${POINT_HEAD}${new Array(part.length).fill(plain ? PLAIN_POINT_ROW : POINT_ROW).join(', ')} on conflict do nothing`;
    if (pointTexts.size < 64) pointTexts.set(cacheKey, text);
  }
  const { keyId, step, timestamp, value, isNan } = part;
  const parameters: unknown[] = new Array(part.length * (plain ? 6 : POINT_COLUMNS.length));
  let i = 0;
  for (let p = 0; p < part.length; p++) {
    parameters[i++] = runPk;
    parameters[i++] = keyId[p];
    parameters[i++] = step[p];
    parameters[i++] = timestamp[p];
    parameters[i++] = value[p];
    parameters[i++] = isNan[p];
    if (plain) continue;
    parameters[i++] = part.modelId?.[p] ?? null;
    parameters[i++] = part.datasetName?.[p] ?? null;
    parameters[i++] = part.datasetDigest?.[p] ?? null;
  }
  return { text, parameters };
}

/**
 * The index of the newest point of each key (isNewerPoint's order: step, timestamp, then value
 * with NaN lowest), sorted by key id (one lock order for every writer).
 */
export function newestPerKey(columns: PointColumns): number[] {
  const { keyId, step, timestamp, value, isNan } = columns;
  const newest = new Map<number, number>();
  let lastKey = Number.NaN;
  let best = -1;
  for (let i = 0; i < columns.length; i++) {
    const k = keyId[i]!;
    if (k !== lastKey) {
      if (best >= 0) newest.set(lastKey, best);
      lastKey = k;
      best = newest.get(k) ?? -1;
    }
    if (best < 0) {
      best = i;
      continue;
    }
    const newer =
      step[i] !== step[best] ? step[i]! > step[best]!
      : timestamp[i] !== timestamp[best] ? timestamp[i]! > timestamp[best]!
      : isNan[i] !== isNan[best] ? isNan[best] === 1
      : value[i]! > value[best]!;
    if (newer) best = i;
  }
  if (best >= 0) newest.set(lastKey, best);
  return [...newest.entries()].sort((a, b) => a[0] - b[0]).map(([, index]) => index);
}

const LATEST_HEAD = 'insert into "latest_metrics" ("run_id", "key_id", "step", "timestamp", "value", "is_nan", "experiment_id") values ';
/** The run's experiment rides along for metric-ordered searches (a run never changes experiment). */
const LATEST_ROW = '(?, ?, ?, ?, ?, ?, (select runs.experiment_id from runs where runs.id = ?))';
const LATEST_MERGE = ` on conflict ("run_id", "key_id") do update set
  "step" = "excluded"."step", "timestamp" = "excluded"."timestamp", "value" = "excluded"."value", "is_nan" = "excluded"."is_nan"
  where (excluded.step, excluded.timestamp, 1 - excluded.is_nan, excluded.value)
    > (latest_metrics.step, latest_metrics.timestamp, 1 - latest_metrics.is_nan, latest_metrics.value)`;
/** SQLite statement texts by row count. */
const latestTexts = new Map<number, string>();

/**
 * Upserts the latest value of each key in one statement: a stored row is replaced only by a newer
 * point, decided in the database under the row lock, in isNewerPoint's order (step, timestamp,
 * then value with NaN lowest), so concurrent writers (several server processes on PostgreSQL)
 * settle on the same answer. `newest` holds at most one point per key, sorted by key id: one lock
 * order for every writer, so two concurrent batches cannot deadlock.
 */
export async function upsertLatestMetrics(db: Db, runPk: number, columns: PointColumns, indices: readonly number[]): Promise<void> {
  if (indices.length === 0) return;
  const newest = indices.map((i) => ({ key_id: columns.keyId[i]!, step: columns.step[i]!, timestamp: columns.timestamp[i]!, value: columns.value[i]!, is_nan: columns.isNan[i]! }));
  if (dialectOf(db as Kysely<unknown>) === 'sqlite') {
    // As text, like the point insert: the query builder's tree cost more than the statement.
    for (const part of chunk(newest, 3000)) {
      let text = latestTexts.get(part.length);
      if (text === undefined) {
        text = `${LATEST_HEAD}${new Array(part.length).fill(LATEST_ROW).join(', ')}${LATEST_MERGE}`;
        if (latestTexts.size < 64) latestTexts.set(part.length, text);
      }
      const parameters: unknown[] = new Array(part.length * 7);
      let i = 0;
      for (const u of part) {
        parameters[i++] = runPk;
        parameters[i++] = u.key_id;
        parameters[i++] = u.step;
        parameters[i++] = u.timestamp;
        parameters[i++] = u.value;
        parameters[i++] = u.is_nan;
        parameters[i++] = runPk;
      }
      await db.executeQuery(CompiledQuery.raw(text, parameters));
    }
    return;
  }
  // The run's experiment rides along for metric-ordered searches (a run never changes experiment).
  const experimentId = sql<number>`(select runs.experiment_id from runs where runs.id = ${runPk})`;
  for (const part of chunk(newest, 3000)) {
    await db
      .insertInto('latest_metrics')
      .values(part.map((u) => ({ run_id: runPk, key_id: u.key_id, step: u.step, timestamp: u.timestamp, value: u.value, is_nan: u.is_nan, experiment_id: experimentId })))
      .onConflict((oc) =>
        oc
          .columns(['run_id', 'key_id'])
          .doUpdateSet((eb) => ({
            step: eb.ref('excluded.step'),
            timestamp: eb.ref('excluded.timestamp'),
            value: eb.ref('excluded.value'),
            is_nan: eb.ref('excluded.is_nan'),
          }))
          .where(
            sql<boolean>`(excluded.step, excluded.timestamp, 1 - excluded.is_nan, excluded.value)
              > (latest_metrics.step, latest_metrics.timestamp, 1 - latest_metrics.is_nan, latest_metrics.value)`,
          ),
      )
      .execute();
  }
}
