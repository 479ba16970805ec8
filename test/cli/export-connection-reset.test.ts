import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { SourceRun } from '../../src/domain/import/source.ts';
import type { MetricRecord } from '../../src/store/tracking-store.ts';
import { migrationSource, sourceRun } from '../support/migration-source.ts';
import { startMlflowStandIn, type SeenRequest } from '../support/mlflow-stand-in.ts';

/**
 * `trove export --to`: a connection the target resets after taking a request (a server restarting
 * a worker, a keep-alive race) is retried when the request is safe to repeat — reads, params and
 * tags (MLflow keeps a param logged again with the same value, a tag overwrites itself), the run's
 * final update, a file's PUT — and not when a second one would be a second object or a duplicate
 * point (create-run, a metric batch): that run fails, and the next export resumes it.
 */

const FILE = Buffer.from('model bytes');
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

function runWithEverything(): SourceRun {
  const run = sourceRun('r-1', '5', { artifactUri: 'mlflow-artifacts:/5/r-1/artifacts' });
  run.params = [{ key: 'lr', value: '0.1' }];
  run.tags = [{ key: 'team', value: 'red' }];
  return run;
}

function sourceOf(run: SourceRun, points: MetricRecord[] = []) {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'exp', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async *runs() {
      yield run;
    },
    async metricHistory() {
      return points;
    },
    async *listArtifacts() {
      yield { path: 'model.bin', size: FILE.length };
    },
    async openArtifact() {
      return { stream: Readable.from([FILE]), size: FILE.length };
    },
  });
}

/** A target that resets the first attempt of each request `resetFirst` picks and answers the rest like MLflow. */
async function target(seen: SeenRequest[], resetFirst: (r: SeenRequest) => boolean) {
  const reset = new Set<string>();
  const uploaded = new Map<string, number>();
  return startMlflowStandIn(seen, (r) => {
    const id = `${r.method} ${r.path} ${r.body}`;
    if (resetFirst(r) && !reset.has(id)) {
      reset.add(id);
      return 'reset';
    }
    if (r.path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active', tags: [] } }];
    if (r.path === '/api/2.0/mlflow/runs/create') return [200, { run: { info: { run_id: 't-1', artifact_uri: 'mlflow-artifacts:/77/t-1/artifacts' } } }];
    if (r.method === 'PUT' && r.path.startsWith(ARTIFACTS)) {
      uploaded.set(r.path.slice(ARTIFACTS.length + '/77/t-1/artifacts/'.length), r.body.length);
      return [200, {}];
    }
    if (r.method === 'GET' && r.path === ARTIFACTS) return [200, { files: [...uploaded].map(([path, size]) => ({ path, is_dir: false, file_size: size })) }];
    return [200, {}];
  });
}

/** The requests the target answered (a reset one never reached its store), as "path body". */
function answered(seen: SeenRequest[], resets: SeenRequest[]): string[] {
  const left = [...resets];
  return seen
    .filter((r) => {
      const i = left.indexOf(r);
      if (i >= 0) left.splice(i, 1);
      return i < 0;
    })
    .map((r) => `${r.method} ${r.path} ${r.method === 'PUT' ? r.body.length : r.body}`);
}

test('writes that are safe to repeat are sent again after a connection reset, and the export finishes with each written once', async () => {
  const seen: SeenRequest[] = [];
  const resets: SeenRequest[] = [];
  const safe = (r: SeenRequest) =>
    r.path === '/api/2.0/mlflow/runs/log-batch' || r.path === '/api/2.0/mlflow/runs/update' || r.path === '/api/2.0/mlflow/experiments/get-by-name' || (r.method === 'PUT' && r.path.startsWith(ARTIFACTS));
  const stand = await target(seen, (r) => {
    const pick = safe(r) && !resets.some((x) => x.method === r.method && x.path === r.path && x.body === r.body);
    if (pick) resets.push(r);
    return pick;
  });
  try {
    const totals = await new MlflowRestWriter(stand.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 's/project-0' }).write(sourceOf(runWithEverything()));
    assert.deepEqual(totals.failures, []);
    assert.equal(totals.runs, 1);
    assert.equal(totals.files, 1);
    // Each of the four kinds was reset once and sent again.
    assert.deepEqual(resets.map((r) => `${r.method} ${r.path}`).sort(), [
      'GET /api/2.0/mlflow/experiments/get-by-name',
      'POST /api/2.0/mlflow/runs/log-batch',
      'POST /api/2.0/mlflow/runs/update',
      `PUT ${ARTIFACTS}/77/t-1/artifacts/model.bin`,
    ]);
    const done = answered(seen, resets);
    // Written once each: one run, one params + tags batch, one file, one final update.
    assert.equal(done.filter((r) => r.includes('/runs/create')).length, 1);
    const batches = done.filter((r) => r.includes('/runs/log-batch'));
    assert.equal(batches.length, 1);
    assert.match(batches[0]!, /"params":\[\{"key":"lr","value":"0.1"\}\]/);
    assert.match(batches[0]!, /"key":"team","value":"red"/);
    assert.deepEqual(done.filter((r) => r.startsWith('PUT')), [`PUT ${ARTIFACTS}/77/t-1/artifacts/model.bin ${FILE.length}`]);
    assert.equal(done.filter((r) => r.includes('/runs/update')).length, 1);
  } finally {
    await stand.close();
  }
});

test('a reset create-run is not sent again: the run fails (the next export resumes it) and no second run is made', async () => {
  const seen: SeenRequest[] = [];
  const stand = await target(seen, (r) => r.path === '/api/2.0/mlflow/runs/create');
  try {
    const totals = await new MlflowRestWriter(stand.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 's/project-0' }).write(sourceOf(runWithEverything()));
    assert.equal(seen.filter((r) => r.path === '/api/2.0/mlflow/runs/create').length, 1);
    assert.equal(totals.failures.length, 1);
    assert.match(totals.failures[0]!.message, /ECONNRESET|other side closed|socket/i);
    assert.equal(totals.runs, 0);
  } finally {
    await stand.close();
  }
});

test('a reset metric batch is not sent again (a file-store target would keep the points twice): the run fails', async () => {
  const seen: SeenRequest[] = [];
  const run = runWithEverything();
  run.latestMetrics = [{ key: 'loss', value: 0.5, timestamp: 10, step: 1 }];
  const points = [
    { key: 'loss', step: 0, timestamp: 9, value: 1 },
    { key: 'loss', step: 1, timestamp: 10, value: 0.5 },
  ];
  const stand = await target(seen, (r) => r.path === '/api/2.0/mlflow/runs/log-batch' && r.body.includes('"metrics"'));
  try {
    const totals = await new MlflowRestWriter(stand.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 's/project-0' }).write(sourceOf(run, points));
    assert.equal(seen.filter((r) => r.path === '/api/2.0/mlflow/runs/log-batch' && r.body.includes('"metrics"')).length, 1);
    assert.equal(totals.failures.length, 1);
    assert.match(totals.failures[0]!.message, /ECONNRESET|other side closed|socket/i);
  } finally {
    await stand.close();
  }
});
