import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactStoreContract, assertStoreError, failingStream, readAll, streamOf } from './artifact-store.contract.ts';
import { INTERNAL_DIR_NAME, LocalArtifactStore } from './local-artifact-store.ts';

async function makeTempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'trove-artifacts-'));
}

/** Every file and folder under `dir`, relative, sorted; symlinks are reported, not followed. */
async function walk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

artifactStoreContract('LocalArtifactStore', async () => {
  const dir = await makeTempDir();
  return {
    store: new LocalArtifactStore(path.join(dir, 'root')),
    dispose: () => fs.rm(dir, { recursive: true, force: true }),
  };
});

describe('LocalArtifactStore on disk', () => {
  let sandbox: string;
  let root: string;
  let outside: string;
  let store: LocalArtifactStore;

  before(async () => {
    // sandbox/root is the store; sandbox/outside holds what must never be touched.
    sandbox = await makeTempDir();
    root = path.join(sandbox, 'root');
    outside = path.join(sandbox, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'top secret');
    store = new LocalArtifactStore(root);
  });

  after(async () => {
    await fs.rm(sandbox, { recursive: true, force: true });
  });

  test('the root folder is created on first use', async () => {
    const fresh = path.join(sandbox, 'fresh', 'nested', 'root');
    const freshStore = new LocalArtifactStore(fresh);
    assert.deepEqual(await freshStore.list(''), []);
    assert.ok((await fs.stat(fresh)).isDirectory());
  });

  test('files land at the expected place on disk', async () => {
    await store.put('0/run/artifacts/plots/loss.png', streamOf('png'));
    assert.equal(await fs.readFile(path.join(root, '0', 'run', 'artifacts', 'plots', 'loss.png'), 'utf8'), 'png');
  });

  test('an aborted upload leaves no temporary file behind', async () => {
    await assertStoreError(store.put('aborted/file.bin', failingStream(1_000_000)), 'incomplete-body');
    assert.deepEqual(await fs.readdir(path.join(root, INTERNAL_DIR_NAME, 'tmp')), []);
    await assert.rejects(fs.stat(path.join(root, 'aborted')), { code: 'ENOENT' });
  });

  test('a destroyed body stream leaves no temporary file behind', async () => {
    const body = streamOf(Buffer.alloc(2_000_000), 1024);
    setImmediate(() => body.destroy());
    await assertStoreError(store.put('destroyed.bin', body), 'incomplete-body');
    assert.deepEqual(await fs.readdir(path.join(root, INTERNAL_DIR_NAME, 'tmp')), []);
    await assert.rejects(fs.stat(path.join(root, 'destroyed.bin')), { code: 'ENOENT' });
  });

  test('a symlinked folder leading outside the root is refused for every operation', async () => {
    await fs.symlink(outside, path.join(root, 'escape'));
    await assertStoreError(store.put('escape/planted.txt', streamOf('x')), 'invalid-path');
    await assertStoreError(store.put('escape/new/planted.txt', streamOf('x')), 'invalid-path');
    await assertStoreError(store.get('escape/secret.txt'), 'invalid-path');
    await assertStoreError(store.stat('escape/secret.txt'), 'invalid-path');
    await assertStoreError(store.list('escape'), 'invalid-path');
    await assertStoreError(store.delete('escape/secret.txt'), 'invalid-path');
    await assertStoreError(store.createMultipartUpload('escape/big.bin'), 'invalid-path');
    await assertStoreError(store.copyPrefix('escape', 'copied'), 'invalid-path');
    assert.deepEqual(await walk(outside), ['secret.txt']);
    assert.equal(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8'), 'top secret');
    await fs.rm(path.join(root, 'escape'));
  });

  test('a dangling symlink cannot be written through, even once its target would exist', async () => {
    await fs.symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling'));
    await assertStoreError(store.put('dangling/x.txt', streamOf('x')), 'invalid-path');
    await assertStoreError(store.put('dangling/deeper/x.txt', streamOf('x')), 'invalid-path');
    await assertStoreError(store.createMultipartUpload('dangling/x.bin'), 'invalid-path');
    assert.equal(await store.get('dangling/x.txt'), undefined);
    assert.deepEqual(await walk(outside), ['secret.txt']);
    await fs.rm(path.join(root, 'dangling'));
  });

  test('a symlinked file leading outside is neither listed nor read, and deleting it removes only the link', async () => {
    await fs.mkdir(path.join(root, 'links'), { recursive: true });
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'links', 'secret.txt'));
    await store.put('links/own.txt', streamOf('mine'));
    assert.deepEqual(await store.list('links'), [{ name: 'own.txt', isDir: false, size: 4 }]);
    await assertStoreError(store.get('links/secret.txt'), 'invalid-path');
    await store.delete('links/secret.txt');
    await assert.rejects(fs.lstat(path.join(root, 'links', 'secret.txt')), { code: 'ENOENT' });
    assert.equal(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8'), 'top secret');
  });

  test('writing over a symlink replaces the link instead of writing through it', async () => {
    await fs.mkdir(path.join(root, 'over'), { recursive: true });
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'over', 'target.txt'));
    await store.put('over/target.txt', streamOf('replaced'));
    assert.equal(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8'), 'top secret');
    assert.ok((await fs.lstat(path.join(root, 'over', 'target.txt'))).isFile());
  });

  test('a symlink that stays inside the root is followed', async () => {
    await store.put('real/data.txt', streamOf('inside'));
    await fs.symlink(path.join(root, 'real'), path.join(root, 'alias'));
    const object = await store.get('alias/data.txt');
    assert.ok(object);
    assert.equal((await readAll(object.stream)).toString(), 'inside');
  });

  test('deleting a folder that holds a link to the outside leaves the outside intact', async () => {
    await store.put('tree/own.txt', streamOf('x'));
    await fs.symlink(outside, path.join(root, 'tree', 'link'));
    await store.delete('tree');
    await assert.rejects(fs.lstat(path.join(root, 'tree')), { code: 'ENOENT' });
    assert.deepEqual(await walk(outside), ['secret.txt']);
  });

  test('copying a tree skips links to the outside', async () => {
    await store.put('model/MLmodel', streamOf('m'));
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'model', 'leak.txt'));
    await store.copyPrefix('model', 'frozen');
    assert.deepEqual(await store.list('frozen'), [{ name: 'MLmodel', isDir: false, size: 1 }]);
  });

  test('the internal folder cannot be addressed', async () => {
    for (const internal of [INTERNAL_DIR_NAME, `${INTERNAL_DIR_NAME}/tmp`, `${INTERNAL_DIR_NAME}/multipart/x`]) {
      await assertStoreError(store.put(internal, streamOf('x')), 'invalid-path');
      await assertStoreError(store.get(internal), 'invalid-path');
      await assertStoreError(store.list(internal), 'invalid-path');
      await assertStoreError(store.delete(internal), 'invalid-path');
    }
    assert.ok(!(await store.list('')).some((entry) => entry.name === INTERNAL_DIR_NAME));
  });

  test('malformed upload ids never become paths', async () => {
    for (const uploadId of ['../../escape', 'ABC', '', `${'a'.repeat(31)}/`]) {
      await assertStoreError(store.uploadPart(uploadId, 1, streamOf('x')), 'invalid-upload');
      await assertStoreError(store.abortMultipartUpload(uploadId), 'invalid-upload');
      await assertStoreError(store.completeMultipartUpload('f.bin', uploadId, [{ partNumber: 1 }]), 'invalid-upload');
    }
  });

  test('multipart state lives in the internal folder and is removed on completion', async () => {
    const uploadId = await store.createMultipartUpload('mpu/file.bin');
    await store.uploadPart(uploadId, 1, streamOf('abc'));
    const uploadDir = path.join(root, INTERNAL_DIR_NAME, 'multipart', uploadId);
    assert.ok((await fs.stat(uploadDir)).isDirectory());
    await store.completeMultipartUpload('mpu/file.bin', uploadId, [{ partNumber: 1 }]);
    await assert.rejects(fs.stat(uploadDir), { code: 'ENOENT' });
    assert.deepEqual(await fs.readdir(path.join(root, INTERNAL_DIR_NAME, 'tmp')), []);
  });

  test('temporary files left by a crash are removed when a store starts', async () => {
    const crashRoot = path.join(sandbox, 'crashed');
    await fs.mkdir(path.join(crashRoot, INTERNAL_DIR_NAME, 'tmp'), { recursive: true });
    const stale = path.join(crashRoot, INTERNAL_DIR_NAME, 'tmp', 'left-over');
    const recent = path.join(crashRoot, INTERNAL_DIR_NAME, 'tmp', 'in-flight');
    await fs.writeFile(stale, 'partial');
    await fs.writeFile(recent, 'partial');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await fs.utimes(stale, twoDaysAgo, twoDaysAgo);
    await new LocalArtifactStore(crashRoot).list('');
    await assert.rejects(fs.stat(stale), { code: 'ENOENT' });
    assert.ok((await fs.stat(recent)).isFile());
  });

  test('nothing was ever written outside the root', async () => {
    assert.deepEqual(await walk(outside), ['secret.txt']);
    assert.deepEqual((await fs.readdir(sandbox)).sort(), ['crashed', 'fresh', 'outside', 'root']);
  });
});
