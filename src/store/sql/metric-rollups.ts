import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { Database } from './schema.ts';
import { chunk } from './sql-conditions.ts';
import type { RollupPoints } from './metric-ingest.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Rollup levels: a level-L block covers 8^L consecutive steps. Level 2 (64 steps) is the finest —
 * below that a plain scan is cheap — and level 14 (~4.4e12 steps) covers histories whose steps are
 * timestamps. Reading at the coarsest level whose block fits in a drawing bucket touches at most
 * about 8 rows per bucket.
 *
 * Only the levels up to a series' top level are stored: the finest level at which its whole
 * history (every non-NaN point) lies in one block. Every coarser level would hold that same single
 * block again (a history of 10,000 steps from 0 needs levels 2 to 5, not 2 to 14), and writing
 * those copies was most of the rollup rows of a small batch (13 per key of a 10-metric
 * log-batch). Invariant per (run, key): levels 2 … top are stored, each holds every point, and the
 * top level is one block (or level 14, which may hold several). A point outside the top block
 * raises the top: the writer copies the old top row into the new levels (rollupRowsFor with the
 * stored tops), which is why it must see the tops of the keys it writes under a lock. SQLite's
 * single writer is that lock. A reader asking for a level above the top reads the top row in its
 * place: the same single block (readTopRollups, downsampleFromRollups). Databases whose rollups
 * were built with every level (migration 0005) keep the invariant with top 14.
 *
 * PostgreSQL cannot read the tops without a lock statement and a read before the batch's one
 * statement, two round trips that cost more than the rows they save (measured at the store, 4
 * writers, load 8–9: log-batch of 10 metrics 337 req/s against 455, 1,000-point batches 88,000
 * against 100,000 points/s). It writes 'by-step' instead (levelOfSteps): each batch up to the
 * finest level whose block 0 holds its last step (every level with a negative step). A point at
 * step s ≥ 8^L is then written at level L by its own batch, so every block other than block 0 holds
 * every point at every stored level, and so does level 2's block 0; a coarser block 0 may lack the
 * points of batches whose steps all lay below it. Readers therefore take block 0 of level L from
 * level 2's block 0 and blocks 1 … 7 of levels 2 … L − 1 (readBlockZero: disjoint, complete, at most
 * 85 rows) and a series' extent from level 2 (readRollupExtent). Both hold for the SQLite tops and
 * for every-level databases too, so one reader serves all three. A 10-metric log-batch at steps
 * below 64 writes 10 rollup rows instead of 130.
 */
export const ROLLUP_LEVELS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;
export const FINEST_ROLLUP_LEVEL = 2;
export const COARSEST_ROLLUP_LEVEL = 14;

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

/** The coarsest stored rollup row of a series: its level is the series' top level (see above). */
export interface RollupTop {
  key_id: number;
  level: number;
  step_min: number;
  step_max: number;
  vmin: number;
  vmax: number;
  n: number;
}

/** The finest level from `from` on at which steps `lo` and `hi` fall in one block (at most the coarsest level). */
function singleBlockLevel(lo: number, hi: number, from: number): number {
  for (let level = from; level < COARSEST_ROLLUP_LEVEL; level++) {
    const size = 8 ** level;
    if (Math.floor(lo / size) === Math.floor(hi / size)) return level;
  }
  return COARSEST_ROLLUP_LEVEL;
}

/**
 * Aggregates incoming points into one row per (key, level, block), for the levels up to each key's
 * new top level given the stored `tops` (none: the key has no rollups yet). When the batch raises a
 * key's top, the old top row (the whole stored history, one block) is merged into the new levels.
 * With 'every-level' every level 2 … 14 is written (top 14 for every key: no tops to read); with
 * 'by-step' (PostgreSQL) the levels up to the one whose block 0 holds the key's last step
 * (levelOfSteps), again without reading the tops.
 * NaN points are not drawn and not rolled up.
 */
