import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource } from '../../src/domain/import/source.ts';
import { migrationSource, sourceRun } from '../support/migration-source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';

/**
 * `trove export --to` when two Troves export into one target experiment: each run an export
 * creates carries the source's identity (`trove.source_store`), and an export finds, updates and
 * (with --delete-missing) deletes only runs with its own identity. Runs exported before the mark
 * existed are taken as this source's when this Trove has their run (and marked), and kept with a
 * warning when it has not (another Trove may have made them).
 */

const THIS_TROVE = 'store-a/project-0';
const OTHER_TROVE = 'store-b/project-0';

function source(): MigrationSource {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'shared', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async *runs() {
      yield sourceRun('r-kept', '5');
      yield sourceRun('r-legacy', '5');
      yield sourceRun('r-new', '5');
    },
  });
}

const marks = (runId: string, store?: string) => [{ key: 'trove.source_run_id', value: runId }, ...(store ? [{ key: 'trove.source_store', value: store }] : [])];
function targetRun(id: string, tags: Array<{ key: string; value: string }>) {
  return { info: { run_id: id, experiment_id: '77', status: 'FINISHED', start_time: 1, end_time: 2, run_name: id, user_id: 'u', lifecycle_stage: 'active', artifact_uri: '' }, data: { tags } };
}

// The target experiment 'shared' holds runs of both Troves' earlier exports.
const TARGET_RUNS = [
  targetRun('t-kept', marks('r-kept', THIS_TROVE)),
  targetRun('t-gone', marks('r-gone', THIS_TROVE)),
  targetRun('t-other', marks('r-other', OTHER_TROVE)),
  // The other Trove imported this one's run r-kept (ids kept) and exported it: a different run here.
  targetRun('t-other-same-id', marks('r-kept', OTHER_TROVE)),
  targetRun('t-legacy', marks('r-legacy')),
  targetRun('t-legacy-gone', marks('r-legacy-gone')),
];

async function exportInto(deleteMissing: boolean) {
  const seen: SeenRequest[] = [];
  const target = await startMlflowStandIn(seen, ({ path }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active', tags: [] } }];
    if (path === '/api/2.0/mlflow/runs/search') return [200, { runs: TARGET_RUNS }];
    if (path === '/api/2.0/mlflow/runs/create') return [200, { run: { info: { run_id: 't-new', artifact_uri: '' } } }];
    return [200, {}];
  });
  try {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: THIS_TROVE, deleteMissing }).write(source());
    assert.deepEqual(totals.failures, []);
    const bodies = (path: string) => seen.filter((r) => r.path === `/api/2.0/mlflow/${path}`).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    return { totals, seen, bodies };
  } finally {
    await target.close();
  }
}

test("with --delete-missing only this Trove's purged run is deleted; another Trove's runs in the same experiment are neither deleted nor updated", async () => {
  const { totals, seen, bodies } = await exportInto(true);
  assert.deepEqual(
    bodies('runs/delete').map((b) => b.run_id),
    ['t-gone'],
  );
  assert.equal(totals.runsDeleted, 1);
  const touched = seen.filter((r) => r.path !== '/api/2.0/mlflow/runs/search' && /t-other/.test(r.body));
  assert.deepEqual(touched, [], "no request names another Trove's run");
  const runs = new Map(totals.mapping.filter((m) => m.kind === 'run').map((m) => [m.from, m.to]));
  assert.equal(runs.get('r-kept'), 't-kept', "this Trove's run is matched, not the other Trove's run of the same id");
  assert.ok(totals.warnings.some((w) => w.startsWith('1 run(s)') && w.includes('trove.source_store') && w.includes('kept')), totals.warnings.join('\n'));
});

test("a run an export made before runs were marked is taken as this Trove's when it has the run, and gets the mark", async () => {
  const { totals, bodies } = await exportInto(false);
  const runs = new Map(totals.mapping.filter((m) => m.kind === 'run').map((m) => [m.from, m.to]));
  assert.equal(runs.get('r-legacy'), 't-legacy');
  const marked = bodies('runs/log-batch').filter((b) => b.run_id === 't-legacy');
  assert.deepEqual(marked.flatMap((b) => b.tags as unknown[]), [{ key: 'trove.source_store', value: THIS_TROVE }]);
  assert.deepEqual(bodies('runs/delete'), []);
});

test("a run the export creates carries this Trove's identity beside its run id", async () => {
  const { bodies } = await exportInto(false);
  const created = bodies('runs/create');
  assert.equal(created.length, 1);
  assert.deepEqual(created[0]!.tags, [
    { key: 'trove.source_run_id', value: 'r-new' },
    { key: 'trove.source_store', value: THIS_TROVE },
  ]);
});

test('without --delete-missing the warning counts only this Trove\'s purged run', async () => {
  const { totals, bodies } = await exportInto(false);
  assert.deepEqual(bodies('runs/delete'), []);
  assert.ok(totals.warnings.some((w) => w.startsWith('1 run(s) in the target came from an earlier export')), totals.warnings.join('\n'));
});
