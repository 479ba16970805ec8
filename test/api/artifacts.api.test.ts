import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ArtifactService } from '../../src/domain/artifacts/artifact-service.ts';
import { MlflowError } from '../../src/domain/errors.ts';
import type { Services } from '../../src/domain/services.ts';
import { buildApp } from '../../src/http/app.ts';
import { LocalArtifactStore } from '../../src/store/artifacts/local-artifact-store.ts';

const A = '/api/2.0/mlflow-artifacts/artifacts';
const MPU = '/api/2.0/mlflow-artifacts/mpu';
const INVALID_PATH = { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' };
const SENTINEL_TEXT = 'must survive';

/** Runs whose artifact URI the fake tracking service knows. */
const RUN_URIS: Record<string, string> = {
  r1: 'mlflow-artifacts:/0/r1/artifacts',
  remote: 's3://bucket/0/remote/artifacts',
};

interface Harness {
  app: FastifyInstance;
  sandbox: string;
  root: string;
  sentinel: string;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  // sandbox/root is the artifact root; sandbox/sentinel.txt sits next to it and must survive.
  const sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'trove-artifacts-api-'));
  const root = path.join(sandbox, 'root');
  const sentinel = path.join(sandbox, 'sentinel.txt');
  await fs.writeFile(sentinel, SENTINEL_TEXT);
  const tracking: Pick<Services['tracking'], 'getRunArtifactUri'> = {
    async getRunArtifactUri(runId: string): Promise<string> {
      const uri = RUN_URIS[runId];
      if (uri === undefined) throw MlflowError.notFound(`Run with id=${runId} not found`);
      return uri;
    },
  };
  const services: Services = {
    artifacts: new ArtifactService(new LocalArtifactStore(root)),
    tracking: tracking as Services['tracking'],
    registry: {} as Services['registry'],
    info: {
      version: '3.18.0',
      backendStore: 'none (artifact tests)',
      artifactsDestination: root,
      defaultArtifactRoot: 'mlflow-artifacts:/',
      storeType: 'SqlStore',
    },
  };
  const app = await buildApp({ services });
  return {
    app,
    sandbox,
    root,
    sentinel,
    async close() {
      await app.close();
      await fs.rm(sandbox, { recursive: true, force: true });
    },
  };
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

async function put(app: FastifyInstance, url: string, payload: Buffer | string, contentType?: string) {
  return app.inject({
    method: 'PUT',
    url,
    payload,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });
}

