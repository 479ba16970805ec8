/**
 * Store-level scale measurements for search, paging, ingest and downsampled reads (issue 14,
 * parts 2 and 3), on SQLite and PostgreSQL, without HTTP and without any cache:
 *
 *   node --import tsx bench/search-scale.ts sqlite
 *   TROVE_TEST_POSTGRES_URI=postgresql://… node --import tsx bench/search-scale.ts postgres
 *
 * - search: 100,000 runs in one experiment (params model ~80% 'a', metrics acc/loss/f1 uniform);
 *   `metrics.acc > 0.3 and params.model = 'a'` ordered by `metrics.acc DESC`, pages of 100: page 1,
 *   the keyset page after 50,000 rows, and the same page through an old offset token; the default
 *   order likewise. p50 of repeated calls of `store.searchRuns` (ids, then the runs' rows).
 * - ingest: 4 concurrent writers, each logging 1,000-point batches to its own run.
 * - downsampled read of a 1,000,000-point series (seeded by the same write path).
 * Figures go to docs/query-plans.md by hand. Sizes: SCALE_RUNS, SCALE_POINTS, SCALE_INGEST_BATCHES.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../src/store/sql/database.ts';
import { SqlTrackingStore } from '../src/store/sql/sql-tracking-store.ts';
import type { PagePosition, RunSearchQuery } from '../src/store/tracking-store.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const T0 = 1_700_000_000_000;
const RUNS = Number(process.env.SCALE_RUNS ?? 100_000);
const POINTS = Number(process.env.SCALE_POINTS ?? 1_000_000);
const INGEST_BATCHES = Number(process.env.SCALE_INGEST_BATCHES ?? 100);

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function timed(label: string, iterations: number, work: () => Promise<unknown>): Promise<void> {
  await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  console.log(`${label}: p50 ${percentile(times, 50).toFixed(2)} ms, p90 ${percentile(times, 90).toFixed(2)} ms (${iterations} calls)`);
}

async function seedRuns(database: OpenedDatabase, store: SqlTrackingStore, experimentId: string): Promise<void> {
  const db = database.db;
  await db.insertInto('metric_keys').values([{ key: 'acc' }, { key: 'loss' }, { key: 'f1' }]).onConflict((oc) => oc.column('key').doNothing()).execute();
  const keys = await db.selectFrom('metric_keys').select(['id', 'key']).execute();
  const keyId = (key: string): number => Number(keys.find((k) => k.key === key)?.id);
  const rnd = random(42);
  const chunkSize = 500;
  for (let offset = 0; offset < RUNS; offset += chunkSize) {
    const count = Math.min(chunkSize, RUNS - offset);
    const runs = Array.from({ length: count }, (_, i) => {
      const uuid = randomBytes(16).toString('hex');
      const g = offset + i;
      return {
        run_uuid: uuid,
        experiment_id: Number(experimentId),
        name: `run-${g}`,
        user_id: 'bench',
        status: 'FINISHED',
        start_time: T0 + g * 1000,
        end_time: T0 + g * 1000 + 500,
        lifecycle_stage: 'active',
        artifact_uri: `mlflow-artifacts:/${experimentId}/${uuid}/artifacts`,
        deleted_time: null,
      };
    });
    await db.transaction().execute(async (trx) => {
      const pks = (await trx.insertInto('runs').values(runs).returning('id').execute()).map((r) => Number(r.id));
      await trx
        .insertInto('latest_metrics')
        .values(
          pks.flatMap((pk) =>
            ['acc', 'loss', 'f1'].map((key) => ({ run_id: pk, key_id: keyId(key), step: 0, timestamp: T0, value: rnd(), is_nan: 0, experiment_id: Number(experimentId) })),
          ),
        )
        .execute();
      await trx
        .insertInto('params')
        .values(pks.flatMap((pk) => [{ run_id: pk, key: 'model', value: rnd() < 0.8 ? 'a' : 'b' }, { run_id: pk, key: 'lr', value: String(Math.round(rnd() * 1000) / 10000) }]))
        .execute();
      await trx.insertInto('run_tags').values(pks.map((pk, i) => ({ run_id: pk, key: 'team', value: ['red', 'green', 'blue'][i % 3] as string }))).execute();
    });
  }
  await sql`analyze`.execute(db);
  void store;
}

async function newRun(store: SqlTrackingStore, experimentId: string, name: string): Promise<number> {
  const runId = randomBytes(16).toString('hex');
  await store.createRun({ runId, experimentId, name, userId: 'bench', status: 'RUNNING', startTime: T0, artifactUri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`, tags: [] });
  return (await store.getRunInfo(runId))?.pk as number;
}

async function main(): Promise<void> {
  const backend = process.argv[2] ?? 'sqlite';
  let uri: string;
  let cleanup: () => Promise<void>;
  if (backend === 'postgres') {
    const admin = process.env.TROVE_TEST_POSTGRES_URI;
    if (!admin) throw new Error('TROVE_TEST_POSTGRES_URI is not set');
    const testDatabase = await createTestDatabase(admin, 'trove_scale');
    uri = testDatabase.uri;
    cleanup = () => testDatabase.drop();
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-scale-'));
    uri = `sqlite:///${path.join(dir, 'scale.db')}`;
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  }
  const database = await openDatabase(uri);
  try {
    const store = new SqlTrackingStore(database.db);
    await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
    const mk = (name: string) =>
      store.createExperiment({ projectId: 1, name, artifactLocation: null, artifactLocationFor: (id) => `mlflow-artifacts:/${id}`, tags: [], now: T0 });
    const searchExperiment = await mk('search');
    const writeExperiment = await mk('writes');

    console.log(`${backend}: load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
    let t0 = performance.now();
    await seedRuns(database, store, searchExperiment);
    console.log(`${backend}: seeded ${RUNS} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const base: RunSearchQuery = {
      experimentIds: [searchExperiment],
      filter: [
        { entity: 'metric', key: 'acc', comparator: '>', value: 0.3 },
        { entity: 'param', key: 'model', comparator: '=', value: 'a' },
      ],
      orderBy: [{ entity: 'metric', key: 'acc', ascending: false }],
      viewType: 'ACTIVE_ONLY',
      maxResults: 100,
      page: { offset: 0, snapshot: null },
    };
    const plain: RunSearchQuery = { ...base, filter: [], orderBy: [] };
    const deep = async (query: RunSearchQuery): Promise<PagePosition> => {
      const position = (await store.searchRuns({ ...query, maxResults: 50_000 })).next;
      if (!position) throw new Error('fewer than 50,000 matches');
      return position;
    };
    const metricDeep = await deep(base);
    const plainDeep = await deep(plain);
    const iterations = 30;
    await timed(`${backend}: metric filter + metric order, page 1`, iterations, () => store.searchRuns(base));
    await timed(`${backend}: metric filter + metric order, keyset page after 50,000`, iterations, () => store.searchRuns({ ...base, page: metricDeep }));
    await timed(`${backend}: metric filter + metric order, old offset token 50,000`, 5, () =>
      store.searchRuns({ ...base, page: { offset: 50_000, snapshot: metricDeep.snapshot } }),
    );
    await timed(`${backend}: default order, page 1`, iterations, () => store.searchRuns(plain));
    await timed(`${backend}: default order, keyset page after 50,000`, iterations, () => store.searchRuns({ ...plain, page: plainDeep }));
    await timed(`${backend}: default order, old offset token 50,000`, 5, () => store.searchRuns({ ...plain, page: { offset: 50_000, snapshot: plainDeep.snapshot } }));

    // Ingest: 4 writers, 1,000-point batches, each writer its own run.
    const writers = await Promise.all([0, 1, 2, 3].map((w) => newRun(store, writeExperiment, `writer-${w}`)));
    console.log(`${backend}: load average before ingest ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    await Promise.all(
      writers.map(async (runPk) => {
        for (let b = 0; b < INGEST_BATCHES; b++) {
          const points = Array.from({ length: 1000 }, (_, i) => ({ key: 'throughput', value: Math.cos(b + i), step: b * 1000 + i, timestamp: T0 + b * 1000 + i }));
          await store.logMetrics(runPk, points);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(`${backend}: ingest, 4 writers x ${INGEST_BATCHES} batches of 1,000 points: ${Math.round((4 * INGEST_BATCHES * 1000) / seconds)} points/s wall clock; ` +
      `${Math.round((4 * INGEST_BATCHES * 1000) / cpuSeconds)} points per CPU second of this process${backend === 'sqlite' ? ' (SQLite runs in it)' : ' (PostgreSQL server CPU not included)'}`);

    // A 1,000,000-point series, then downsampled reads at the store.
    const historyRun = await newRun(store, writeExperiment, 'history');
    t0 = performance.now();
    for (let b = 0; b < POINTS / 1000; b++) {
      const points = Array.from({ length: 1000 }, (_, i) => ({ key: 'loss', value: 1 / (b * 1000 + i + 1) + Math.sin(i) / 100, step: b * 1000 + i, timestamp: T0 + b * 1000 + i }));
      await store.logMetrics(historyRun, points);
    }
    console.log(`${backend}: ${POINTS} history points by one writer in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const maxBuckets of [300, 1000]) {
      await timed(`${backend}: downsampled read of ${POINTS} points into ${maxBuckets} buckets`, 20, () =>
        store.getMetricSeriesDownsampled({ runPk: historyRun, key: 'loss', xAxis: 'step', start: null, end: null, maxBuckets }),
      );
    }
    await timed(`${backend}: downsampled read, explicit range [123,457, 876,543], 1000 buckets`, 20, () =>
      store.getMetricSeriesDownsampled({ runPk: historyRun, key: 'loss', xAxis: 'step', start: 123_457, end: 876_543, maxBuckets: 1000 }),
    );
  } finally {
    await database.close();
    await cleanup();
  }
}

await main();
