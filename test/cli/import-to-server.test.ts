import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../api/test-server.ts';
import { startTroveProcess, type TroveProcess, runTroveCli } from '../support/trove-process.ts';
import { hexId, otlpJsonRequest } from '../support/otlp.ts';

/**
 * `trove import mlflow --from <MLflow server> --to <Trove>`: the command run as a process against
 * a Trove server running as a process, with an MLflow-API server (an in-process Trove) as the
 * source. Everything is read back through the target's MLflow API: ids, the full metric history
 * with its NaN, artifact bytes, the registry, traces with their spans, tags and assessments. A
 * second run imports nothing; after the source changes, a third brings only the new point, the
 * file added later to the finished run and the new trace.
 */



async function api(base: string, method: 'GET' | 'POST', endpoint: string, body?: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const url = method === 'GET' ? `${base}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(body as Record<string, string>)}` : `${base}/api/2.0/mlflow/${endpoint}`;
  const response = await fetch(url, { method, ...(method === 'POST' ? { body: JSON.stringify(body ?? {}), headers: { 'content-type': 'application/json' } } : {}) });
  const parsed = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, `${endpoint}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** A trace as the MLflow 3 API serves it, without the tag that says where its files live (it differs by server). */
async function traceOf(base: string, traceId: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const response = await fetch(`${base}/api/3.0/mlflow/traces/get?${new URLSearchParams({ trace_id: traceId })}`);
  const body = (await response.json()) as { trace: { trace_info: { tags: Record<string, string> } } };
  assert.equal(response.status, 200, JSON.stringify(body));
  delete body.trace.trace_info.tags['mlflow.artifactLocation'];
  return body.trace;
}

/** Logs a two-span trace to `experimentId` over OTLP, as the MLflow 3 client does; returns its id. */
async function logTrace(base: string, experimentId: string, startMs: number): Promise<string> {
  const traceId = hexId(16);
  const root = hexId(8);
  const spans = [
    { traceId, spanId: root, name: 'answer', startMs, endMs: startMs + 40, attributes: { 'mlflow.spanInputs': '{"q": "why"}', 'mlflow.spanOutputs': '"42"', 'mlflow.spanType': '"CHAIN"' } },
    { traceId, spanId: hexId(8), parentSpanId: root, name: 'retrieve', startMs: startMs + 5, endMs: startMs + 15, attributes: { docs: ['a', 'b'] } },
  ];
  const response = await fetch(`${base}/v1/traces`, { method: 'POST', body: JSON.stringify(otlpJsonRequest(spans)), headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId } });
  assert.equal(response.status, 200, await response.text());
  return `tr-${traceId}`;
}

async function upload(base: string, runId: string, experimentId: string, file: string, bytes: Buffer): Promise<void> {
  const response = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${file}`, { method: 'PUT', body: new Uint8Array(bytes) });
  assert.equal(response.status, 200, await response.text());
}

