import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
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
  const statement = scenario.statements.find((s) => s.sql.startsWith('select "runs"."id" as id,'));
  assert.ok(statement, `${name}: no search statement among ${scenario.statements.map((s) => s.sql).join('\n')}`);
  return statement.plan.join('\n');
}

/**
 * The plans the searches are built for: the default order walks runs (experiment, lifecycle,
 * start_time); a metric order walks latest_metrics (experiment, key, is_nan, value) and joins runs
 * by primary key, deep keyset pages seeking into the same index.
 */
function assertOrderedWalks(scenarios: Awaited<ReturnType<typeof collectQueryPlans>>['scenarios']): void {
  assert.match(searchPlan(scenarios, 'search runs: first page in the default order'), /runs_experiment_start_idx/);
  assert.match(searchPlan(scenarios, 'search runs: a deep page (keyset'), /runs_experiment_start_idx/);
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
      assertOrderedWalks(scenarios);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every hot query has an index path on PostgreSQL', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, async () => {
    const database = await createTestDatabase(testPostgresUri() as string, 'trove_plans');
    try {
      const { dialect, scenarios } = await collectQueryPlans(database.uri, SMALL_SEED, 'index-paths');
      assertIndexPaths(dialect, scenarios);
      assertOrderedWalks(scenarios);
    } finally {
      await database.drop();
    }
  });
});
