/**
 * Where a runs/search request spends its time at the size, in one process, without the
 * load generator: a Trove composed as `trove server` does (createServer) on its own database,
 * seeded once with the HTTP harness's data (bench/seed-data.ts: 100,000 runs in 4 experiments,
 * the rows runs/create + log-batch write inserted straight into the tables, or through the domain
 * services with PROFILE_SEED=api), then the filtered,
 * metric-ordered page of 100 timed in parts: the whole request through Fastify's inject, the
 * domain call, the store's id query, the page's runs, presenting and JSON serialisation.
 * Not a test; figures go to docs/query-plans.md by hand.
 *
 *   node --import tsx bench/search-profile.ts sqlite /tmp/trove-profile        # seeds once, then reuses the folder
 *   TROVE_TEST_POSTGRES_URI=… node --import tsx bench/search-profile.ts postgres trove_profile
 *
 * PROFILE_RUNS (100000), PROFILE_PER_EXPERIMENT (25000), PROFILE_ITERATIONS (200), PROFILE_ONLY
 * (time only the parts whose label contains it), PROFILE_CPU=<path prefix> (a .cpuprofile of each
 * timed part's loop).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { createServer } from '../src/server.ts';
import type { Database } from '../src/store/sql/schema.ts';
import { searchRun } from './seed-data.ts';
import { presentRun } from '../src/http/presenters.ts';
import { searchRunPks } from '../src/store/sql/sql-search.ts';
import { readRuns } from '../src/store/sql/sql-run-read.ts';
import { parseRunFilter, parseRunOrderBy } from '../src/domain/search/run-search.ts';
import type { RunSearchQuery } from '../src/store/tracking-store.ts';
import { adminQuery } from '../test/support/postgres.ts';

const RUNS = Number(process.env.PROFILE_RUNS ?? 100_000);
const PER_EXPERIMENT = Number(process.env.PROFILE_PER_EXPERIMENT ?? 25_000);
const ITERATIONS = Number(process.env.PROFILE_ITERATIONS ?? 200);
const FILTER = "metrics.acc > 0.3 and params.model = 'a'";
const ORDER_BY = ['metrics.acc DESC'];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const ONLY = process.env.PROFILE_ONLY;

async function timed(label: string, work: () => Promise<unknown>): Promise<number> {
  if (ONLY && !label.includes(ONLY)) return NaN;
  for (let i = 0; i < 20; i++) await work(); // warm-up (JIT)
  const times: number[] = [];
  const session = process.env.PROFILE_CPU ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    const file = `${process.env.PROFILE_CPU}-${label.replace(/[^a-z0-9]+/gi, '_')}.cpuprofile`;
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
  const p50 = percentile(times, 50);
  console.log(`${label.padEnd(58)} p50 ${p50.toFixed(2).padStart(7)} ms  p90 ${percentile(times, 90).toFixed(2).padStart(7)} ms  CPU ${((cpu.user + cpu.system) / 1000 / ITERATIONS).toFixed(2)} ms/call`);
  return p50;
}

async function forEachLimited(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

/**
 * The rows runs/create + log-batch write for the search dataset (runs, the mlflow.runName and team
 * tags, three params, three metrics with their latest values), inserted straight into the tables,
 * 1,000 runs per transaction. What the search reads is the same as after seeding through the API;
 * the audit log and metric rollups are left out (search reads neither).
 */
async function bulkSeed(db: Kysely<Database>, experimentIds: string[], from: number, to: number): Promise<void> {
  await db.insertInto('metric_keys').values([{ key: 'acc' }, { key: 'loss' }, { key: 'f1' }]).onConflict((oc) => oc.column('key').doNothing()).execute();
  const keys = new Map((await db.selectFrom('metric_keys').select(['id', 'key']).execute()).map((k) => [k.key, Number(k.id)]));
  for (let start = from; start < to; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, to - start) }, (_, i) => searchRun(start + i, PER_EXPERIMENT));
    await db.transaction().execute(async (trx) => {
      const rows = batch.map((run) => {
        const uuid = randomBytes(16).toString('hex');
        const experimentId = Number(experimentIds[run.experimentIndex]);
        return { run_uuid: uuid, experiment_id: experimentId, name: run.name, user_id: '', status: 'RUNNING', start_time: run.startTime, end_time: null, lifecycle_stage: 'active', artifact_uri: `mlflow-artifacts:/${experimentId}/${uuid}/artifacts`, deleted_time: null };
      });
      const pks = (await trx.insertInto('runs').values(rows).returning('id').execute()).map((r) => Number(r.id));
      await trx.insertInto('run_tags').values(batch.flatMap((run, i) => [{ run_id: pks[i] as number, key: 'mlflow.runName', value: run.name }, ...run.tags.map((t) => ({ run_id: pks[i] as number, ...t }))])).execute();
      await trx.insertInto('params').values(batch.flatMap((run, i) => run.params.map((p) => ({ run_id: pks[i] as number, ...p })))).execute();
      const points = batch.flatMap((run, i) => run.metrics.map((m) => ({ run_id: pks[i] as number, key_id: keys.get(m.key) as number, step: m.step, timestamp: m.timestamp, value: m.value, is_nan: 0 })));
      await trx.insertInto('metrics').values(points).execute();
      await trx.insertInto('latest_metrics').values(points.map((p, j) => ({ ...p, experiment_id: rows[Math.floor(j / 3)]?.experiment_id as number }))).execute();
    });
  }
}

