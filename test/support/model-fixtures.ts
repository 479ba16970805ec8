import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

/** The files of a test model version: recognisable per version, one nested, one empty. */
export function modelFiles(version: number): Record<string, Buffer> {
  const weights = Buffer.alloc(200_000 + version * 1000);
  for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + version * 7) % 251;
  return {
    MLmodel: Buffer.from(`artifact_path: model\nflavors:\n  python_function: {}\ntest_version: ${version}\n`),
    'model.bin': weights,
    'data/vocab.txt': Buffer.from(`v${version}\n`.repeat(100)),
    'data/empty.txt': Buffer.alloc(0),
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Talks to a listening test server over HTTP, as the MLflow client would. */
export class RegistryFixture {
  constructor(readonly baseUrl: string) {}

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const url = new URL(`${this.baseUrl}/api/2.0/mlflow/${path}`);
    if (method === 'GET' && body) for (const [k, v] of Object.entries(body)) url.searchParams.set(k, String(v));
    const res = await fetch(url, {
      method,
      ...(method !== 'GET' && body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `${method} ${path}: ${text}`);
    return text ? JSON.parse(text) : {};
  }

  /** Logs a run with the version's files under `model/` and registers it as the next version. */
  async registerVersion(name: string, marker: number): Promise<{ version: string; runId: string }> {
    const run = await this.call('POST', 'runs/create', { experiment_id: '0', start_time: Date.now() });
    const runId: string = run.run.info.run_id;
    const artifactUri: string = run.run.info.artifact_uri;
    const root = artifactUri.replace(/^mlflow-artifacts:\/*/, '');
    for (const [file, data] of Object.entries(modelFiles(marker))) {
      const res = await fetch(`${this.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${root}/model/${file}`, { method: 'PUT', body: new Uint8Array(data) });
      assert.equal(res.status, 200, await res.text());
    }
    const created = await this.call('POST', 'model-versions/create', { name, source: `runs:/${runId}/model`, run_id: runId });
    return { version: created.model_version.version as string, runId };
  }

  async createModel(name: string): Promise<void> {
    await this.call('POST', 'registered-models/create', { name });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }
}
