import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hexId, otlpJsonRequest } from '../support/otlp.ts';
import { startTroveProcess, type TroveProcess, runTroveCli } from '../support/trove-process.ts';

/**
 * Traces in the portable export folder: a Trove store given traces over OTLP (with a tag, an
 * assessment, and a trace logged in a run) is exported with `trove export --to-dir`, read back
 * into a fresh store with `trove import dir`, and every trace reads back through the MLflow 3 API
 * exactly as it did at the source. Importing the folder again adds none.
 */



async function call(base: string, method: string, endpoint: string, body?: unknown): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const response = await fetch(`${base}${endpoint}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const parsed = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, `${endpoint}: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** A trace as GET traces/get serves it, without the tag naming where its files live (it names the server's store). */
async function traceOf(base: string, traceId: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
  const { trace } = await call(base, 'GET', `/api/3.0/mlflow/traces/get?${new URLSearchParams({ trace_id: traceId })}`);
  delete trace.trace_info.tags['mlflow.artifactLocation'];
  return trace;
}

async function logTrace(base: string, experimentId: string, startMs: number, runId?: string): Promise<string> {
  const traceId = hexId(16);
  const root = hexId(8);
  const spans = [
    { traceId, spanId: root, name: 'answer', startMs, endMs: startMs + 40, attributes: { 'mlflow.spanInputs': '{"q": "why"}', 'mlflow.spanOutputs': '"42"', 'mlflow.spanType': '"CHAIN"' } },
    { traceId, spanId: hexId(8), parentSpanId: root, name: 'retrieve', startMs: startMs + 5, endMs: startMs + 15, attributes: { docs: ['a', 'b'] }, events: [{ name: 'hit', timeMs: startMs + 6, attributes: { n: 2 } }] },
  ];
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-mlflow-experiment-id': experimentId, ...(runId ? { 'x-mlflow-run-id': runId } : {}) };
  const response = await fetch(`${base}/v1/traces`, { method: 'POST', body: JSON.stringify(otlpJsonRequest(spans)), headers });
  assert.equal(response.status, 200, await response.text());
  return `tr-${traceId}`;
}

describe('traces in trove export --to-dir and trove import dir', () => {
  let dir: string;
  let source: TroveProcess;
  let experimentId = '';
  const traceIds: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-export-traces-'));
    source = await startTroveProcess(['--backend-store-uri', `sqlite:///${path.join(dir, 'source.db')}`, '--artifacts-destination', path.join(dir, 'source-artifacts')]);
    experimentId = (await call(source.url, 'POST', '/api/2.0/mlflow/experiments/create', { name: 'with-traces' })).experiment_id;
    const runId = (await call(source.url, 'POST', '/api/2.0/mlflow/runs/create', { experiment_id: experimentId, start_time: 1_700_000_000_000 })).run.info.run_id;
    traceIds.push(await logTrace(source.url, experimentId, 1_700_000_100_000, runId), await logTrace(source.url, experimentId, 1_700_000_200_000));
    await call(source.url, 'PATCH', `/api/3.0/mlflow/traces/${traceIds[1]}/tags`, { key: 'reviewed', value: 'yes' });
    await call(source.url, 'POST', `/api/3.0/mlflow/traces/${traceIds[1]}/assessments`, {
      assessment: { assessment_name: 'correct', feedback: { value: true }, rationale: 'ok', source: { source_type: 'HUMAN', source_id: 'rev@example.com' } },
    });
  });

  after(async () => {
    await source?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every trace comes back identical through the MLflow 3 API, and a second import of the folder adds none', async () => {
    const folder = path.join(dir, 'export');
    const exported = await runTroveCli(['export', '--to-dir', folder, '--backend-store-uri', `sqlite:///${path.join(dir, 'source.db')}`, '--artifacts-destination', path.join(dir, 'source-artifacts'), '-q']);
    assert.equal(exported.code, 0, exported.stdout + exported.stderr);
    assert.match(exported.stdout, /2 traces/);
    const lines = fs.readFileSync(path.join(folder, 'traces.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trace_info: { trace_id: string }; spans: unknown[] });
    assert.deepEqual(lines.map((l) => l.trace_info.trace_id).sort(), [...traceIds].sort());
    assert.ok(lines.every((l) => l.spans.length === 2));

    const store = ['--backend-store-uri', `sqlite:///${path.join(dir, 'fresh.db')}`, '--artifacts-destination', path.join(dir, 'fresh-artifacts')];
    const imported = await runTroveCli(['import', 'dir', folder, ...store, '-q']);
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    assert.match(imported.stdout, /^traces\s+2\s/m);
    const again = await runTroveCli(['import', 'dir', folder, ...store, '-q']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^traces\s+0\s+0\s+2\s/m);

    const fresh = await startTroveProcess(store);
    try {
      for (const traceId of traceIds) assert.deepEqual(await traceOf(fresh.url, traceId), await traceOf(source.url, traceId));
      const found = await call(fresh.url, 'POST', '/api/3.0/mlflow/traces/search', { locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }] });
      assert.equal(found.traces.length, 2);
    } finally {
      await fresh.stop();
    }
  });
});
