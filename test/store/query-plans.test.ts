import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/sql/database.ts';
import { collectQueryPlans, fullScans, type SeedSize } from '../support/query-plans.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri } from '../support/postgres.ts';

/**
 * Search, paging, run loading and metric queries can be served by indexes on both databases: no
 * statement the store issues for them needs a full scan of runs, metrics, latest_metrics, params
 * or run_tags. docs/query-plans.md shows the plans the planners pick on a 100,000-run database.
 */

const SMALL_SEED: SeedSize = { experiments: 2, runsPerExperiment: 3_000, runsWithHistory: 3, pointsPerHistory: 200 };

/** The run search statement of a scenario (the one selecting ids and sort keys). */
function searchPlan(scenarios: Awaited<ReturnType<typeof collectQueryPlans>>['scenarios'], name: string): string {
  const scenario = scenarios.find((s) => s.scenario.startsWith(name));
  assert.ok(scenario, `no scenario ${name}`);
  const statement = scenario.statements.find((s) => s.sql.includes('select "runs"."id" as id,'));
  assert.ok(statement, `${name}: no search statement among ${scenario.statements.map((s) => s.sql).join('\n')}`);
  return statement.plan.join('\n');
}

/**
 * The plans the searches are built for: the default order walks runs (experiment, lifecycle,
 * start_time); a metric order walks latest_metrics (experiment, key, is_nan, value) and joins runs
 * by primary key, deep keyset pages seeking into the same index.
 */
function assertOrderedWalks(dialect: 'sqlite' | 'postgres', scenarios: Awaited<ReturnType<typeof collectQueryPlans>>['scenarios']): void {
  assert.match(searchPlan(scenarios, 'search runs: first page in the default order'), /runs_experiment_start_idx/);
  // A deep keyset page seeks the index once, at the position (a range from the first sort key,
  // the rows tied with the position filtered), and walks on from there like page one: no second
  // arm, nothing merged.
  const deep = searchPlan(scenarios, 'search runs: a deep page (keyset');
  assert.match(deep, /runs_experiment_start_idx/);
  const seek = dialect === 'sqlite' ? /start_time<\?\)/ : /start_time <= '\d+'::bigint\)\)$/m;
  assert.match(deep, seek, `the deep page is a range seek from the position:\n${deep}`);
  assert.doesNotMatch(deep, /UNION|Append/, `the deep page walks one range:\n${deep}`);
  for (const name of ['search runs: metric and param filters, ordered by the metric (first', 'search runs: metric and param filters, ordered by the metric (keyset']) {
    const plan = searchPlan(scenarios, name);
    assert.match(plan, /latest_metrics_experiment_key_value_idx/, `${name}:\n${plan}`);
  }
}

function assertIndexPaths(dialect: 'sqlite' | 'postgres', scenarios: Awaited<ReturnType<typeof collectQueryPlans>>['scenarios']): void {
  assert.ok(scenarios.length >= 8);
  for (const { scenario, statements } of scenarios) {
    assert.ok(statements.length > 0, `${scenario}: no statement captured`);
    for (const statement of statements) {
      const scans = fullScans(dialect, statement.plan);
      assert.deepEqual(scans, [], `${scenario}: ${statement.sql}\n${statement.plan.join('\n')}`);
    }
  }
}

describe('query plans', () => {
  test('every hot query has an index path on SQLite', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-plans-'));
    try {
      const { dialect, scenarios } = await collectQueryPlans(`sqlite:///${path.join(dir, 'plans.db')}`, SMALL_SEED, 'index-paths');
      assertIndexPaths(dialect, scenarios);
      assertOrderedWalks(dialect, scenarios);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every hot query has an index path on PostgreSQL', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, async () => {
    const database = await createTestDatabase(testPostgresUri() as string, 'trove_plans');
    try {
      const { dialect, scenarios } = await collectQueryPlans(database.uri, SMALL_SEED, 'index-paths');
      assertIndexPaths(dialect, scenarios);
      assertOrderedWalks(dialect, scenarios);
      // The log-batch scenario goes through the route's entry (the domain's logBatch): on
      // PostgreSQL that is the store's one statement, the run's check included.
      const logBatch = scenarios.find((s) => s.scenario.startsWith('log-batch'));
      assert.deepEqual(logBatch?.statements.map((s) => s.sql.slice(0, 13)), ['with run as ('], `log-batch statements: ${logBatch?.statements.map((s) => s.sql).join('\n')}`);
    } finally {
      await database.drop();
    }
  });

  test('PostgreSQL estimates a param or tag filter from its key and value together', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, async () => {
    // Three params per run, `model` = 'a' on 80% of the runs: taken apart, key = 'model' (a third of
    // the rows) and value = 'a' (a quarter of them) multiply to a third of the real count, and a
    // metric-ordered search then reads and sorts every remaining row instead of walking its index.
    const testDatabase = await createTestDatabase(testPostgresUri() as string, 'trove_plans');
    const database = await openDatabase(testDatabase.uri);
    try {
      const db = database.db;
      const experiment = await db.insertInto('experiments').values({ name: 'estimates', artifact_location: 'x', lifecycle_stage: 'active', creation_time: 0, last_update_time: 0, project_id: 1 }).returning('experiment_id').executeTakeFirstOrThrow();
      const runs = Array.from({ length: 3_000 }, (_, i) => ({
        run_uuid: `run-${i}`, experiment_id: Number(experiment.experiment_id), name: `run-${i}`, user_id: 'u', status: 'FINISHED',
        start_time: i, end_time: null, lifecycle_stage: 'active', artifact_uri: 'x', deleted_time: null,
      }));
      const pks: number[] = [];
      for (let i = 0; i < runs.length; i += 500) {
        pks.push(...(await db.insertInto('runs').values(runs.slice(i, i + 500)).returning('id').execute()).map((r) => Number(r.id)));
      }
      for (let i = 0; i < pks.length; i += 500) {
        const part = pks.slice(i, i + 500);
        await db.insertInto('params').values(part.flatMap((pk, j) => [
          { run_id: pk, key: 'model', value: (i + j) % 5 === 0 ? 'b' : 'a' },
          { run_id: pk, key: 'lr', value: (i + j) % 2 ? '0.1' : '0.01' },
          { run_id: pk, key: 'optimizer', value: (i + j) % 3 ? 'adam' : 'sgd' },
        ])).execute();
        await db.insertInto('run_tags').values(part.flatMap((pk, j) => [
          { run_id: pk, key: 'team', value: (i + j) % 5 === 0 ? 'blue' : 'red' },
          { run_id: pk, key: 'owner', value: (i + j) % 2 ? 'red' : 'green' },
          { run_id: pk, key: 'stage', value: 'dev' },
        ])).execute();
      }
      await sql`analyze params, run_tags`.execute(db);
      for (const [table, key, value] of [['params', 'model', 'a'], ['run_tags', 'team', 'red']] as const) {
        const { rows } = await sql<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>`explain (format json) select 1 from ${sql.table(table)} where key = ${key} and value = ${value}`.execute(db);
        const estimate = rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0;
        // 2,400 rows match; the columns taken apart give about 800.
        assert.ok(estimate > 1_800 && estimate < 3_000, `${table} ${key} = '${value}': the planner expects ${estimate} rows, 2,400 match`);
      }
    } finally {
      await database.close();
      await testDatabase.drop();
    }
  });
});
