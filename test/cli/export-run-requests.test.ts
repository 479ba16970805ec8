import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import { migrationSource, sourceRun } from '../support/migration-source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';

/**
 * `trove export --to`: a run's params and tags share log-batch requests, each within MLflow's
 * limit for it (100 params, 100 tags a request), so a run with a few of each costs the target one
 * request for them, not two.
 */

test("a run's params and tags go in shared log-batch requests, at most 100 of each per request", async () => {
  const run = sourceRun('r-1', '5');
  run.params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
  run.tags = Array.from({ length: 30 }, (_, i) => ({ key: `t${i}`, value: String(i) }));
  const source = migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'exp', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async *runs() {
      yield run;
    },
  });
  const seen: SeenRequest[] = [];
  const target = await startMlflowStandIn(seen, ({ path }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active', tags: [] } }];
    if (path === '/api/2.0/mlflow/runs/create') return [200, { run: { info: { run_id: 't-1', artifact_uri: '' } } }];
    return [200, {}];
  });
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 's/project-0' }).write(source);
    assert.deepEqual(totals.failures, []);
    const batches = seen.filter((r) => r.path === '/api/2.0/mlflow/runs/log-batch').map((r) => JSON.parse(r.body) as { params?: unknown[]; tags?: unknown[] });
    assert.deepEqual(
      batches.map((b) => [b.params?.length ?? 0, b.tags?.length ?? 0]),
      [
        [100, 30],
        [50, 0],
      ],
    );
  } finally {
    await target.close();
  }
});
