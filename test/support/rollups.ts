import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../../src/store/sql/dialect.ts';
import type { Database } from '../../src/store/sql/schema.ts';

/**
 * Checks the stored rollups of one run's series against its non-NaN points (metric-rollups.ts):
 * levels 2 … top are stored and no other. On SQLite every level holds every point (count, min,
 * max and step range), the top level is one block and the finest level that is (below 14). On
 * PostgreSQL ('by-step') the top is the finest level whose block 0 holds the last step (14 with
 * negative steps), every block but block 0 holds every point at every level, level 2's block 0
 * too, and a coarser block 0 holds some of its points (a batch writes only up to its own steps'
 * level). `everyLevel`: every level 2 … 14 holds every point (databases written before).
 */
export async function assertRollupsMatch(
  db: Kysely<Database>,
  runPk: number,
  key: string,
  points: ReadonlyArray<{ step: number; value: number }>,
  options: { everyLevel?: boolean } = {},
): Promise<void> {
  const byStep = !options.everyLevel && dialectOf(db as Kysely<unknown>) === 'postgres';
  const everyLevel = options.everyLevel ?? false;
  const drawn = points.filter((p) => !Number.isNaN(p.value));
  const { rows } = await sql<{ level: number | string; block: number | string; step_min: number | string; step_max: number | string; vmin: number | string; vmax: number | string; n: number | string }>`
    select r.level, r.block, r.step_min, r.step_max, r.vmin, r.vmax, r.n from metric_rollups r join metric_keys k on k.id = r.key_id
    where r.run_id = ${runPk} and k.key = ${key} order by r.level, r.block`.execute(db);
  if (drawn.length === 0) {
    assert.equal(rows.length, 0, 'no rollups without drawable points');
    return;
  }
  const levels = [...new Set(rows.map((r) => Number(r.level)))];
  const top = Math.max(...levels);
  assert.deepEqual(levels, Array.from({ length: top - 1 }, (_, i) => i + 2), 'levels 2 … top are stored');
  const lo = Math.min(...drawn.map((p) => p.step));
  const hi = Math.max(...drawn.map((p) => p.step));
  const single = (level: number) => Math.floor(lo / 8 ** level) === Math.floor(hi / 8 ** level);
  if (everyLevel) assert.equal(top, 14, 'every level is stored');
  else if (byStep) {
    let want = 14;
    if (lo >= 0) for (let level = 13; level >= 2; level--) if (hi < 8 ** level) want = level;
    assert.equal(top, want, 'the top is the finest level whose block 0 holds the last step');
  } else {
    if (top < 14) assert.ok(single(top), `the whole history is one block at the top level ${top}`);
    if (top > 2) assert.ok(!single(top - 1), `level ${top - 1} would already have been the top`);
  }
  for (const level of levels) {
    const size = 8 ** level;
    const expected = new Map<number, { step_min: number; step_max: number; vmin: number; vmax: number; n: number }>();
    for (const p of drawn) {
      addPoint(expected, Math.floor(p.step / size), p);
    }
    let stored = rows
      .filter((r) => Number(r.level) === level)
      .map((r) => [Number(r.block), Number(r.step_min), Number(r.step_max), Number(r.vmin), Number(r.vmax), Number(r.n)]);
    if (byStep && level > 2) {
      // Block 0 of a coarser level may hold only some of its points: within the true block.
      const zero = stored.find((r) => r[0] === 0);
      const all = expected.get(0);
      if (zero) {
        assert.ok(all, `level ${level}: a block 0 row without points there`);
        const [, stepMin, stepMax, vmin, vmax, n] = zero as [number, number, number, number, number, number];
        assert.ok(stepMin >= all.step_min && stepMax <= all.step_max && vmin >= all.vmin && vmax <= all.vmax && n <= all.n, `level ${level}: block 0 within its points`);
      }
      stored = stored.filter((r) => r[0] !== 0);
      expected.delete(0);
    }
    const want = [...expected.entries()].sort((a, b) => a[0] - b[0]).map(([block, b]) => [block, b.step_min, b.step_max, b.vmin, b.vmax, b.n]);
    assert.deepEqual(stored, want, `level ${level}`);
  }
}

/**
 * The downsampled series as it is defined (and as it was computed when every level 2 … 14 was
 * stored), straight from the raw points: buckets of `width` steps from `lo`; the rollup level is
 * the coarsest with 8^level ≤ width; its blocks wholly inside the range count as one part each,
 * placed in the bucket of their first step; the points of partial blocks at the edges of an
 * explicit range count one by one. Null when buckets are narrower than the finest level (the
 * store then groups the raw points).
 */
export function referenceDownsample(
  points: ReadonlyArray<{ step: number; value: number }>,
  query: { start: number | null; end: number | null; maxBuckets: number },
): { x: number[]; xEnd: number[]; min: number[]; max: number[]; count: number[] } | null {
  const drawn = points.filter((p) => !Number.isNaN(p.value));
  const lo = query.start ?? Math.min(...drawn.map((p) => p.step));
  const hi = query.end ?? Math.max(...drawn.map((p) => p.step));
  const width = Math.max(1, Math.ceil((hi - lo + 1) / query.maxBuckets));
  let level = 0;
  for (let l = 2; l <= 14; l++) if (8 ** l <= width) level = l;
  if (level < 2) return null;
  const size = 8 ** level;
  const explicit = query.start !== null || query.end !== null;
  const firstBlock = explicit ? Math.ceil(lo / size) : Math.floor(lo / size);
  const lastBlock = explicit ? Math.floor((hi + 1) / size) - 1 : Math.floor(hi / size);
  const parts = new Map<string, { step_min: number; step_max: number; vmin: number; vmax: number; n: number }>();
  for (const p of drawn) {
    if (p.step < lo || p.step > hi) continue;
    const block = Math.floor(p.step / size);
    const whole = block >= firstBlock && block <= lastBlock;
    addPoint(parts, whole ? `b${block}` : `p${parts.size}`, p);
  }
  const buckets = new Map<number, { x0: number; x1: number; vmin: number; vmax: number; n: number }>();
  for (const part of parts.values()) {
    const index = Math.floor((part.step_min - lo) / width);
    const b = buckets.get(index);
    if (!b) buckets.set(index, { x0: part.step_min, x1: part.step_max, vmin: part.vmin, vmax: part.vmax, n: part.n });
    else {
      b.x0 = Math.min(b.x0, part.step_min);
      b.x1 = Math.max(b.x1, part.step_max);
      b.vmin = Math.min(b.vmin, part.vmin);
      b.vmax = Math.max(b.vmax, part.vmax);
      b.n += part.n;
    }
  }
  const ordered = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
  return { x: ordered.map((b) => b.x0), xEnd: ordered.map((b) => b.x1), min: ordered.map((b) => b.vmin), max: ordered.map((b) => b.vmax), count: ordered.map((b) => b.n) };
}

type Part = { step_min: number; step_max: number; vmin: number; vmax: number; n: number };

/** Widens the part `id` of `parts` by one point (a new part when there is none). */
function addPoint<K>(parts: Map<K, Part>, id: K, p: { step: number; value: number }): void {
  const part = parts.get(id);
  if (!part) {
    parts.set(id, { step_min: p.step, step_max: p.step, vmin: p.value, vmax: p.value, n: 1 });
    return;
  }
  part.step_min = Math.min(part.step_min, p.step);
  part.step_max = Math.max(part.step_max, p.step);
  part.vmin = Math.min(part.vmin, p.value);
  part.vmax = Math.max(part.vmax, p.value);
  part.n += 1;
}
