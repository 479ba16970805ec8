import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { newestPerKey, sliceColumns, type PointColumns } from './metric-ingest.ts';
import { rollupRowsFor, upsertRollups, type RollupRow } from './metric-rollups.ts';
import { prepared } from './prepared.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * A metric batch on PostgreSQL in one statement and one round trip (issue 14 ingest): the points,
 * the rollups and the latest values, written by three data-modifying CTEs of one `INSERT`.
 *
 * - The points travel as five arrays (key, step, timestamp, value, NaN flag) through `unnest`, in
 *   PostgreSQL's binary array format; the run is one scalar parameter, and the model/dataset
 *   columns are empty arrays unless a point has one (`unnest` pads a shorter array with NULLs).
 *   Under `npm run bench` the driver's text encoding of nine 1,000-element arrays (per-element
 *   escaping, printing every double) was the largest item of the write path's CPU profile.
 * - The rollups are aggregated in JavaScript from the incoming points (`rollupRowsFor` 'by-step':
 *   the levels up to the one whose block 0 holds the batch's last step, about 20 rows for 1,000
 *   consecutive steps below 2 million, one per key for steps below 64) and merged only when every point was new: the statement
 *   compares the number of rows the point insert returned with the batch size. When some points
 *   were already stored (a re-sent batch, MLflow 3 re-logging a run's metrics with its model id,
 *   an exact repeat within the batch), the statement leaves the rollups alone and returns the
 *   points it did insert, whose rollups are then merged by a second statement — a re-sent point is
 *   never counted twice.
 * - The latest value per key is the newest incoming point (isNewerPoint's order), upserted only
 *   over an older stored one, decided under the row lock. Latest and rollup rows are sent sorted by
 *   key (and level, block), so concurrent batches lock the rows they share in one order.
 *
 * The statement text never varies: it is a named statement, parsed and planned once per pooled
 * connection (prepared.ts). Like every write of the tracking store it runs inside the caller's
 * transaction, so the batch is answered only after its COMMIT.
 */
const STATEMENT = prepared(
  CompiledQuery.raw(
    `with ${metricWritesText({ run: '$1', from: '', experiment: '(select runs.experiment_id from runs where runs.id = $1)', first: 2 })}
select key_id, step, value, is_nan from inserted where (select count(*) from inserted) <> $10`,
    [],
  ),
);

/**
 * The CTEs `points`, `inserted` (the points written, returning them), `rollups` and `latest`, with
 * 22 parameters from `$first` on (metricParameters). `run` is the SQL expression of the run's
 * primary key, `from` what the row sources are joined with (empty, or `run, ` when the run comes
 * from a CTE of that name: no run row, nothing written), `experiment` the run's experiment id.
 * `newOnly`: the points are inserted without `on conflict do nothing`, so a point already stored
 * fails the statement with a unique violation of `metrics_pk` (the caller then takes a path that
 * skips it). PostgreSQL then inserts each point once instead of speculatively (a check of the key
 * first, the insert, then a confirmation): 2 WAL records per point instead of 3, ~20 % less backend
 * CPU per 1,000-point batch.
 */
export function metricWritesText(target: { run: string; from: string; experiment: string; first: number; newOnly?: boolean }): string {
  const { run, from, experiment } = target;
  const p = (i: number): string => `$${target.first + i}`;
  return `points as (
  select * from unnest(${p(0)}::bigint[], ${p(1)}::bigint[], ${p(2)}::bigint[], ${p(3)}::double precision[], ${p(4)}::integer[], ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::text[])
    as p(key_id, step, ts, value, is_nan, model_id, dataset_name, dataset_digest)
), inserted as (
  insert into metrics (run_id, key_id, step, "timestamp", value, is_nan, model_id, dataset_name, dataset_digest)
  select ${run}, key_id, step, ts, value, is_nan, model_id, dataset_name, dataset_digest from ${from}points
  ${target.newOnly ? '' : 'on conflict do nothing'}
  returning key_id, step, value, is_nan
), rollups as (
  insert into metric_rollups as r (run_id, key_id, level, block, step_min, step_max, vmin, vmax, n)
  select ${run}, u.* from ${from}unnest(${p(9)}::bigint[], ${p(10)}::integer[], ${p(11)}::bigint[], ${p(12)}::bigint[], ${p(13)}::bigint[], ${p(14)}::double precision[], ${p(15)}::double precision[], ${p(16)}::bigint[])
    as u(key_id, level, block, step_min, step_max, vmin, vmax, n)
  where (select count(*) from inserted) = ${p(8)}
  on conflict (run_id, key_id, level, block) do update set
    step_min = least(r.step_min, excluded.step_min),
    step_max = greatest(r.step_max, excluded.step_max),
    vmin = least(r.vmin, excluded.vmin),
    vmax = greatest(r.vmax, excluded.vmax),
    n = r.n + excluded.n
), latest as (
  insert into latest_metrics as l (run_id, key_id, step, "timestamp", value, is_nan, experiment_id)
  select ${run}, u.*, ${experiment}
  from ${from}unnest(${p(17)}::bigint[], ${p(18)}::bigint[], ${p(19)}::bigint[], ${p(20)}::double precision[], ${p(21)}::integer[]) as u(key_id, step, ts, value, is_nan)
  on conflict (run_id, key_id) do update set step = excluded.step, "timestamp" = excluded."timestamp", value = excluded.value, is_nan = excluded.is_nan
  where (excluded.step, excluded."timestamp", 1 - excluded.is_nan, excluded.value) > (l.step, l."timestamp", 1 - l.is_nan, l.value)
)`;
}

/**
 * The 22 parameters of metricWritesText for a part of a batch: the points, their number, the
 * rollups (the levels up to the one whose block 0 holds the part's last step: metric-rollups.ts,
 * levelOfSteps; no lock and no read of the keys' top levels first) and the newest point per key.
 * `runPk` only labels the rollup rows; the statement writes its own run id.
 */
export function metricParameters(runPk: number, part: PointColumns): unknown[] {
  const rollups = inLockOrder(rollupRowsFor(runPk, part, 'by-step'));
  const newest = newestPerKey(part);
  return [
    binaryArray(INT8, part.keyId),
    binaryArray(INT8, part.step),
    binaryArray(INT8, part.timestamp),
    binaryArray(FLOAT8, part.value),
    binaryArray(INT4, part.isNan),
    part.modelId ?? [],
    part.datasetName ?? [],
    part.datasetDigest ?? [],
    part.length,
    binaryArray(INT8, rollups.map((r) => r.key_id)),
    binaryArray(INT4, rollups.map((r) => r.level)),
    binaryArray(INT8, rollups.map((r) => r.block)),
    binaryArray(INT8, rollups.map((r) => r.step_min)),
    binaryArray(INT8, rollups.map((r) => r.step_max)),
    binaryArray(FLOAT8, rollups.map((r) => r.vmin)),
    binaryArray(FLOAT8, rollups.map((r) => r.vmax)),
    binaryArray(INT8, rollups.map((r) => r.n)),
    binaryArray(INT8, newest.map((i) => part.keyId[i]!)),
    binaryArray(INT8, newest.map((i) => part.step[i]!)),
    binaryArray(INT8, newest.map((i) => part.timestamp[i]!)),
    binaryArray(FLOAT8, newest.map((i) => part.value[i]!)),
    binaryArray(INT4, newest.map((i) => part.isNan[i]!)),
  ];
}

/** Points per statement: arrays have no bind-variable limit; chunks only bound the statement's memory. */
export const ROWS_PER_STATEMENT = 20_000;

/** Writes a batch of one run's points, their rollups and latest values (see the file comment). */
export async function ingestMetricsPostgres(db: Db, runPk: number, columns: PointColumns): Promise<void> {
  for (let start = 0; start < columns.length; start += ROWS_PER_STATEMENT) {
    const part = sliceColumns(columns, start, start + ROWS_PER_STATEMENT);
    const parameters = [runPk, ...metricParameters(runPk, part)];
    const result = await db.executeQuery<{ key_id: number; step: number; value: number; is_nan: number }>(CompiledQuery.raw(STATEMENT.sql, parameters));
    // Some points were already stored: the rollups of the ones inserted now.
    if (result.rows.length > 0) {
      const inserted = result.rows.map((r) => ({ key_id: Number(r.key_id), step: Number(r.step), value: Number(r.value), is_nan: Number(r.is_nan) }));
      await upsertRollups(db, inLockOrder(rollupRowsFor(runPk, inserted, 'by-step')));
    }
  }
}

/**
 * Rollup rows sorted by (key, level, block): concurrent batches of one run that share keys then
 * lock the rows they both update in the same order, so they wait for each other instead of
 * deadlocking.
 */
function inLockOrder(rows: RollupRow[]): RollupRow[] {
  return rows.sort((a, b) => a.key_id - b.key_id || a.level - b.level || a.block - b.block);
}

/** Element types of the binary arrays: PostgreSQL type oid and byte width. */
const INT8 = { oid: 20, width: 8 } as const;
const INT4 = { oid: 23, width: 4 } as const;
const FLOAT8 = { oid: 701, width: 8 } as const;
type ElementType = typeof INT8 | typeof INT4 | typeof FLOAT8;
const TWO_32 = 2 ** 32;

/**
 * A one-dimensional array without NULLs in PostgreSQL's binary format (what `array_send` writes:
 * dimensions, null flag, element type, length and lower bound, then each element as its length and
 * big-endian bytes). node-postgres sends a Buffer parameter in binary, so a 1,000-point batch is
 * 12 KB per column with no number printed or parsed on either side, and doubles travel bit for bit.
 * Integers must be safe integers (the tracking service validates steps and timestamps as such).
 */
function binaryArray(type: ElementType, items: ArrayLike<number>): Buffer {
  const buffer = Buffer.allocUnsafe(20 + items.length * (4 + type.width));
  buffer.writeInt32BE(1, 0); // dimensions
  buffer.writeInt32BE(0, 4); // no NULLs
  buffer.writeInt32BE(type.oid, 8);
  buffer.writeInt32BE(items.length, 12);
  buffer.writeInt32BE(1, 16); // lower bound
  let offset = 20;
  for (let i = 0; i < items.length; i++) {
    const value = items[i]!;
    buffer.writeInt32BE(type.width, offset);
    if (type === FLOAT8) {
      buffer.writeDoubleBE(value, offset + 4);
    } else if (type === INT4) {
      buffer.writeInt32BE(value, offset + 4);
    } else {
      if (!Number.isSafeInteger(value)) throw new RangeError(`not a 64-bit integer the store can write exactly: ${value}`);
      const high = Math.floor(value / TWO_32);
      buffer.writeInt32BE(high, offset + 4);
      buffer.writeUInt32BE(value - high * TWO_32, offset + 8);
    }
    offset += 4 + type.width;
  }
  return buffer;
}
