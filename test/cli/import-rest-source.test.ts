import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { MlflowRestSource } from '../../src/cli/import/mlflow-rest-source.ts';
import { ImportService } from '../../src/domain/import/import-service.ts';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { openArtifactStore } from '../../src/store/artifacts/open-artifact-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import { SqlImportStore } from '../../src/store/sql/sql-import-store.ts';
import { SqlTraceStore } from '../../src/store/sql/sql-trace-store.ts';
import { TrackingService } from '../../src/domain/tracking/tracking-service.ts';

/**
 * The REST source against a server that lacks routes, as GitLab's MLflow endpoint does: a
 * forwarding proxy in front of a real Trove server answers some routes with a bare 404 (no MLflow
 * error code, like a Rails router) and records the credentials it is sent. The import must go on,
 * bring what can be read, and say what could not be.
 */

const MISSING = ['/api/2.0/mlflow/logged-models/search', '/api/2.0/mlflow/model-versions/get-download-uri', '/api/3.0/mlflow/traces/search'];

function startProxy(target: string, seen: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const targetUrl = new URL(target);
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    if (MISSING.some((route) => (req.url ?? '').startsWith(route))) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"404 Not Found"}');
      return;
    }
    const upstream = http.request({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: targetUrl.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((done) => server.close(() => done())) }),
    ),
  );
}

describe('trove import mlflow from a server that lacks routes', () => {
  let source: TestServer;
  let proxy: { url: string; close(): Promise<void> };
  let target: OpenedDatabase;
  let dir: string;
  const seen: string[] = [];
  let runId = '';

  before(async () => {
    source = await startTestServer();
    await source.server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = source.server.app.server.address() as AddressInfo;
    proxy = await startProxy(`http://127.0.0.1:${address.port}`, seen);
    const exp = await source.call('POST', 'experiments/create', { name: 'gitlab-like' });
    const run = await source.call('POST', 'runs/create', { experiment_id: exp.body.experiment_id, start_time: 1_700_000_000_000, run_name: 'r' });
    runId = run.body.run.info.run_id;
    const metrics = Array.from({ length: 300 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), timestamp: 1_700_000_000_000 + i, step: i }));
    assert.equal((await source.call('POST', 'runs/log-batch', { run_id: runId, metrics, params: [{ key: 'lr', value: '0.1' }] })).status, 200);
    await source.call('POST', 'registered-models/create', { name: 'gm' });
    await source.call('POST', 'model-versions/create', { name: 'gm', source: `runs:/${runId}/model`, run_id: runId });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-import-'));
    target = await openDatabase(`sqlite:///${path.join(dir, 'trove.db')}`);
  });

  after(async () => {
    await target?.close();
    await proxy?.close();
    await source?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('what can be read is imported, what cannot is named in warnings, and the token is sent', async () => {
    const rest = new MlflowRestSource(proxy.url, { MLFLOW_TRACKING_TOKEN: 'glpat-secret' });
    const artifacts = openArtifactStore(path.join(dir, 'artifacts'));
    const tracking = new SqlTrackingStore(target.db);
    await new TrackingService(tracking, 'mlflow-artifacts:/').initialize();
    const service = new ImportService({ tracking, registry: new SqlRegistryStore(target.db), imports: new SqlImportStore(target.db), artifacts: artifacts.store, traces: new SqlTraceStore(target.db) });
    const report = await service.run(rest, { projectId: 1, defaultArtifactRoot: 'mlflow-artifacts:/', onConflict: 'fail', remapIds: false, concurrency: 2, skipArtifacts: false, skipRegistry: false });
    artifacts.close();

    assert.deepEqual(report.failures, []);
    assert.equal(report.metricPoints, 300);
    const run = await tracking.getRun(runId);
    assert.equal(run?.params[0]?.value, '0.1');
    assert.equal((await tracking.getMetricHistory({ runPk: run!.info.pk, key: 'loss', maxResults: 1000, offset: 0 })).length, 300);
    const model = await new SqlRegistryStore(target.db).getRegisteredModel(1, 'gm');
    assert.ok(model && (await new SqlRegistryStore(target.db).getModelVersion(model.pk, 1)));
    assert.ok(report.warnings.some((w) => w.includes('logged-models/search')), report.warnings.join('\n'));
    assert.ok(report.warnings.some((w) => w.includes('get-download-uri')), report.warnings.join('\n'));
    assert.ok(report.warnings.some((w) => w.includes('traces/search') && w.includes('traces were not read')), report.warnings.join('\n'));
    assert.ok(seen.length > 0 && seen.every((h) => h === 'Bearer glpat-secret'));
  });
});
