import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource } from '../../src/domain/import/source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';
import { migrationSource } from '../support/migration-source.ts';

/**
 * `trove export --to --delete-missing` and experiments purged from Trove: only an experiment an
 * earlier export created (tagged `trove.source_experiment_id`) whose Trove experiment is gone is
 * deleted in the target, and not when it holds a run the export did not make; without the flag
 * it is kept and named in a warning.
 */

function source(): MigrationSource {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'still-in-trove', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
  });
}

const marked = (value: string) => [{ key: 'trove.source_experiment_id', value }];
const TARGET_EXPERIMENTS = [
  // Found by name for Trove's experiment 5.
  { experiment_id: '77', name: 'still-in-trove', lifecycle_stage: 'active', tags: marked('5') },
  // Made by an earlier export from Trove experiment 9, purged since: goes with --delete-missing.
  { experiment_id: '80', name: 'purged', lifecycle_stage: 'active', tags: marked('9') },
  // The same, but someone logged a run of their own into it: kept.
  { experiment_id: '81', name: 'purged-but-used', lifecycle_stage: 'active', tags: marked('10') },
  // The target's own: never touched.
  { experiment_id: '82', name: 'the-targets-own', lifecycle_stage: 'active', tags: [] },
  // Already deleted there.
  { experiment_id: '83', name: 'purged-and-deleted', lifecycle_stage: 'deleted', tags: marked('11') },
];

function run(id: string, experimentId: string, tags: Array<{ key: string; value: string }>) {
  return { info: { run_id: id, experiment_id: experimentId, status: 'FINISHED', start_time: 1, end_time: 2, run_name: id, user_id: 'u', lifecycle_stage: 'active', artifact_uri: '' }, data: { tags } };
}

async function exportInto(deleteMissing: boolean) {
  const seen: SeenRequest[] = [];
  const target = await startMlflowStandIn(seen, ({ path, body }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active', tags: marked('5') } }];
    if (path === '/api/2.0/mlflow/experiments/search') return [200, { experiments: TARGET_EXPERIMENTS }];
    if (path === '/api/2.0/mlflow/runs/search') {
      const [experimentId] = (JSON.parse(body) as { experiment_ids: string[] }).experiment_ids;
      if (experimentId === '80') return [200, { runs: [run('exported', '80', [{ key: 'trove.source_run_id', value: 'gone-run' }])] }];
      if (experimentId === '81') return [200, { runs: [run('exported2', '81', [{ key: 'trove.source_run_id', value: 'gone-run2' }]), run('theirs', '81', [])] }];
      return [200, {}];
    }
    return [200, {}];
  });
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { deleteMissing }).write(source());
    assert.deepEqual(totals.failures, []);
    const deleted = seen.filter((r) => r.path === '/api/2.0/mlflow/experiments/delete').map((r) => (JSON.parse(r.body) as { experiment_id: string }).experiment_id);
    return { totals, deleted };
  } finally {
    await target.close();
  }
}

test('with --delete-missing only the experiment an earlier export created from a purged Trove experiment, holding only exported runs, is deleted', async () => {
  const { totals, deleted } = await exportInto(true);
  assert.deepEqual(deleted, ['80']);
  assert.equal(totals.experimentsDeleted, 1);
  assert.ok(totals.warnings.some((w) => w.includes("'purged-but-used'") && w.includes('1 run(s) the export did not make')), totals.warnings.join('\n'));
});

test('without --delete-missing nothing is deleted and the warning names the experiments gone from Trove', async () => {
  const { totals, deleted } = await exportInto(false);
  assert.deepEqual(deleted, []);
  assert.equal(totals.experimentsDeleted, 0);
  const warning = totals.warnings.find((w) => w.includes('--delete-missing'));
  assert.ok(warning, totals.warnings.join('\n'));
  assert.match(warning, /^2 experiment\(s\) .*'purged', 'purged-but-used'/);
});
