import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTroveProcess, type TroveProcess } from '../support/trove-process.ts';
import { startTestServer, type TestServer } from '../api/test-server.ts';

/**
 * Requests whose routing the compiled server's start-up changes touch: path parameters (one, two,
 * a wildcard), HEAD beside GET, wrong methods, unknown paths, trailing slashes, the /ajax-api/
 * alias, each API prefix.
 */
const REQUESTS: Array<{ method: string; url: string; body?: unknown }> = [
  { method: 'GET', url: '/health' },
  { method: 'HEAD', url: '/health' },
  { method: 'GET', url: '/version' },
  { method: 'GET', url: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default' },
  { method: 'GET', url: '/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=Default' },
  { method: 'GET', url: '/api/2.0/mlflow/experiments/get-by-name/?experiment_name=Default' },
  { method: 'HEAD', url: '/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default' },
  { method: 'POST', url: '/api/2.0/mlflow/experiments/search', body: { max_results: 5 } },
  { method: 'POST', url: '/api/2.0/mlflow/experiments/get-by-name', body: {} },
  { method: 'DELETE', url: '/api/2.0/mlflow/experiments/search' },
  { method: 'GET', url: '/api/2.0/mlflow/no-such-endpoint' },
  { method: 'POST', url: '/ajax-api/2.0/mlflow/no-such-endpoint', body: {} },
  { method: 'GET', url: '/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef' },
  { method: 'GET', url: '/api/2.0/mlflow/logged-models/m-0123456789abcdef0123456789abcdef' },
  { method: 'DELETE', url: '/api/2.0/mlflow/logged-models/m-0123456789abcdef0123456789abcdef/tags/a%2Fb' },
  { method: 'GET', url: '/api/3.0/mlflow/traces/tr-0123456789abcdef' },
  { method: 'GET', url: '/api/3.0/mlflow/traces/tr-0123456789abcdef/assessments/a-0123456789' },
  { method: 'GET', url: '/api/2.0/mlflow/traces/tr-0123456789abcdef/info' },
  { method: 'GET', url: '/api/3.0/mlflow/datasets/d-0123456789abcdef/tags/some-key' },
  { method: 'GET', url: '/api/2.0/mlflow/webhooks/0123456789abcdef' },
  { method: 'GET', url: '/api/2.0/trove/webhooks/0123456789abcdef/deliveries' },
  { method: 'POST', url: '/api/2.0/trove/import/sessions/s-1/calls/c-2', body: {} },
  { method: 'GET', url: '/api/2.0/trove/import/sessions/s-1/poll' },
  { method: 'GET', url: '/api/2.0/mlflow/registered-models/get?name=missing' },
  { method: 'GET', url: '/api/2.0/mlflow-artifacts/artifacts?path=' },
];

/** What is compared: status, content type and body (request ids and times differ between the two). */
async function answer(base: string, request: (typeof REQUESTS)[number]): Promise<string> {
  const response = await fetch(`${base}${request.url}`, {
    method: request.method,
    ...(request.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) }),
  });
  const text = await response.text();
  const body = text.replace(/"(request_id|timestamp|server_time|last_update_time|creation_time)":\s*("[^"]*"|\d+)/g, '"$1":"…"');
  return `${request.method} ${request.url} → ${response.status} ${response.headers.get('content-type') ?? ''} allow=${response.headers.get('allow') ?? ''} ${body}`;
}

/**
 * The compiled server (dist/, with the build's patches to bundled packages such as find-my-way)
 * answers every request exactly as the TypeScript sources composed in-process do.
 */
describe('the compiled server routes requests as the sources do', () => {
  let dir: string;
  let compiled: TroveProcess;
  let sources: TestServer;
  let sourcesUrl: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-routing-'));
    compiled = await startTroveProcess(['--backend-store-uri', `sqlite:///${dir}/trove.db`, '--artifacts-destination', `${dir}/artifacts`], {
      TROVE_RUNTIME: 'dist',
    });
    sources = await startTestServer();
    await sources.server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = sources.server.app.server.address();
    assert.ok(address && typeof address === 'object');
    sourcesUrl = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await compiled?.stop();
    await sources?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same status, content type and body for path parameters, HEAD, wrong methods and unknown paths', async () => {
    for (const request of REQUESTS) {
      assert.equal(await answer(compiled.url, request), await answer(sourcesUrl, request));
    }
  });

  it('hands path parameters over by name, the second one included', async () => {
    const response = await fetch(`${compiled.url}/api/3.0/mlflow/traces/tr-named-in-path/assessments/a-second-param`);
    const text = await response.text();
    assert.equal(response.status, 404, text);
    assert.match(text, /tr-named-in-path|a-second-param/);
  });
});