async function main(): Promise<void> {
  const backend = process.argv[2] ?? 'sqlite';
  const where = process.argv[3] ?? (backend === 'sqlite' ? path.join(os.tmpdir(), 'trove-profile') : 'trove_profile');
  let backendStoreUri: string;
  const dataDir = backend === 'sqlite' ? where : fs.mkdtempSync(path.join(os.tmpdir(), 'trove-profile-'));
  if (backend === 'postgres') {
    const admin = process.env.TROVE_TEST_POSTGRES_URI;
    if (!admin) throw new Error('TROVE_TEST_POSTGRES_URI is not set');
    const exists = await adminQuery(admin, `select 1 from pg_database where datname = '${where.replace(/'/g, "''")}'`);
    if (exists.rowCount === 0) await adminQuery(admin, `create database ${where}`);
    backendStoreUri = admin.replace(/\/[^/]+$/, `/${where}`);
  } else {
    fs.mkdirSync(where, { recursive: true });
    backendStoreUri = `sqlite:///${path.join(where, 'trove.db')}`;
  }
  const server = await createServer({ backendStoreUri, artifactsDestination: path.join(dataDir, 'artifacts'), defaultArtifactRoot: 'mlflow-artifacts:/', dataDir });
  try {
    const tracking = server.services.tracking;
    const ids: string[] = [];
    for (let e = 0; e < RUNS / PER_EXPERIMENT; e++) {
      const name = `search-${e}`;
      const found = await tracking.getExperimentByName(name).catch(() => undefined);
      ids.push(found ? found.experimentId : await tracking.createExperiment({ name }));
    }
    const db0 = server.database.db;
    const have = Number((await db0.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
    if (have < RUNS) {
      console.log(`${backend}: seeding runs ${have}..${RUNS} (load ${os.loadavg()[0]?.toFixed(1)})`);
      const t0 = performance.now();
      if (process.env.PROFILE_SEED === 'api') {
        // As runs/create + log-batch would (slow: minutes per 10,000 runs on a busy machine).
        await forEachLimited(RUNS - have, 8, async (i) => {
          const run = searchRun(have + i, PER_EXPERIMENT);
          const created = await tracking.createRun({ experimentId: ids[run.experimentIndex], runName: run.name, startTime: run.startTime, tags: run.tags });
          await tracking.logBatch({ runId: created.info.runId, metrics: run.metrics, params: run.params, tags: [] });
        });
      } else {
        await bulkSeed(db0, ids, have, RUNS);
      }
      console.log(`${backend}: seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      // What autovacuum does after a long seeding; Trove never runs ANALYZE on SQLite, so neither does this.
      if (backend === 'postgres') await sql`analyze`.execute(db0);
    }
    console.log(`${backend}: ${RUNS} runs in ${ids.length} experiments; load average ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`);

    const body = JSON.stringify({ experiment_ids: ids, filter: FILTER, order_by: ORDER_BY, max_results: 100 });
    const inject = () => server.app.inject({ method: 'POST', url: '/api/2.0/mlflow/runs/search', payload: body, headers: { 'content-type': 'application/json' } });
    const first = await inject();
    if (first.statusCode !== 200) throw new Error(first.body);
    const deepToken = (await tracking.searchRuns({ experimentIds: ids, filter: FILTER, orderBy: ORDER_BY, maxResults: 50_000 })).nextPageToken;
    const db = server.database.db;
    const store = { lookup: async (key: string) => (await db.selectFrom('metric_keys').select('id').where('key', '=', key).executeTakeFirst())?.id };
    const query: RunSearchQuery = {
      experimentIds: ids,
      filter: parseRunFilter(FILTER),
      orderBy: parseRunOrderBy(ORDER_BY),
      viewType: 'ACTIVE_ONLY',
      maxResults: 100,
      page: { offset: 0, snapshot: null },
    };
    const { pks } = await searchRunPks(db, query, (key) => store.lookup(key).then((id) => (id === undefined ? undefined : Number(id))));
    const page = await readRuns(db, pks);
    const page1 = (await tracking.searchRuns({ experimentIds: ids, filter: FILTER, orderBy: ORDER_BY, maxResults: 100 })).items;
    const presented = { runs: page1.map(presentRun) };

    await timed('HTTP (inject): experiments/get (the HTTP path alone)', () => server.app.inject({ method: 'GET', url: `/api/2.0/mlflow/experiments/get?experiment_id=${ids[0]}` }));
    await timed('HTTP (inject): page 1', inject);
    await timed('HTTP (inject): page after 50,000 (keyset token)', () =>
      server.app.inject({ method: 'POST', url: '/api/2.0/mlflow/runs/search', payload: JSON.stringify({ experiment_ids: ids, filter: FILTER, order_by: ORDER_BY, max_results: 100, page_token: deepToken }), headers: { 'content-type': 'application/json' } }),
    );
    await timed('domain tracking.searchRuns: page 1', () => tracking.searchRuns({ experimentIds: ids, filter: FILTER, orderBy: ORDER_BY, maxResults: 100 }));
    await timed('store searchRunPks (ids of page 1)', () => searchRunPks(db, query, (key) => store.lookup(key).then((id) => (id === undefined ? undefined : Number(id)))));
    await timed('store readRuns (the 100 runs)', () => readRuns(db, pks));
    await timed('presentRun x 100', async () => page.map(presentRun));
    await timed('JSON.stringify of the answer', async () => JSON.stringify(presented));
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}`);
  } finally {
    await server.close();
  }
}

await main();
