import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { Database } from './schema.ts';
import { chunk } from './sql-conditions.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Rollup levels: a level-L block covers 8^L consecutive steps. Level 2 (64 steps) is the finest —
 * below that a plain scan is cheap — and level 14 (~4.4e12 steps) covers histories whose steps are
 * timestamps. Reading at the coarsest level whose block fits in a drawing bucket touches at most
 * about 8 rows per bucket.
 */
export const ROLLUP_LEVELS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;

export interface RollupRow {
  run_id: number;
  key_id: number;
  level: number;
  block: number;
  step_min: number;
  step_max: number;
  vmin: number;
  vmax: number;
  n: number;
}

/** Aggregates incoming points into one row per (key, level, block). NaN points are not drawn and not rolled up. */
export function rollupRowsFor(
  runPk: number,
  points: ReadonlyArray<{ key_id: number; step: number; value: number; is_nan: number }>,
): RollupRow[] {
  // Per key, sorted by step, the points of one block are contiguous at every level: one pass per
  // level merges neighbours, with no per-point map lookups (this runs on every metric write).
  const byKey = new Map<number, Array<{ step: number; value: number }>>();
  for (const point of points) {
    if (point.is_nan) continue;
    const list = byKey.get(point.key_id);
    if (list) list.push(point);
    else byKey.set(point.key_id, [point]);
  }
  const rows: RollupRow[] = [];
  for (const [keyId, list] of byKey) {
    list.sort((a, b) => a.step - b.step);
    for (const level of ROLLUP_LEVELS) {
      const size = 8 ** level;
      let current: RollupRow | undefined;
      for (const point of list) {
        const block = Math.floor(point.step / size);
        if (current && current.block === block) {
          current.step_max = point.step;
          if (point.value < current.vmin) current.vmin = point.value;
          if (point.value > current.vmax) current.vmax = point.value;
          current.n += 1;
        } else {
          current = { run_id: runPk, key_id: keyId, level, block, step_min: point.step, step_max: point.step, vmin: point.value, vmax: point.value, n: 1 };
          rows.push(current);
        }
      }
    }
  }
  return rows;
}

const ROLLUP_COLUMNS = ['run_id', 'key_id', 'level', 'block', 'step_min', 'step_max', 'vmin', 'vmax', 'n'] as const;
const ROLLUP_ROW = `(${ROLLUP_COLUMNS.map(() => '?').join(', ')})`;
const ROLLUP_HEAD = `insert into "metric_rollups" (${ROLLUP_COLUMNS.map((c) => `"${c}"`).join(', ')}) values `;
const ROLLUP_MERGE = ` on conflict ("run_id", "key_id", "level", "block") do update set
  "step_min" = case when excluded.step_min < metric_rollups.step_min then excluded.step_min else metric_rollups.step_min end,
  "step_max" = case when excluded.step_max > metric_rollups.step_max then excluded.step_max else metric_rollups.step_max end,
  "vmin" = case when excluded.vmin < metric_rollups.vmin then excluded.vmin else metric_rollups.vmin end,
  "vmax" = case when excluded.vmax > metric_rollups.vmax then excluded.vmax else metric_rollups.vmax end,
  "n" = metric_rollups.n + excluded.n`;
/** SQLite statement texts by row count (a 10-metric log-batch is 130 rows every time). */
const rollupTexts = new Map<number, string>();

/** Merges rollup rows into the table (min of mins, max of maxes, sum of counts). */
export async function upsertRollups(db: Db, rows: RollupRow[]): Promise<void> {
  // 9 columns per row: 3000 rows stay under SQLite's bind-variable limit.
  if (dialectOf(db as Kysely<unknown>) === 'sqlite') {
    // The statement as text, as the point insert does (metric-ingest.ts): building it with the
    // query builder (a node per value, then compiling them) cost more CPU than SQLite spent
    // running it for a 10-metric log-batch (130 rollup rows).
    for (const part of chunk(rows, 3000)) {
      let text = rollupTexts.get(part.length);
      if (text === undefined) {
        text = `${ROLLUP_HEAD}${new Array(part.length).fill(ROLLUP_ROW).join(', ')}${ROLLUP_MERGE}`;
        if (rollupTexts.size < 64) rollupTexts.set(part.length, text);
      }
      const parameters: unknown[] = new Array(part.length * ROLLUP_COLUMNS.length);
      let i = 0;
      for (const row of part) for (const c of ROLLUP_COLUMNS) parameters[i++] = row[c];
      await db.executeQuery(CompiledQuery.raw(text, parameters));
    }
    return;
  }
  for (const part of chunk(rows, 3000)) {
    await db
      .insertInto('metric_rollups')
      .values(part)
      .onConflict((oc) =>
        oc.columns(['run_id', 'key_id', 'level', 'block']).doUpdateSet({
          step_min: sql`case when excluded.step_min < metric_rollups.step_min then excluded.step_min else metric_rollups.step_min end`,
          step_max: sql`case when excluded.step_max > metric_rollups.step_max then excluded.step_max else metric_rollups.step_max end`,
          vmin: sql`case when excluded.vmin < metric_rollups.vmin then excluded.vmin else metric_rollups.vmin end`,
          vmax: sql`case when excluded.vmax > metric_rollups.vmax then excluded.vmax else metric_rollups.vmax end`,
          n: sql`metric_rollups.n + excluded.n`,
        }),
      )
      .execute();
  }
}

/** The coarsest level whose blocks fit in a bucket of `bucketWidth` steps, or undefined if none does. */
export function rollupLevelFor(bucketWidth: number): number | undefined {
  let chosen: number | undefined;
  for (const level of ROLLUP_LEVELS) if (8 ** level <= bucketWidth) chosen = level;
  return chosen;
}

/** Rollup rows of one series at one level whose blocks lie within [firstBlock, lastBlock]. */
export async function readRollups(
  db: Db,
  input: { runPk: number; keyId: number; level: number; firstBlock: number; lastBlock: number },
): Promise<Array<{ step_min: number; step_max: number; vmin: number; vmax: number; n: number }>> {
  const rows = await db
    .selectFrom('metric_rollups')
    .select(['step_min', 'step_max', 'vmin', 'vmax', 'n'])
    .where('run_id', '=', input.runPk)
    .where('key_id', '=', input.keyId)
    .where('level', '=', input.level)
    .where('block', '>=', input.firstBlock)
    .where('block', '<=', input.lastBlock)
    .orderBy('block')
    .execute();
  return rows.map((r) => ({
    step_min: Number(r.step_min),
    step_max: Number(r.step_max),
    vmin: Number(r.vmin),
    vmax: Number(r.vmax),
    n: Number(r.n),
  }));
}

/** The first and last step of a series, from its coarsest rollup level (one row unless steps are astronomically spread). */
export async function readRollupExtent(db: Db, runPk: number, keyId: number): Promise<{ lo: number | null; hi: number | null }> {
  const top = 14; // the last entry of ROLLUP_LEVELS
  const row = await db
    .selectFrom('metric_rollups')
    .select((eb) => [eb.fn.min('step_min').as('lo'), eb.fn.max('step_max').as('hi')])
    .where('run_id', '=', runPk)
    .where('key_id', '=', keyId)
    .where('level', '=', top)
    .executeTakeFirst();
  return { lo: row?.lo === null || row?.lo === undefined ? null : Number(row.lo), hi: row?.hi === null || row?.hi === undefined ? null : Number(row.hi) };
}