describe('trove import --to a running Trove', () => {
  let source: TestServer;
  let sourceUrl = '';
  let target: TroveProcess;
  let dir: string;
  let runId = '';
  let experimentId = '';
  const traceIds: string[] = [];
  const big = randomBytes(3 * 1024 * 1024 + 17);

  before(async () => {
    source = await startTestServer();
    await source.server.app.listen({ host: '127.0.0.1', port: 0 });
    sourceUrl = `http://127.0.0.1:${(source.server.app.server.address() as AddressInfo).port}`;
    experimentId = (await api(sourceUrl, 'POST', 'experiments/create', { name: 'remote-a', tags: [{ key: 'team', value: 'vision' }] })).experiment_id;
    const run = await api(sourceUrl, 'POST', 'runs/create', { experiment_id: experimentId, start_time: 1_700_000_000_000, run_name: 'r1' });
    runId = run.run.info.run_id;
    const metrics = Array.from({ length: 500 }, (_, i) => ({ key: 'loss', value: i === 7 ? 'NaN' : 1 / (i + 1), timestamp: 1_700_000_000_000 + i, step: i }));
    await api(sourceUrl, 'POST', 'runs/log-batch', { run_id: runId, metrics, params: [{ key: 'lr', value: '0.1' }], tags: [{ key: 'note', value: 'hi' }] });
    await upload(sourceUrl, runId, experimentId, 'data/big.bin', big);
    await upload(sourceUrl, runId, experimentId, 'hello.txt', Buffer.from('hello trove\n'));
    await api(sourceUrl, 'POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: 1_700_000_100_000 });
    await api(sourceUrl, 'POST', 'registered-models/create', { name: 'remote-model', description: 'from afar' });
    await api(sourceUrl, 'POST', 'model-versions/create', { name: 'remote-model', source: `runs:/${runId}/data`, run_id: runId });
    await api(sourceUrl, 'POST', 'registered-models/alias', { name: 'remote-model', alias: 'champion', version: '1' });
    traceIds.push(await logTrace(sourceUrl, experimentId, 1_700_000_200_000), await logTrace(sourceUrl, experimentId, 1_700_000_300_000));
    const tagged = await fetch(`${sourceUrl}/api/3.0/mlflow/traces/${traceIds[0]}/tags`, { method: 'PATCH', body: JSON.stringify({ key: 'reviewed', value: 'yes' }), headers: { 'content-type': 'application/json' } });
    assert.equal(tagged.status, 200, await tagged.text());
    const assessed = await fetch(`${sourceUrl}/api/3.0/mlflow/traces/${traceIds[0]}/assessments`, {
      method: 'POST',
      body: JSON.stringify({ assessment: { assessment_name: 'correct', feedback: { value: true }, rationale: 'ok', source: { source_type: 'HUMAN', source_id: 'rev@example.com' } } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(assessed.status, 200, await assessed.text());

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-import-to-'));
    target = await startTroveProcess(['--backend-store-uri', `sqlite:///${path.join(dir, 'trove.db')}`, '--artifacts-destination', path.join(dir, 'artifacts')]);
  });

  after(async () => {
    await target?.stop();
    await source?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the first run brings everything across with ids kept, read back through the target API', async () => {
    const done = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '-q']);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /Everything was imported/);
    assert.doesNotMatch(done.stdout, /Traces were not imported/);
    assert.match(done.stdout, /^traces\s+2\s/m);

    const run = (await api(target.url, 'GET', 'runs/get', { run_id: runId })).run;
    assert.equal(run.info.run_id, runId);
    assert.equal(run.info.experiment_id, experimentId);
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(run.info.end_time, 1_700_000_100_000);
    assert.deepEqual(run.data.params, [{ key: 'lr', value: '0.1' }]);
    const history = (await api(target.url, 'GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '1000' })).metrics as Array<{ step: number; value: unknown }>;
    assert.equal(history.length, 500);
    assert.equal(history.find((m) => m.step === 7)?.value, 'NaN');
    const file = await fetch(`${target.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/data/big.bin`);
    assert.equal(file.status, 200);
    assert.equal(createHash('sha256').update(Buffer.from(await file.arrayBuffer())).digest('hex'), createHash('sha256').update(big).digest('hex'));
    const version = (await api(target.url, 'GET', 'registered-models/alias', { name: 'remote-model', alias: 'champion' })).model_version;
    assert.equal(version.version, '1');
    assert.equal(version.run_id, runId);
    assert.equal((await api(target.url, 'GET', 'registered-models/get', { name: 'remote-model' })).registered_model.description, 'from afar');
    for (const traceId of traceIds) assert.deepEqual(await traceOf(target.url, traceId), await traceOf(sourceUrl, traceId));
    const assessed = await traceOf(target.url, traceIds[0]!);
    assert.equal(assessed.trace_info.tags.reviewed, 'yes');
    assert.equal(assessed.trace_info.assessments.length, 1);
    assert.equal(assessed.spans.length, 2);
  });

  test('a second run imports nothing, and after the source changes only what changed comes', async () => {
    const again = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '-q']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /metric points: 0 /);
    assert.match(again.stdout, /artifacts: 0 files/);
    assert.match(again.stdout, /^traces\s+0\s+0\s+2\s/m);

    await api(sourceUrl, 'POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 0.001, timestamp: 1_800_000_000_000, step: 500 });
    await upload(sourceUrl, runId, experimentId, 'later/late.txt', Buffer.from('late\n'));
    const later = await logTrace(sourceUrl, experimentId, 1_800_000_000_000);
    const third = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '-q']);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    assert.match(third.stdout, /artifacts: 1 files/);
    assert.match(third.stdout, /^traces\s+1\s+0\s+2\s/m);
    assert.deepEqual(await traceOf(target.url, later), await traceOf(sourceUrl, later));
    const history = (await api(target.url, 'GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: '1000' })).metrics as unknown[];
    assert.equal(history.length, 501);
    const late = await fetch(`${target.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/later/late.txt`);
    assert.equal(await late.text(), 'late\n');
  });

  test('--delete-missing reaches the server: a registered model deleted at the source is kept by a plain run and deleted by one with the flag', async () => {
    const gone = await fetch(`${sourceUrl}/api/2.0/mlflow/registered-models/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'remote-model' }), headers: { 'content-type': 'application/json' } });
    assert.equal(gone.status, 200, await gone.text());
    const kept = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '-q']);
    assert.equal(kept.code, 0, kept.stdout + kept.stderr);
    assert.match(kept.stdout, /gone from it since \(deleted there for good\): 1 registered model\. Kept in Trove/);
    assert.equal((await api(target.url, 'GET', 'registered-models/get', { name: 'remote-model' })).registered_model.name, 'remote-model');

    const deleted = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '-q', '--delete-missing']);
    assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr);
    assert.match(deleted.stdout, /^registered models\s+0\s+0\s+0\s+0\s+1\s+0$/m);
    const after = await fetch(`${target.url}/api/2.0/mlflow/registered-models/get?name=remote-model`);
    assert.equal(after.status, 404);
  });

  test('a dry run through the server lists the work and writes nothing', async () => {
    const dry = await runTroveCli(['import', 'mlflow', '--from', sourceUrl, '--to', target.url, '--dry-run', '-q']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /Dry run/);
    assert.match(dry.stdout, /remote-a/);
  });
});