export function rollupRowsFor(
  runPk: number,
  points: RollupPoints | ReadonlyArray<{ key_id: number; step: number; value: number; is_nan: number }>,
  tops: ReadonlyMap<number, RollupTop> | 'every-level' | 'by-step' = new Map(),
): RollupRow[] {
  const columns = 'keyId' in points ? points : rollupPointsOf(points);
  const { keyId, step, value } = columns;
  // Per key, the indices of its points sorted by step: the points of one block are then
  // contiguous at every level, and one pass per level merges neighbours, with no per-point map
  // lookups and no object per point (this runs on every metric write).
  const byKey = indicesByKey(columns);
  const rows: RollupRow[] = [];
  for (const [key, list] of byKey) {
    let sorted = true;
    for (let j = 1; j < list.length; j++) {
      if (step[list[j]!]! < step[list[j - 1]!]!) {
        sorted = false;
        break;
      }
    }
    if (!sorted) list.sort((a, b) => step[a]! - step[b]! || a - b);
    const top = typeof tops === 'string' ? undefined : tops.get(key);
    let lo = step[list[0]!]!;
    let hi = step[list[list.length - 1]!]!;
    if (top) {
      lo = Math.min(lo, top.step_min);
      hi = Math.max(hi, top.step_max);
    }
    const newTop =
      tops === 'every-level' ? COARSEST_ROLLUP_LEVEL
      : tops === 'by-step' ? levelOfSteps(lo, hi)
      : singleBlockLevel(lo, hi, top ? Math.max(top.level, FINEST_ROLLUP_LEVEL) : FINEST_ROLLUP_LEVEL);
    for (let level = FINEST_ROLLUP_LEVEL; level <= newTop; level++) {
      const size = 8 ** level;
      const first = rows.length;
      let current: RollupRow | undefined;
      for (let j = 0; j < list.length; j++) {
        const i = list[j]!;
        const s = step[i]!;
        const v = value[i]!;
        const block = Math.floor(s / size);
        if (current && current.block === block) {
          current.step_max = s;
          if (v < current.vmin) current.vmin = v;
          if (v > current.vmax) current.vmax = v;
          current.n += 1;
        } else {
          current = { run_id: runPk, key_id: key, level, block, step_min: s, step_max: s, vmin: v, vmax: v, n: 1 };
          rows.push(current);
        }
      }
      // A level the stored history did not reach yet: its single block joins this level.
      if (top && level > top.level) {
        const block = Math.floor(top.step_min / size);
        let same: RollupRow | undefined;
        for (let i = first; i < rows.length; i++) if (rows[i]!.block === block) same = rows[i];
        if (same) {
          same.step_min = Math.min(same.step_min, top.step_min);
          same.step_max = Math.max(same.step_max, top.step_max);
          same.vmin = Math.min(same.vmin, top.vmin);
          same.vmax = Math.max(same.vmax, top.vmax);
          same.n += top.n;
        } else {
          rows.push({ run_id: runPk, key_id: key, level, block, step_min: top.step_min, step_max: top.step_max, vmin: top.vmin, vmax: top.vmax, n: top.n });
        }
      }
    }
  }
  return rows;
}

/**
 * PostgreSQL's levels for a key's points from `lo` to `hi` ('by-step', no read of the stored
 * tops): up to the finest level whose block 0 holds step `hi`, so that every block other than
 * block 0 is complete at every stored level (a point at step s ≥ 8^L is written at level L and
 * above by its own batch), and block 0 of level L is read as level 2's block 0 plus blocks 1 … 7
 * of levels 2 … L − 1 (readBlockZero). Negative steps take every level.
 */
function levelOfSteps(lo: number, hi: number): number {
  if (lo < 0) return COARSEST_ROLLUP_LEVEL;
  for (let level = FINEST_ROLLUP_LEVEL; level < COARSEST_ROLLUP_LEVEL; level++) if (hi < 8 ** level) return level;
  return COARSEST_ROLLUP_LEVEL;
}

/** Point objects as the columns rollupRowsFor reads. */
function rollupPointsOf(points: ReadonlyArray<{ key_id: number; step: number; value: number; is_nan: number }>): RollupPoints {
  return { length: points.length, keyId: points.map((p) => p.key_id), step: points.map((p) => p.step), value: points.map((p) => p.value), isNan: points.map((p) => p.is_nan) };
}

