import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource, SourceLoggedModel } from '../../src/domain/import/source.ts';
import { migrationSource, sourceRun } from '../support/migration-source.ts';
import { startMlflowStandIn, type SeenRequest, type StandIn } from '../support/mlflow-stand-in.ts';

/**
 * `trove export --to` and logged models deleted in Trove: MLflow's logged-model search leaves
 * deleted models out, so an export cannot find the one an earlier export made (and deleted). It
 * is created only by the first export into its experiment, not once more by every later one.
 */

const RUN = sourceRun('trove-run', '5', { runName: 'r' });

const DELETED_MODEL: SourceLoggedModel = {
  modelId: 'm-trove',
  experimentId: '5',
  name: 'dropped',
  artifactUri: '',
  creationTimestamp: 1,
  lastUpdatedTimestamp: 1,
  status: 'LOGGED_MODEL_READY',
  statusMessage: null,
  creatorId: null,
  modelType: null,
  sourceRunId: 'trove-run',
  lifecycleStage: 'deleted',
  tags: [],
  params: [],
  metrics: [],
};

function source(): MigrationSource {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'exp', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async *runs() {
      yield RUN;
    },
    async *loggedModels() {
      yield DELETED_MODEL;
    },
  });
}

/** An MLflow stand-in whose experiment 77 holds (`exported`) or not the run an earlier export made. */
function startTarget(exported: boolean, seen: SeenRequest[]): Promise<StandIn> {
  return startMlflowStandIn(seen, ({ method, path }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active' } }];
    if (path === '/api/2.0/mlflow/runs/search') {
      return [
        200,
        exported
          ? { runs: [{ info: { run_id: 'target-run', experiment_id: '77', status: 'FINISHED', start_time: 1, end_time: 2, run_name: 'r', user_id: 'u', lifecycle_stage: 'active', artifact_uri: '' }, data: { tags: [{ key: 'trove.source_run_id', value: 'trove-run' }] } }] }
          : {},
      ];
    }
    if (path === '/api/2.0/mlflow/runs/create') return [200, { run: { info: { run_id: 'target-run', artifact_uri: '' } } }];
    if (path === '/api/2.0/mlflow/logged-models' && method === 'POST') return [200, { model: { info: { model_id: 'm-target', artifact_uri: '' } } }];
    return [200, {}];
  });
}

async function exportInto(exported: boolean): Promise<string[]> {
  const seen: SeenRequest[] = [];
  const target = await startTarget(exported, seen);
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 'this-trove' }).write(source());
    assert.deepEqual(totals.failures, []);
  } finally {
    await target.close();
  }
  return seen.map((r) => `${r.method} ${r.path}`);
}

test('the first export into an experiment creates a logged model deleted in Trove and deletes it', async () => {
  const paths = await exportInto(false);
  assert.equal(paths.filter((p) => p === 'POST /api/2.0/mlflow/logged-models').length, 1);
  assert.equal(paths.filter((p) => p === 'DELETE /api/2.0/mlflow/logged-models/m-target').length, 1);
});

test('a later export does not create a logged model deleted in Trove again', async () => {
  const paths = await exportInto(true);
  assert.equal(paths.filter((p) => p.startsWith('POST /api/2.0/mlflow/runs/create')).length, 0, 'the run was found again');
  assert.equal(paths.filter((p) => p === 'POST /api/2.0/mlflow/logged-models').length, 0);
});
