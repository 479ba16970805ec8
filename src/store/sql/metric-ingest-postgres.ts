import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { MetricPointRow } from './metric-ingest.ts';
import { rollupRowsFor, upsertRollups } from './metric-rollups.ts';
import { prepared } from './prepared.ts';
import { isNewerPoint } from './sql-tracking-base.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * A metric batch on PostgreSQL in one statement and one round trip (issue 14 ingest): the points,
 * the rollups and the latest values, written by three data-modifying CTEs of one `INSERT`.
 *
 * - The points travel as five arrays (key, step, timestamp, value, NaN flag) through `unnest`; the
 *   run is one scalar parameter, and the model/dataset columns are empty arrays unless a point has
 *   one (`unnest` pads a shorter array with NULLs). The array literals are written here with
 *   `join(',')` rather than by the driver's generic per-element escaping (numbers need none): under
 *   `npm run bench` that escaping and the socket write of nine 1,000-element arrays were the
 *   largest items of the write path's CPU profile.
 * - The rollups are aggregated in JavaScript from the incoming points (`rollupRowsFor`, about 30
 *   rows for 1,000 consecutive steps) and merged only when every point was new: the statement
 *   compares the number of rows the point insert returned with the batch size. When some points
 *   were already stored (a re-sent batch, MLflow 3 re-logging a run's metrics with its model id,
 *   an exact repeat within the batch), the statement leaves the rollups alone and returns the
 *   points it did insert, whose rollups are then merged by a second statement — a re-sent point is
 *   never counted twice.
 * - The latest value per key is the newest incoming point (isNewerPoint's order), upserted only
 *   over an older stored one, decided under the row lock; keys sorted so that concurrent batches
 *   lock rows in one order.
 *
 * The statement text never varies: it is a named statement, parsed and planned once per pooled
 * connection (prepared.ts). Like every write of the tracking store it runs inside the caller's
 * transaction, so the batch is answered only after its COMMIT.
 */
const STATEMENT = prepared(
  CompiledQuery.raw(
    `with points as (
  select * from unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::double precision[], $6::integer[], $7::text[], $8::text[], $9::text[])
    as p(key_id, step, ts, value, is_nan, model_id, dataset_name, dataset_digest)
), inserted as (
  insert into metrics (run_id, key_id, step, "timestamp", value, is_nan, model_id, dataset_name, dataset_digest)
  select $1, key_id, step, ts, value, is_nan, model_id, dataset_name, dataset_digest from points
  on conflict do nothing
  returning key_id, step, value, is_nan
), rollups as (
  insert into metric_rollups as r (run_id, key_id, level, block, step_min, step_max, vmin, vmax, n)
  select $1, u.* from unnest($11::bigint[], $12::integer[], $13::bigint[], $14::bigint[], $15::bigint[], $16::double precision[], $17::double precision[], $18::bigint[])
    as u(key_id, level, block, step_min, step_max, vmin, vmax, n)
  where (select count(*) from inserted) = $10
  on conflict (run_id, key_id, level, block) do update set
    step_min = least(r.step_min, excluded.step_min),
    step_max = greatest(r.step_max, excluded.step_max),
    vmin = least(r.vmin, excluded.vmin),
    vmax = greatest(r.vmax, excluded.vmax),
    n = r.n + excluded.n
), latest as (
  insert into latest_metrics as l (run_id, key_id, step, "timestamp", value, is_nan, experiment_id)
  select $1, u.*, (select runs.experiment_id from runs where runs.id = $1)
  from unnest($19::bigint[], $20::bigint[], $21::bigint[], $22::double precision[], $23::integer[]) as u(key_id, step, ts, value, is_nan)
  on conflict (run_id, key_id) do update set step = excluded.step, "timestamp" = excluded."timestamp", value = excluded.value, is_nan = excluded.is_nan
  where (excluded.step, excluded."timestamp", 1 - excluded.is_nan, excluded.value) > (l.step, l."timestamp", 1 - l.is_nan, l.value)
)
select key_id, step, value, is_nan from inserted where (select count(*) from inserted) <> $10`,
    [],
  ),
);

/** Points per statement: arrays have no bind-variable limit; chunks only bound the statement's memory. */
const ROWS_PER_STATEMENT = 20_000;

/** Writes a batch of one run's points, their rollups and latest values (see the file comment). */
export async function ingestMetricsPostgres(db: Db, runPk: number, rows: readonly MetricPointRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const part = rows.length <= ROWS_PER_STATEMENT ? rows : rows.slice(start, start + ROWS_PER_STATEMENT);
    const rollups = rollupRowsFor(runPk, part);
    const newest = newestPerKey(part);
    const parameters = [
      runPk,
      numbers(part, (r) => r.key_id),
      numbers(part, (r) => r.step),
      numbers(part, (r) => r.timestamp),
      numbers(part, (r) => r.value),
      numbers(part, (r) => r.is_nan),
      optionalTexts(part, (r) => r.model_id),
      optionalTexts(part, (r) => r.dataset_name),
      optionalTexts(part, (r) => r.dataset_digest),
      part.length,
      numbers(rollups, (r) => r.key_id),
      numbers(rollups, (r) => r.level),
      numbers(rollups, (r) => r.block),
      numbers(rollups, (r) => r.step_min),
      numbers(rollups, (r) => r.step_max),
      numbers(rollups, (r) => r.vmin),
      numbers(rollups, (r) => r.vmax),
      numbers(rollups, (r) => r.n),
      numbers(newest, (r) => r.key_id),
      numbers(newest, (r) => r.step),
      numbers(newest, (r) => r.timestamp),
      numbers(newest, (r) => r.value),
      numbers(newest, (r) => r.is_nan),
    ];
    const result = await db.executeQuery<{ key_id: number; step: number; value: number; is_nan: number }>(CompiledQuery.raw(STATEMENT.sql, parameters));
    // Some points were already stored: the rollups of the ones inserted now.
    if (result.rows.length > 0) {
      const inserted = result.rows.map((r) => ({ key_id: Number(r.key_id), step: Number(r.step), value: Number(r.value), is_nan: Number(r.is_nan) }));
      await upsertRollups(db, rollupRowsFor(runPk, inserted));
    }
  }
}

/** The newest point of each key, sorted by key id (one lock order for every writer). */
function newestPerKey(rows: readonly MetricPointRow[]): MetricPointRow[] {
  const newest = new Map<number, MetricPointRow>();
  for (const row of rows) {
    const current = newest.get(row.key_id);
    if (!current || isNewerPoint(row, current)) newest.set(row.key_id, row);
  }
  return [...newest.values()].sort((a, b) => a.key_id - b.key_id);
}

/**
 * A PostgreSQL array literal of numbers. `String` writes the shortest digits that read back as the
 * same double, and `Infinity`/`-Infinity` as PostgreSQL spells them (NaN never gets here: a NaN
 * point is stored as 0 with its flag set).
 */
function numbers<T>(items: readonly T[], pick: (item: T) => number): string {
  let text = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) text += ',';
    text += String(pick(items[i] as T));
  }
  return `${text}}`;
}

/** The column's values as an array for the driver to escape, or an empty array when all are NULL. */
function optionalTexts(rows: readonly MetricPointRow[], pick: (row: MetricPointRow) => string | null): Array<string | null> {
  for (const row of rows) if (pick(row) !== null) return rows.map(pick);
  return [];
}

