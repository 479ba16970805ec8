import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { Database } from './schema.ts';
import { chunk } from './sql-conditions.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The write path of a metric batch, one statement per table (issue 14 ingest): the points in one
 * multi-row insert, the latest values in one upsert. On PostgreSQL the points travel as nine
 * arrays through `INSERT … SELECT FROM unnest(…)`: nine parameters whatever the batch size, no
 * per-row statement text to build or parse. On SQLite a multi-row `VALUES` statement is written
 * as text directly (no query-builder tree per value) and run as one prepared statement.
 */

export interface MetricPointRow {
  run_id: number;
  key_id: number;
  step: number;
  timestamp: number;
  value: number;
  is_nan: number;
  model_id: string | null;
  dataset_name: string | null;
  dataset_digest: string | null;
}

export interface InsertedPoint {
  key_id: number;
  step: number;
  value: number;
  is_nan: number;
}

/** SQLite: the savepoint around one insert, inside the caller's transaction (names nest). */
const SAVEPOINT = CompiledQuery.raw('savepoint trove_metric_insert');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to trove_metric_insert');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release trove_metric_insert');
const POINT_COLUMNS = ['run_id', 'key_id', 'step', 'timestamp', 'value', 'is_nan', 'model_id', 'dataset_name', 'dataset_digest'] as const;
/** SQLite: 9 bind variables a row; 3,000 rows stay under its 32,766 limit. */
const SQLITE_ROWS_PER_STATEMENT = 3000;
/** PostgreSQL: arrays have no bind-variable limit; chunks only bound the statement's memory. */
const POSTGRES_ROWS_PER_STATEMENT = 20_000;

/**
 * Inserts points, ignoring exact duplicates (same run, key, step, timestamp, value, NaN flag), and
 * returns the rows actually inserted, so a re-sent point is not counted twice in the rollups.
 */
export async function insertMetricPoints(db: Db, rows: MetricPointRow[]): Promise<InsertedPoint[]> {
  const inserted: InsertedPoint[] = [];
  const toPoint = (r: Record<string, unknown>): InsertedPoint => ({ key_id: Number(r.key_id), step: Number(r.step), value: Number(r.value), is_nan: Number(r.is_nan) });
  if (dialectOf(db as Kysely<unknown>) === 'postgres') {
    for (const part of chunk(rows, POSTGRES_ROWS_PER_STATEMENT)) {
      const column = <K extends keyof MetricPointRow>(key: K) => part.map((r) => r[key]);
      const result = await sql<Record<string, unknown>>`
        insert into metrics (run_id, key_id, step, ${sql.ref('timestamp')}, value, is_nan, model_id, dataset_name, dataset_digest)
        select * from unnest(${column('run_id')}::bigint[], ${column('key_id')}::bigint[], ${column('step')}::bigint[],
          ${column('timestamp')}::bigint[], ${column('value')}::double precision[], ${column('is_nan')}::integer[],
          ${column('model_id')}::text[], ${column('dataset_name')}::text[], ${column('dataset_digest')}::text[])
        on conflict do nothing
        returning key_id, step, value, is_nan`.execute(db);
      for (const r of result.rows) inserted.push(toPoint(r));
    }
    return inserted;
  }
  for (const part of chunk(rows, SQLITE_ROWS_PER_STATEMENT)) {
    const { text, parameters } = sqlitePointInsert(part);
    // RETURNING more than doubled the native cost of a 1,000-point insert (every row copied out and
    // turned into a JavaScript object). Almost every batch is all new points: insert without it and
    // count the changes. Only when some point was already stored (or sent twice) is the insert
    // undone to the savepoint and run again with RETURNING, to learn which points were new.
    await db.executeQuery(SAVEPOINT);
    try {
      const result = await db.executeQuery(CompiledQuery.raw(text, parameters));
      if (Number(result.numAffectedRows ?? -1) === part.length) {
        // The rows themselves (they carry the point's fields): no second object per point.
        for (const row of part) inserted.push(row);
      } else {
        await db.executeQuery(ROLLBACK_TO_SAVEPOINT);
        const returned = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(`${text} returning "key_id", "step", "value", "is_nan"`, parameters));
        for (const r of returned.rows) inserted.push(toPoint(r));
      }
    } catch (error) {
      await db.executeQuery(ROLLBACK_TO_SAVEPOINT);
      throw error;
    } finally {
      await db.executeQuery(RELEASE_SAVEPOINT);
    }
  }
  return inserted;
}

const POINT_HEAD = `insert into "metrics" (${POINT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values `;
const POINT_ROW = `(${POINT_COLUMNS.map(() => '?').join(', ')})`;
/** A point without model or dataset: the three NULLs in the text, not bound. */
const PLAIN_POINT_ROW = '(?, ?, ?, ?, ?, ?, null, null, null)';
/** SQLite statement texts by row count, plain or general (a 1,000-point batch is the same text every time). */
const pointTexts = new Map<string, string>();

/**
 * The multi-row point insert for SQLite. When no point carries a model or dataset (the usual
 * batch), the three NULLs are in the text: 6 values a point to bind instead of 9. The text is kept by row count, not joined anew per batch (a
 * 1,000-row text is 30 KB, hashed again by the driver's statement cache on every lookup).
 */
function sqlitePointInsert(part: readonly MetricPointRow[]): { text: string; parameters: unknown[] } {
  let plain = true;
  for (const row of part) {
    if (row.model_id !== null || row.dataset_name !== null || row.dataset_digest !== null) {
      plain = false;
      break;
    }
  }
  const cacheKey = `${plain ? 'p' : 'g'}${part.length}`;
  let text = pointTexts.get(cacheKey);
  if (text === undefined) {
    text = `${POINT_HEAD}${new Array(part.length).fill(plain ? PLAIN_POINT_ROW : POINT_ROW).join(', ')} on conflict do nothing`;
    if (pointTexts.size < 64) pointTexts.set(cacheKey, text);
  }
  if (!plain) {
    const parameters: unknown[] = new Array(part.length * POINT_COLUMNS.length);
    let i = 0;
    for (const row of part) for (const c of POINT_COLUMNS) parameters[i++] = row[c];
    return { text, parameters };
  }
  const parameters: unknown[] = new Array(part.length * 6);
  let i = 0;
  for (const row of part) {
    parameters[i++] = row.run_id;
    parameters[i++] = row.key_id;
    parameters[i++] = row.step;
    parameters[i++] = row.timestamp;
    parameters[i++] = row.value;
    parameters[i++] = row.is_nan;
  }
  return { text, parameters };
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
export async function upsertLatestMetrics(
  db: Db,
  runPk: number,
  newest: ReadonlyArray<{ key_id: number; step: number; timestamp: number; value: number; is_nan: number }>,
): Promise<void> {
  if (newest.length === 0) return;
  if (dialectOf(db as Kysely<unknown>) === 'sqlite') {
    // As text, like the point insert: the query builder's tree cost more than the statement.
    for (const part of chunk([...newest], 3000)) {
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
  for (const part of chunk([...newest], 3000)) {
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