/** A real HTTP request, for URLs `inject` would normalise (`..`, `%2e%2e`) before we saw them. */
function rawRequest(port: number, method: string, urlPath: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: urlPath }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('artifact proxy API', () => {
  let h: Harness;
  let port: number;

  before(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
  });

  after(async () => {
    await h.close();
  });

  test('an uploaded file downloads byte-identical', async () => {
    const data = randomBytes(1024 * 1024 + 7);
    const uploaded = await put(h.app, `${A}/0/r1/artifacts/blob.bin`, data, 'application/octet-stream');
    assert.equal(uploaded.statusCode, 200);
    assert.deepEqual(uploaded.json(), {});
    const downloaded = await h.app.inject({ method: 'GET', url: `${A}/0/r1/artifacts/blob.bin` });
    assert.equal(downloaded.statusCode, 200);
    assert.equal(md5(downloaded.rawPayload), md5(data));
    assert.equal(downloaded.headers['content-length'], String(data.length));
  });

  test('the body is stored raw whatever its Content-Type, even invalid JSON or none at all', async () => {
    await put(h.app, `${A}/0/r1/artifacts/raw/not-json.json`, '{"broken', 'application/json');
    await put(h.app, `${A}/0/r1/artifacts/raw/form.txt`, 'a=1&b=2', 'application/x-www-form-urlencoded');
    await put(h.app, `${A}/0/r1/artifacts/raw/untyped.bin`, 'no type');
    for (const [name, text] of [['not-json.json', '{"broken'], ['form.txt', 'a=1&b=2'], ['untyped.bin', 'no type']] as const) {
      const response = await h.app.inject({ method: 'GET', url: `${A}/0/r1/artifacts/raw/${name}` });
      assert.equal(response.statusCode, 200, name);
      assert.equal(response.body, text, name);
    }
  });

  test('an upload larger than the JSON body limit is accepted', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const uploaded = await put(h.app, `${A}/0/r1/artifacts/large.bin`, data, 'application/octet-stream');
    assert.equal(uploaded.statusCode, 200);
    const stat = await fs.stat(path.join(h.root, '0', 'r1', 'artifacts', 'large.bin'));
    assert.equal(stat.size, data.length);
  });

  test('downloads carry a content type from the extension, attachment disposition and nosniff', async () => {
    const cases: Array<[string, string]> = [
      ['plot.png', 'image/png'],
      ['model.pkl', 'application/octet-stream'],
      ['data.parquet', 'application/vnd.apache.parquet'],
      ['weights.bin', 'application/octet-stream'],
      ['MLmodel', 'text/plain'],
      ['conda.yaml', 'text/plain'],
      ['metrics.json', 'text/plain'],
      ['notes.txt', 'text/plain'],
      ['analysis.ipynb', 'text/plain'],
      ['page.html', 'text/plain'],
      ['image.svg', 'text/plain'],
      ['script.js', 'text/plain'],
      ['feed.xml', 'text/plain'],
    ];
    for (const [name, type] of cases) {
      await put(h.app, `${A}/types/${name}`, 'content');
      const response = await h.app.inject({ method: 'GET', url: `${A}/types/${name}` });
      assert.equal(response.statusCode, 200, name);
      // Some registries know parquet, some do not; either answer is safe.
      if (name === 'data.parquet') {
        assert.ok(['application/vnd.apache.parquet', 'application/octet-stream'].includes(String(response.headers['content-type'])));
      } else {
        assert.equal(response.headers['content-type'], type, name);
      }
      assert.equal(response.headers['content-disposition'], `attachment; filename=${name}`);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('a file name with spaces is quoted in the disposition', async () => {
    await put(h.app, `${A}/names/${encodeURIComponent('my notes.md')}`, 'md');
    const response = await h.app.inject({ method: 'GET', url: `${A}/names/${encodeURIComponent('my notes.md')}` });
    assert.equal(response.headers['content-disposition'], 'attachment; filename="my notes.md"');
  });

  test('a non-ASCII file name gets an ASCII fallback and an RFC 5987 disposition', async () => {
    await put(h.app, `${A}/names/${encodeURIComponent('rapport été.pdf')}`, 'pdf');
    const response = await h.app.inject({ method: 'GET', url: `${A}/names/${encodeURIComponent('rapport été.pdf')}` });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/pdf');
    assert.equal(
      response.headers['content-disposition'],
      `attachment; filename="rapport ete.pdf"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf`,
    );
  });

  test('downloading a missing file or a folder is RESOURCE_DOES_NOT_EXIST', async () => {
    const missing = await h.app.inject({ method: 'GET', url: `${A}/0/r1/artifacts/nope.txt` });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
    await put(h.app, `${A}/folder-only/inner.txt`, 'x');
    const folder = await h.app.inject({ method: 'GET', url: `${A}/folder-only` });
    assert.equal(folder.statusCode, 404);
    assert.equal(folder.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('listing a nested folder returns basenames, is_dir and file_size for files only', async () => {
    await put(h.app, `${A}/0/list/artifacts/model/MLmodel`, 'flavors: {}');
    await put(h.app, `${A}/0/list/artifacts/model/data/model.pkl`, 'pickle!');
    await put(h.app, `${A}/0/list/artifacts/confusion.png`, 'png');
    const top = await h.app.inject({ method: 'GET', url: `${A}?path=0/list/artifacts` });
    assert.equal(top.statusCode, 200);
    assert.deepEqual(top.json(), {
      files: [
        { path: 'confusion.png', is_dir: false, file_size: 3 },
        { path: 'model', is_dir: true },
      ],
    });
    const model = await h.app.inject({ method: 'GET', url: `${A}?path=${encodeURIComponent('0/list/artifacts/model/')}` });
    assert.deepEqual(model.json(), {
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 11 },
        { path: 'data', is_dir: true },
      ],
    });
  });

  test('listing a file or a missing folder is empty', async () => {
    await put(h.app, `${A}/0/list2/file.txt`, 'x');
    for (const listPath of ['0/list2/file.txt', '0/list2/missing']) {
      const response = await h.app.inject({ method: 'GET', url: `${A}?path=${encodeURIComponent(listPath)}` });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), {});
    }
  });

  test('listing without a path lists the root, under both API prefixes', async () => {
    for (const url of [A, `${A}/`, '/ajax-api/2.0/mlflow-artifacts/artifacts']) {
      const response = await h.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      const names = (response.json().files as Array<{ path: string }>).map((file) => file.path);
      assert.ok(names.includes('0'), url);
      assert.ok(!names.includes('.trove-uploads'), url);
    }
  });

  test('deleting a file and then a folder removes them', async () => {
    await put(h.app, `${A}/del/a.txt`, 'a');
    await put(h.app, `${A}/del/sub/b.txt`, 'b');
    const deletedFile = await h.app.inject({ method: 'DELETE', url: `${A}/del/a.txt` });
    assert.equal(deletedFile.statusCode, 200);
    assert.deepEqual(deletedFile.json(), {});
    assert.deepEqual((await h.app.inject({ method: 'GET', url: `${A}?path=del` })).json(), {
      files: [{ path: 'sub', is_dir: true }],
    });
    const deletedFolder = await h.app.inject({ method: 'DELETE', url: `${A}/del/` });
    assert.equal(deletedFolder.statusCode, 200);
    assert.deepEqual((await h.app.inject({ method: 'GET', url: `${A}?path=del` })).json(), {});
    const again = await h.app.inject({ method: 'DELETE', url: `${A}/del/sub` });
    assert.equal(again.statusCode, 200);
  });

  test('a DELETE with a JSON content type and empty body still works', async () => {
    await put(h.app, `${A}/del2/a.txt`, 'a');
    const response = await h.app.inject({ method: 'DELETE', url: `${A}/del2/a.txt`, headers: { 'content-type': 'application/json' } });
    assert.equal(response.statusCode, 200);
  });

  test('traversal attempts are answered 400 Invalid path and touch nothing outside the root', async () => {
    const before = (await fs.readdir(h.sandbox)).sort();
    const sentinelName = path.basename(h.sentinel);
    const attacks = [
      `../${sentinelName}`,
      `../../${sentinelName}`,
      `0/../../${sentinelName}`,
      `%2e%2e/${sentinelName}`,
      `%2E%2E%2F${sentinelName}`,
      `%252e%252e/${sentinelName}`,
      `..%2f${sentinelName}`,
      `..%5c${sentinelName}`,
      `..\\${sentinelName}`,
      `%2F${encodeURIComponent(h.sentinel.slice(1))}`,
      `/${h.sentinel.slice(1)}`,
      `C:%5cWindows%5cwin.ini`,
      `${sentinelName}%00.png`,
      `a%00/b`,
    ];
    for (const attack of attacks) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const response = await rawRequest(port, method, `${A}/${attack}`, method === 'PUT' ? 'overwritten' : undefined);
        assert.equal(response.status, 400, `${method} ${attack}: ${response.body}`);
        assert.deepEqual(JSON.parse(response.body), INVALID_PATH, `${method} ${attack}`);
      }
      const listed = await rawRequest(port, 'GET', `${A}?path=${attack}`);
      assert.equal(listed.status, 400, `list ${attack}: ${listed.body}`);
      assert.deepEqual(JSON.parse(listed.body), INVALID_PATH);
      const created = await rawRequest(port, 'POST', `${MPU}/create/${attack}`, JSON.stringify({ path: 'x.bin', num_parts: 1 }));
      assert.ok(created.status === 400, `mpu create ${attack}: ${created.body}`);
    }
    assert.equal(await fs.readFile(h.sentinel, 'utf8'), SENTINEL_TEXT);
    assert.deepEqual((await fs.readdir(h.sandbox)).sort(), before);
  });

  test('traversal in a query-string path or a multipart file name is refused', async () => {
    for (const listPath of ['..', '../..', '/etc', 'a/../..', '%2e%2e', 'a\\..\\..']) {
      const response = await h.app.inject({ method: 'GET', url: A, query: { path: listPath } });
      assert.equal(response.statusCode, 400, listPath);
      assert.deepEqual(response.json(), INVALID_PATH);
    }
    for (const localPath of ['..', '/home/me/..', '/home/me/', 'C:\\Users\\..']) {
      const response = await h.app.inject({
        method: 'POST',
        url: `${MPU}/create/0/r1/artifacts`,
        payload: { path: localPath, num_parts: 1 },
      });
      assert.equal(response.statusCode, 400, localPath);
      assert.deepEqual(response.json(), INVALID_PATH);
    }
    assert.equal(await fs.readFile(h.sentinel, 'utf8'), SENTINEL_TEXT);
  });

  test('a multipart upload hands out part URLs on this server and assembles the parts', async () => {
    const parts = [randomBytes(300_000), randomBytes(300_000), randomBytes(12_345)];
    const created = await h.app.inject({
      method: 'POST',
      url: `${MPU}/create/0/r1/artifacts/big`,
      headers: { host: 'trove.example:5123' },
      payload: { path: '/home/me/data/weights.bin', num_parts: 3 },
    });
    assert.equal(created.statusCode, 200, created.body);
    const body = created.json() as { upload_id: string; credentials: Array<{ url: string; part_number: number; headers: object }> };
    assert.match(body.upload_id, /^[0-9a-f]{32}$/);
    assert.deepEqual(body.credentials.map((credential) => credential.part_number), [1, 2, 3]);
    const first = body.credentials[0];
    assert.ok(first);
    assert.equal(
      first.url,
      `http://trove.example:5123/api/2.0/mlflow-artifacts/mpu/upload-part/0/r1/artifacts/big/weights.bin?upload_id=${body.upload_id}&part_number=1`,
    );
    assert.deepEqual(first.headers, {});

    const completedParts: Array<{ part_number: number; etag: string; url: string }> = [];
    for (const credential of [...body.credentials].reverse()) {
      const url = new URL(credential.url);
      const data = parts[credential.part_number - 1];
      assert.ok(data);
      const uploaded = await h.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: data });
      assert.equal(uploaded.statusCode, 200, uploaded.body);
      assert.equal(uploaded.headers.etag, `"${md5(data)}"`);
      completedParts.unshift({ part_number: credential.part_number, etag: String(uploaded.headers.etag), url: credential.url });
    }
    const completed = await h.app.inject({
      method: 'POST',
      url: `${MPU}/complete/0/r1/artifacts/big`,
      payload: { path: '/home/me/data/weights.bin', upload_id: body.upload_id, parts: completedParts },
    });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.deepEqual(completed.json(), {});
    const downloaded = await h.app.inject({ method: 'GET', url: `${A}/0/r1/artifacts/big/weights.bin` });
    assert.equal(md5(downloaded.rawPayload), md5(Buffer.concat(parts)));
  });

  test('a multipart upload to the proxy root works through the bare create URL', async () => {
    const created = await h.app.inject({ method: 'POST', url: `${MPU}/create`, payload: { path: 'top.bin', num_parts: 1 } });
    assert.equal(created.statusCode, 200, created.body);
    const { upload_id: uploadId, credentials } = created.json() as { upload_id: string; credentials: Array<{ url: string }> };
    const url = new URL(credentials[0]?.url ?? '');
    assert.equal(url.pathname, '/api/2.0/mlflow-artifacts/mpu/upload-part/top.bin');
    const part = await h.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: 'top' });
    const completed = await h.app.inject({
      method: 'POST',
      url: `${MPU}/complete/`,
      payload: { path: 'top.bin', upload_id: uploadId, parts: [{ part_number: 1, etag: part.headers.etag }] },
    });
    assert.equal(completed.statusCode, 200, completed.body);
    assert.equal((await h.app.inject({ method: 'GET', url: `${A}/top.bin` })).body, 'top');
  });

  test('the multipart routes also answer under /ajax-api with URLs pointing there', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/ajax-api/2.0/mlflow-artifacts/mpu/create/ajax',
      payload: { path: 'f.bin', num_parts: 1 },
    });
    assert.equal(created.statusCode, 200);
    const url = new URL((created.json() as { credentials: Array<{ url: string }> }).credentials[0]?.url ?? '');
    assert.equal(url.pathname, '/ajax-api/2.0/mlflow-artifacts/mpu/upload-part/ajax/f.bin');
  });

  test('an aborted multipart upload accepts no more parts and leaves no file', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: `${MPU}/create/0/r1/artifacts`,
      payload: { path: 'aborted.bin', num_parts: 2 },
    });
    const { upload_id: uploadId, credentials } = created.json() as { upload_id: string; credentials: Array<{ url: string }> };
    const url = new URL(credentials[0]?.url ?? '');
    assert.equal((await h.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: 'part' })).statusCode, 200);
    const aborted = await h.app.inject({
      method: 'POST',
      url: `${MPU}/abort/0/r1/artifacts`,
      payload: { path: 'aborted.bin', upload_id: uploadId },
    });
    assert.equal(aborted.statusCode, 200);
    assert.deepEqual(aborted.json(), {});
    const late = await h.app.inject({ method: 'PUT', url: url.pathname + url.search, payload: 'late' });
    assert.equal(late.statusCode, 404);
    assert.equal(late.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
    const download = await h.app.inject({ method: 'GET', url: `${A}/0/r1/artifacts/aborted.bin` });
    assert.equal(download.statusCode, 404);
  });

  test('bad multipart requests are INVALID_PARAMETER_VALUE', async () => {
    const noPath = await h.app.inject({ method: 'POST', url: `${MPU}/create/x`, payload: { num_parts: 1 } });
    assert.equal(noPath.statusCode, 400);
    assert.match(noPath.json().message, /Missing value for required parameter 'path'/);
    const tooMany = await h.app.inject({ method: 'POST', url: `${MPU}/create/x`, payload: { path: 'f', num_parts: 10_001 } });
    assert.equal(tooMany.statusCode, 400);
    const badId = await h.app.inject({ method: 'PUT', url: `${MPU}/upload-part/x/f?upload_id=..%2F..&part_number=1`, payload: 'x' });
    assert.equal(badId.statusCode, 400);
    assert.equal(badId.json().error_code, 'INVALID_PARAMETER_VALUE');
    const noPartNumber = await h.app.inject({ method: 'PUT', url: `${MPU}/upload-part/x/f?upload_id=${'a'.repeat(32)}`, payload: 'x' });
    assert.equal(noPartNumber.statusCode, 400);
    const unknown = await h.app.inject({
      method: 'POST',
      url: `${MPU}/complete/x`,
      payload: { path: 'f', upload_id: 'a'.repeat(32), parts: [{ part_number: 1, etag: 'e' }] },
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
    const wrongEtag = await (async () => {
      const created = await h.app.inject({ method: 'POST', url: `${MPU}/create/x`, payload: { path: 'g', num_parts: 1 } });
      const uploadId = (created.json() as { upload_id: string }).upload_id;
      await h.app.inject({ method: 'PUT', url: `${MPU}/upload-part/x/g?upload_id=${uploadId}&part_number=1`, payload: 'x' });
      return h.app.inject({
        method: 'POST',
        url: `${MPU}/complete/x`,
        payload: { path: 'g', upload_id: uploadId, parts: [{ part_number: 1, etag: '"0000"' }] },
      });
    })();
    assert.equal(wrongEtag.statusCode, 400);
    assert.equal(wrongEtag.json().error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('run artifact listing returns paths relative to the run root and the root URI', async () => {
    await put(h.app, `${A}/0/r1/artifacts/model/MLmodel`, 'm');
    const top = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list?run_id=r1' });
    assert.equal(top.statusCode, 200);
    const topBody = top.json() as { root_uri: string; files: Array<{ path: string; is_dir: boolean }> };
    assert.equal(topBody.root_uri, 'mlflow-artifacts:/0/r1/artifacts');
    assert.ok(topBody.files.some((file) => file.path === 'model' && file.is_dir));
    const nested = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list?run_id=r1&path=model' });
    assert.deepEqual(nested.json(), {
      root_uri: 'mlflow-artifacts:/0/r1/artifacts',
      files: [{ path: 'model/MLmodel', is_dir: false, file_size: 1 }],
    });
    const viaUuid = await h.app.inject({ method: 'GET', url: '/ajax-api/2.0/mlflow/artifacts/list?run_uuid=r1&path=model' });
    assert.equal(viaUuid.statusCode, 200);
    const empty = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list?run_id=r1&path=nothing' });
    assert.deepEqual(empty.json(), { root_uri: 'mlflow-artifacts:/0/r1/artifacts' });
  });

  test('run artifact listing of a run stored elsewhere has no files', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list?run_id=remote' });
    assert.deepEqual(response.json(), { root_uri: 's3://bucket/0/remote/artifacts' });
  });

  test('run artifact listing refuses unknown runs, a missing run id and unsafe paths', async () => {
    const unknown = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list?run_id=zzz' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error_code, 'RESOURCE_DOES_NOT_EXIST');
    const missing = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list' });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().message, /Missing value for required parameter 'run_id'/);
    for (const unsafe of ['../..', '/etc', '%2e%2e']) {
      const response = await h.app.inject({ method: 'GET', url: '/api/2.0/mlflow/artifacts/list', query: { run_id: 'zzz', path: unsafe } });
      assert.equal(response.statusCode, 400, unsafe);
      assert.deepEqual(response.json(), INVALID_PATH);
    }
  });

  test('a write below an existing file is a 400, not a server error', async () => {
    await put(h.app, `${A}/conflict/file.txt`, 'x');
    const response = await put(h.app, `${A}/conflict/file.txt/child.txt`, 'y');
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('a client that disconnects mid-upload leaves no file and no temp file', async () => {
    await new Promise<void>((resolve) => {
      const request = http.request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `${A}/0/r1/artifacts/cut.bin`,
        headers: { 'content-length': String(10 * 1024 * 1024) },
      });
      request.on('error', () => resolve());
      request.write(Buffer.alloc(1024 * 1024));
      setTimeout(() => {
        request.destroy();
        resolve();
      }, 100);
    });
    // Give the server a moment to notice the reset and clean up.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const temps = await fs.readdir(path.join(h.root, '.trove-uploads', 'tmp'));
      if (temps.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(await fs.readdir(path.join(h.root, '.trove-uploads', 'tmp')), []);
    await assert.rejects(fs.stat(path.join(h.root, '0', 'r1', 'artifacts', 'cut.bin')), { code: 'ENOENT' });
  });
});

describe('artifact proxy streaming', () => {
  const TOTAL = 300 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const RSS_BUDGET = 64 * 1024 * 1024;
  let h: Harness;
  let port: number;

  before(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
  });

  after(async () => {
    await h.close();
  });

  /** Samples RSS while `work` runs; returns the largest growth over the starting value. */
  async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
    const start = process.memoryUsage.rss();
    let peak = start;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    return peak - start;
  }

  /**
   * Uploads TOTAL generated bytes from a child process, so the RSS we sample is the server's
   * alone, not the test client's send buffers. Resolves with the MD5 of what was sent.
   */
  function uploadFromChildProcess(urlPath: string): Promise<string> {
    const script = `
      const http = require('node:http');
      const crypto = require('node:crypto');
      const [port, urlPath, total, chunkSize] = process.argv.slice(1);
      const hash = crypto.createHash('md5');
      let sent = 0;
      const { Readable } = require('node:stream');
      const body = new Readable({
        read() {
          if (sent >= +total) { this.push(null); return; }
          const chunk = Buffer.allocUnsafe(Math.min(+chunkSize, +total - sent));
          chunk.fill(sent / +chunkSize);
          chunk.writeUInt32BE(sent / +chunkSize, 0);
          hash.update(chunk);
          sent += chunk.length;
          this.push(chunk);
        },
      });
      const request = http.request({ host: '127.0.0.1', port: +port, method: 'PUT', path: urlPath,
        headers: { 'content-type': 'application/octet-stream', 'content-length': total } }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== 200) { console.error('status ' + response.statusCode); process.exit(1); }
          process.stdout.write(hash.digest('hex'));
        });
      });
      request.on('error', (error) => { console.error(error.message); process.exit(1); });
      body.pipe(request);
    `;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script, String(port), urlPath, String(TOTAL), String(CHUNK)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`upload client failed: ${stderr}`))));
    });
  }

  test('a 300 MB upload and download over real HTTP stay within 64 MB of RSS growth', async (t) => {
    let expected = '';
    const uploadGrowth = await peakRssGrowth(async () => {
      expected = await uploadFromChildProcess(`${A}/stream/big.bin`);
    });
    t.diagnostic(`upload RSS growth: ${(uploadGrowth / 1024 / 1024).toFixed(1)} MB`);
    assert.equal((await fs.stat(path.join(h.root, 'stream', 'big.bin'))).size, TOTAL);
    assert.ok(uploadGrowth < RSS_BUDGET, `upload grew RSS by ${Math.round(uploadGrowth / 1024 / 1024)} MB`);

    const receivedHash = createHash('md5');
    let contentLength = '';
    const downloadGrowth = await peakRssGrowth(async () => {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: `${A}/stream/big.bin` }, (response) => {
            contentLength = String(response.headers['content-length']);
            response.on('data', (chunk: Buffer) => receivedHash.update(chunk));
            response.on('end', resolve);
            response.on('error', reject);
          })
          .on('error', reject);
      });
    });
    t.diagnostic(`download RSS growth: ${(downloadGrowth / 1024 / 1024).toFixed(1)} MB`);
    assert.equal(contentLength, String(TOTAL));
    assert.equal(receivedHash.digest('hex'), expected);
    assert.ok(downloadGrowth < RSS_BUDGET, `download grew RSS by ${Math.round(downloadGrowth / 1024 / 1024)} MB`);
  });
});
