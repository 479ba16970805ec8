import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { INTERNAL_DIR_NAME, LocalArtifactStore } from '../../src/store/artifacts/local-artifact-store.ts';

const MPU = '/api/2.0/mlflow-artifacts/mpu';

/** The pid of a process that has exited (nothing runs under it any more). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('what interrupted uploads leave behind is cleaned up', () => {
  test('at startup, temp files of dead upload processes go at once; a live process’s stay; unattributable ones go when a day old', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-uploads-'));
    const tmp = path.join(dataDir, 'artifacts', INTERNAL_DIR_NAME, 'tmp');
    fs.mkdirSync(tmp, { recursive: true });
    const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 60);
    const dead = path.join(tmp, `${host}.${deadPid()}.abcdef0123`);
    const live = path.join(tmp, `${host}.${process.pid}.abcdef0123`);
    const oldUnknown = path.join(tmp, '0123456789abcdef0123456789abcdef');
    const freshUnknown = path.join(tmp, 'fedcba9876543210fedcba9876543210');
    for (const file of [dead, live, oldUnknown, freshUnknown]) fs.writeFileSync(file, 'partial upload');
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    fs.utimesSync(oldUnknown, dayAgo, dayAgo);

    const t = await startTestServer({ artifactsDestination: path.join(dataDir, 'artifacts'), dataDir });
    try {
      assert.equal(fs.existsSync(dead), false, 'the dead process’s temp file is removed at startup');
      assert.equal(fs.existsSync(oldUnknown), false);
      assert.equal(fs.existsSync(live), true, 'a live upload is left alone');
      assert.equal(fs.existsSync(freshUnknown), true);
    } finally {
      await t.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('unfinished multipart uploads expire after the configured time, with their parts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-mpu-'));
    try {
      const store = new LocalArtifactStore(dir, { multipartExpiryMs: 60_000 });
      const uploadId = await store.createMultipartUpload('0/r/artifacts/big.bin');
      await store.uploadPart(uploadId, 1, Readable.from([Buffer.alloc(1000)]));
      assert.equal(await store.pendingUploadBytes('0/r/artifacts'), 1000);
      assert.deepEqual(await store.sweepUploads(Date.now() + 30_000), { tempFiles: 0, uploads: 0 }, 'not yet');
      assert.deepEqual(await store.sweepUploads(Date.now() + 61_000), { tempFiles: 0, uploads: 1 });
      assert.equal(await store.pendingUploadBytes('0/r/artifacts'), 0);
      await assert.rejects(store.uploadPart(uploadId, 2, Readable.from([Buffer.alloc(10)])), (error: Error & { kind?: string }) => error.kind === 'not-found');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pending multipart bytes are capped per run', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ env: { ...process.env, TROVE_MAX_PENDING_UPLOAD_BYTES: '1500' } });
  });
  after(async () => t.close());

  test('a part that would take a run’s unfinished uploads over TROVE_MAX_PENDING_UPLOAD_BYTES is refused with 400', async () => {
    const created = await t.inject({ method: 'POST', url: `${MPU}/create/0/r1/artifacts/big`, payload: { path: 'w.bin', num_parts: 2 } });
    assert.equal(created.statusCode, 200, created.body);
    const [first, second] = (created.json() as { credentials: { url: string }[] }).credentials.map((c) => new URL(c.url));
    const ok = await t.inject({ method: 'PUT', url: first!.pathname + first!.search, payload: Buffer.alloc(1000) });
    assert.equal(ok.statusCode, 200, ok.body);
    const refused = await t.inject({ method: 'PUT', url: second!.pathname + second!.search, payload: Buffer.alloc(1000) });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.json().message, /already hold 1000 bytes/);
    // Another run is not affected.
    const other = await t.inject({ method: 'POST', url: `${MPU}/create/0/r2/artifacts`, payload: { path: 'x.bin', num_parts: 1 } });
    const url = new URL((other.json() as { credentials: { url: string }[] }).credentials[0]!.url);
    assert.equal((await t.inject({ method: 'PUT', url: url.pathname + url.search, payload: Buffer.alloc(1000) })).statusCode, 200);
  });
});