/** The indices of the points that are rolled up (NaN points are not), by key in order of appearance. */
function indicesByKey(points: RollupPoints): Map<number, number[]> {
  const byKey = new Map<number, number[]>();
  let lastKey = Number.NaN;
  let list: number[] = [];
  for (let i = 0; i < points.length; i++) {
    if (points.isNan[i]) continue;
    const key = points.keyId[i]!;
    if (key !== lastKey) {
      lastKey = key;
      let found = byKey.get(key);
      if (!found) byKey.set(key, (found = []));
      list = found;
    }
    list.push(i);
  }
  return byKey;
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

export type RollupPart = Omit<RollupRow, 'run_id' | 'key_id' | 'level'>;

/** Rollup rows of one series at one level whose blocks lie within [firstBlock, lastBlock]. */
export async function readRollups(
  db: Db,
  input: { runPk: number; keyId: number; level: number; firstBlock: number; lastBlock: number },
): Promise<RollupPart[]> {
  const rows = await db
    .selectFrom('metric_rollups')
    .select(['block', 'step_min', 'step_max', 'vmin', 'vmax', 'n'])
    .where('run_id', '=', input.runPk)
    .where('key_id', '=', input.keyId)
    .where('level', '=', input.level)
    .where('block', '>=', input.firstBlock)
    .where('block', '<=', input.lastBlock)
    .orderBy('block')
    .execute();
  return rows.map(toPart);
}

/**
 * The points of steps [0, 8^(upTo + 1)) as one part: level 2's block 0 and blocks 1 … 7 of levels
 * 2 … upTo, which are complete however the series was written (every level on databases written
 * before, the stored tops on SQLite, 'by-step' on PostgreSQL, where block 0 of a coarser level
 * may lack points of batches whose steps all lay below it). Undefined when there are none.
 */
export async function readBlockZero(db: Db, input: { runPk: number; keyId: number; upTo: number }): Promise<RollupPart | undefined> {
  const rows = await db
    .selectFrom('metric_rollups')
    .select(['block', 'step_min', 'step_max', 'vmin', 'vmax', 'n'])
    .where('run_id', '=', input.runPk)
    .where('key_id', '=', input.keyId)
    .where((eb) => {
      const terms = [eb.and([eb('level', '=', FINEST_ROLLUP_LEVEL), eb('block', '=', 0)])];
      for (let level = FINEST_ROLLUP_LEVEL; level <= input.upTo; level++) terms.push(eb.and([eb('level', '=', level), eb.between('block', 1, 7)]));
      return eb.or(terms);
    })
    .execute();
  let zero: RollupPart | undefined;
  for (const row of rows) {
    const part = toPart(row);
    if (!zero) zero = { ...part, block: 0 };
    else mergePart(zero, part);
  }
  return zero;
}

/** Widens `into` by `part` (min of mins, max of maxes, sum of counts). */
export function mergePart(into: Omit<RollupPart, 'block'>, part: Omit<RollupPart, 'block'>): void {
  if (part.step_min < into.step_min) into.step_min = part.step_min;
  if (part.step_max > into.step_max) into.step_max = part.step_max;
  if (part.vmin < into.vmin) into.vmin = part.vmin;
  if (part.vmax > into.vmax) into.vmax = part.vmax;
  into.n += part.n;
}

function toPart(r: { block: number | string; step_min: number | string; step_max: number | string; vmin: number | string; vmax: number | string; n: number | string }): RollupPart {
  return { block: Number(r.block), step_min: Number(r.step_min), step_max: Number(r.step_max), vmin: Number(r.vmin), vmax: Number(r.vmax), n: Number(r.n) };
}

/**
 * The first and last step of a series and its top (coarsest stored) level; all null when the
 * series has no rollups. The steps come from level 2, whose blocks hold every point whichever
 * way the series was written: its first and last block, two index seeks.
 */
export async function readRollupExtent(db: Db, runPk: number, keyId: number): Promise<{ lo: number | null; hi: number | null; top: number | null }> {
  const { rows } = await sql<{ lo: number | string | null; hi: number | string | null; top: number | string | null }>`
    select
      (select step_min from metric_rollups where run_id = ${runPk} and key_id = ${keyId} and level = ${FINEST_ROLLUP_LEVEL} order by block limit 1) as lo,
      (select step_max from metric_rollups where run_id = ${runPk} and key_id = ${keyId} and level = ${FINEST_ROLLUP_LEVEL} order by block desc limit 1) as hi,
      (select max(level) from metric_rollups where run_id = ${runPk} and key_id = ${keyId}) as top`.execute(db);
  const row = rows[0];
  if (!row || row.lo === null || row.hi === null || row.top === null) return { lo: null, hi: null, top: null };
  return { lo: Number(row.lo), hi: Number(row.hi), top: Number(row.top) };
}

/** SQLite statement texts by key count. */
const topTexts = new Map<number, string>();
const TOP_SELECT = 'select * from (select "key_id", "level", "step_min", "step_max", "vmin", "vmax", "n" from "metric_rollups" where "run_id" = ? and "key_id" = ? order by "level" desc limit 1)';
/**
 * The top rollup row of each of the keys (keys without rollups are absent): what rollupRowsFor
 * needs to know which levels a batch writes, on SQLite, whose single writer is the lock that
 * keeps a concurrent batch from raising a top unseen.
 */
export async function readTopRollups(db: Db, runPk: number, keyIds: readonly number[]): Promise<Map<number, RollupTop>> {
  const tops = new Map<number, RollupTop>();
  if (keyIds.length === 0) return tops;
  const add = (r: Record<string, unknown>) =>
    tops.set(Number(r.key_id), {
      key_id: Number(r.key_id),
      level: Number(r.level),
      step_min: Number(r.step_min),
      step_max: Number(r.step_max),
      vmin: Number(r.vmin),
      vmax: Number(r.vmax),
      n: Number(r.n),
    });
  // SQLite only (PostgreSQL writes every level). One seek per key, as a UNION ALL of per-key
  // subqueries (SQLite allows 500 terms).
  for (const part of chunk([...keyIds], 200)) {
    let text = topTexts.get(part.length);
    if (text === undefined) {
      text = new Array(part.length).fill(TOP_SELECT).join(' union all ');
      if (topTexts.size < 64) topTexts.set(part.length, text);
    }
    const parameters: unknown[] = [];
    for (const keyId of part) parameters.push(runPk, keyId);
    const result = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, parameters));
    for (const r of result.rows) add(r);
  }
  return tops;
}

/** The distinct keys of the points that will be rolled up (NaN points are not), sorted. */
export function rolledUpKeys(points: RollupPoints): number[] {
  const keys = new Set<number>();
  let lastKey = Number.NaN;
  for (let i = 0; i < points.length; i++) {
    if (points.isNan[i]) continue;
    const key = points.keyId[i]!;
    if (key !== lastKey) keys.add((lastKey = key));
  }
  return [...keys].sort((a, b) => a - b);
}
