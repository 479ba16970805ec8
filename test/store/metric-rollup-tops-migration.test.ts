import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { rollupRowsFor, upsertRollups } from '../../src/store/sql/metric-rollups.ts';
import { down as restoreEveryLevel } from '../../src/store/sql/migrations/0013-metric-rollup-tops.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { assertRollupsMatch, referenceDownsample } from '../support/rollups.ts';

/**
 * Migration 0013 on SQLite: a database whose rollups were written with every level 2 … 14 (what
 * the writer did before) keeps only the levels up to each series' top, reads the same, and takes
 * new points correctly afterwards.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-rollup-tops-'));
const uri = `sqlite:///${path.join(dir, 'trove.db')}`;
const T = 1_700_000_000_000;
const series: Record<string, Array<{ step: number; value: number }>> = {
  long: Array.from({ length: 30_000 }, (_, i) => ({ step: i, value: Math.sin(i / 100) })),
  stamps: Array.from({ length: 5000 }, (_, i) => ({ step: T + i * 1000, value: i % 97 === 0 ? Number.NaN : Math.cos(i) })),
  spread: [...Array.from({ length: 800 }, (_, i) => ({ step: i * 3, value: i })), { step: 9e13, value: -1 }],
  one: [{ step: 7, value: 3 }],
};
let opened: OpenedDatabase;
let runPk: number;

before(async () => {
  opened = await openDatabase(uri);
  const store = new SqlTrackingStore(opened.db);
  await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
  const runId = 'm'.repeat(32);
  await store.createRun({ runId, experimentId: '0', name: runId, userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
  runPk = (await store.getRunInfo(runId))!.pk;
  for (const [key, points] of Object.entries(series)) {
    for (let i = 0; i < points.length; i += 1000) await store.logMetrics(runPk, points.slice(i, i + 1000).map((p) => ({ key, ...p, timestamp: 1 })));
  }
  // The state before 0013: the rollups as the previous writer left them (every level), and 0013 not run.
  const keys = await opened.db.selectFrom('metric_keys').select(['id', 'key']).execute();
  await sql`delete from metric_rollups`.execute(opened.db);
  for (const { id, key } of keys) {
    const points = series[key]!.map((p) => ({ key_id: Number(id), step: p.step, value: Number.isNaN(p.value) ? 0 : p.value, is_nan: Number.isNaN(p.value) ? 1 : 0 }));
    await upsertRollups(opened.db, rollupRowsFor(runPk, points, 'every-level'));
  }
  for (const [key, points] of Object.entries(series)) await assertRollupsMatch(opened.db, runPk, key, points, { everyLevel: true });
  await sql`delete from kysely_migration where name = '0013-metric-rollup-tops'`.execute(opened.db);
  await opened.close();
  opened = await openDatabase(uri); // migrates: 0013 runs
});
after(async () => {
  await opened?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('after migration 0013 every series keeps its levels up to its top only, each equal to the raw points', async () => {
  for (const [key, points] of Object.entries(series)) await assertRollupsMatch(opened.db, runPk, key, points);
  const { rows } = await sql<{ levels: number }>`select count(distinct level) as levels from metric_rollups r join metric_keys k on k.id = r.key_id where k.key = 'spread'`.execute(opened.db);
  assert.equal(Number(rows[0]!.levels), 13, 'a series spread beyond level 14 blocks keeps every level');
});

test('after migration 0013 downsampled reads equal the reference from the raw points, and new far-away points raise the top', async () => {
  const store = new SqlTrackingStore(opened.db);
  const check = async (key: string) => {
    const drawn = series[key]!.filter((p) => !Number.isNaN(p.value));
    for (const query of [
      { start: null, end: null, maxBuckets: 100 },
      { start: -1e12, end: 1e14, maxBuckets: 40 },
    ]) {
      const result = await store.getMetricSeriesDownsampled({ runPk, key, xAxis: 'step', ...query });
      const reference = referenceDownsample(drawn, query);
      assert.ok(reference, JSON.stringify(query));
      const { x, xEnd, min, max, count } = result;
      assert.deepEqual({ x, xEnd, min, max, count }, reference, `${key} ${JSON.stringify(query)}`);
    }
  };
  await check('long');
  await check('stamps');
  const late = [{ step: -5_000_000, value: 77 }, { step: 4e9, value: -77 }];
  await store.logMetrics(runPk, late.map((p) => ({ key: 'long', ...p, timestamp: 2 })));
  series.long!.push(...late);
  await assertRollupsMatch(opened.db, runPk, 'long', series.long!);
  await check('long');
});

test('migration 0013 undone writes every level back', async () => {
  await restoreEveryLevel(opened.db as unknown as Kysely<unknown>);
  for (const [key, points] of Object.entries(series)) await assertRollupsMatch(opened.db, runPk, key, points, { everyLevel: true });
});
