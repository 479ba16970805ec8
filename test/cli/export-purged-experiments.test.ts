import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource } from '../../src/domain/import/source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';
import { migrationSource } from '../support/migration-source.ts';

/**
 * `trove export --to --delete-missing` and experiments purged from Trove: only an experiment an
 * earlier export of this Trove created (tagged `trove.source_experiment_id` and this source's
 * `trove.source_store`) whose Trove experiment is gone is deleted in the target, and not when it
 * holds a run this source's exports did not make; another Trove's experiments are never judged,
 * and unmarked ones (exports before the mark) are kept with a warning. Without the flag nothing
 * is deleted and a warning names them.
 */

function source(): MigrationSource {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'still-in-trove', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
  });
}

const THIS_TROVE = 'store-a/project-0';
const marked = (value: string, store: string | null = THIS_TROVE) => [
  { key: 'trove.source_experiment_id', value },
  ...(store === null ? [] : [{ key: 'trove.source_store', value: store }]),
];
const exportedRun = (value: string, store = THIS_TROVE) => [
  { key: 'trove.source_run_id', value },
  { key: 'trove.source_store', value: store },
];
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
  // Another Trove's export made it, from its experiment 12 (which this Trove never had): not this export's to judge.
  { experiment_id: '84', name: 'another-troves', lifecycle_stage: 'active', tags: marked('12', 'store-b/project-0') },
  // Made by an export before exports marked their source: whose it is cannot be told, kept.
  { experiment_id: '85', name: 'unmarked', lifecycle_stage: 'active', tags: marked('13', null) },
  // This Trove's, purged, but another Trove exported a run into it since: kept.
  { experiment_id: '86', name: 'purged-shared', lifecycle_stage: 'active', tags: marked('14') },
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
      if (experimentId === '80') return [200, { runs: [run('exported', '80', exportedRun('gone-run'))] }];
      if (experimentId === '81') return [200, { runs: [run('exported2', '81', exportedRun('gone-run2')), run('theirs', '81', [])] }];
      if (experimentId === '84') return [200, { runs: [run('exported-by-b', '84', exportedRun('b-run', 'store-b/project-0'))] }];
      if (experimentId === '86') return [200, { runs: [run('exported3', '86', exportedRun('gone-run3')), run('by-b', '86', exportedRun('b-run2', 'store-b/project-0'))] }];
      return [200, {}];
    }
    return [200, {}];
  });
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: THIS_TROVE, deleteMissing }).write(source());
    assert.deepEqual(totals.failures, []);
    const deleted = seen.filter((r) => r.path === '/api/2.0/mlflow/experiments/delete').map((r) => (JSON.parse(r.body) as { experiment_id: string }).experiment_id);
    return { totals, deleted };
  } finally {
    await target.close();
  }
}

test("with --delete-missing only the experiment this Trove's export created from a purged Trove experiment, holding only its exported runs, is deleted", async () => {
  const { totals, deleted } = await exportInto(true);
  assert.deepEqual(deleted, ['80']);
  assert.equal(totals.experimentsDeleted, 1);
  assert.ok(totals.warnings.some((w) => w.includes("'purged-but-used'") && w.includes('1 run(s) the export did not make')), totals.warnings.join('\n'));
  assert.ok(totals.warnings.some((w) => w.includes("'purged-shared'") && w.includes('1 run(s) the export did not make')), totals.warnings.join('\n'));
  assert.ok(totals.warnings.some((w) => w.startsWith('1 experiment(s)') && w.includes("'unmarked'") && w.includes('kept')), totals.warnings.join('\n'));
  assert.ok(!totals.warnings.some((w) => w.includes("'another-troves'")), totals.warnings.join('\n'));
});

test('without --delete-missing nothing is deleted and the warning names the experiments gone from Trove', async () => {
  const { totals, deleted } = await exportInto(false);
  assert.deepEqual(deleted, []);
  assert.equal(totals.experimentsDeleted, 0);
  const warning = totals.warnings.find((w) => w.includes('--delete-missing'));
  assert.ok(warning, totals.warnings.join('\n'));
  assert.match(warning, /^3 experiment\(s\) .*'purged', 'purged-but-used', 'purged-shared';/);
  assert.ok(!totals.warnings.some((w) => w.includes("'another-troves'") || w.includes("'unmarked'")), totals.warnings.join('\n'));
});
