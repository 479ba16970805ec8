import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ArtifactStoreError, type ArtifactStore, type ArtifactStoreErrorKind } from './artifact-store.ts';

/**
 * The behaviour every ArtifactStore must show, as a reusable node:test suite: the local-disk
 * store runs it now, an object-store implementation later. Each test works under its own folder
 * so the suite can share one store.
 */

/** A store under test and how to clean up after it. */
export interface ArtifactStoreFixture {
  store: ArtifactStore;
  dispose(): Promise<void>;
}

/** Bytes as a stream that yields them in small chunks, like a network body. */
export function streamOf(data: Buffer | string, chunkSize = 1024): Readable {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; offset += chunkSize) {
    chunks.push(buffer.subarray(offset, offset + chunkSize));
  }
  return Readable.from(chunks);
}

/** A stream that yields `bytesBeforeFailure` bytes and then errors, like a dropped connection. */
export function failingStream(bytesBeforeFailure: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(bytesBeforeFailure, 0x61));
        return;
      }
      this.destroy(new Error('connection reset by peer'));
    },
  });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function assertStoreError(promise: Promise<unknown>, kind: ArtifactStoreErrorKind): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ArtifactStoreError, `expected an ArtifactStoreError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return true;
  });
}

function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** Paths no store may accept for any operation. */
const HOSTILE_PATHS = ['../escape', 'a/../../escape', '/etc/passwd', 'a\\b', 'a\u0000b', 'a//b', 'C:/x', './a', 'a/.'];

export function artifactStoreContract(name: string, makeStore: () => Promise<ArtifactStoreFixture>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    let fixture: ArtifactStoreFixture;
    let store: ArtifactStore;
    let folderCounter = 0;
    /** A fresh folder for one test. */
    const folder = (): string => {
      folderCounter += 1;
      return `contract-${folderCounter}`;
    };

    before(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    after(async () => {
      await fixture.dispose();
    });

    test('a stored file reads back byte-identical with its size', async () => {
      const dir = folder();
      const data = randomBytes(200_000);
      await store.put(`${dir}/blob.bin`, streamOf(data, 7_000), data.length);
      const object = await store.get(`${dir}/blob.bin`);
      assert.ok(object);
      assert.equal(object.size, data.length);
      assert.ok((await readAll(object.stream)).equals(data));
    });

    test('an empty file can be stored and read back', async () => {
      const dir = folder();
      await store.put(`${dir}/empty.txt`, streamOf(''), 0);
      const object = await store.get(`${dir}/empty.txt`);
      assert.ok(object);
      assert.equal(object.size, 0);
      assert.equal((await readAll(object.stream)).length, 0);
    });

    test('storing again replaces the earlier content', async () => {
      const dir = folder();
      await store.put(`${dir}/a.txt`, streamOf('first version, longer'));
      await store.put(`${dir}/a.txt`, streamOf('second'));
      const object = await store.get(`${dir}/a.txt`);
      assert.ok(object);
      assert.equal((await readAll(object.stream)).toString(), 'second');
    });

    test('a file several megabytes long streams through intact', async () => {
      const dir = folder();
      const data = randomBytes(8 * 1024 * 1024 + 13);
      await store.put(`${dir}/big.bin`, streamOf(data, 64 * 1024), data.length);
      const object = await store.get(`${dir}/big.bin`);
      assert.ok(object);
      assert.equal(md5(await readAll(object.stream)), md5(data));
    });

    test('reading a missing file or a folder gives nothing', async () => {
      const dir = folder();
      await store.put(`${dir}/sub/file.txt`, streamOf('x'));
      assert.equal(await store.get(`${dir}/missing.txt`), undefined);
      assert.equal(await store.get(`${dir}/sub`), undefined);
      assert.equal(await store.get(`${dir}/sub/file.txt/deeper`), undefined);
    });

    test('stat tells files, folders and missing paths apart', async () => {
      const dir = folder();
      await store.put(`${dir}/sub/file.txt`, streamOf('12345'));
      assert.deepEqual(await store.stat(`${dir}/sub/file.txt`), { isDir: false, size: 5 });
      assert.deepEqual(await store.stat(`${dir}/sub`), { isDir: true });
      assert.equal(await store.stat(`${dir}/nothing`), undefined);
      assert.deepEqual(await store.stat(''), { isDir: true });
    });

    test('listing shows immediate children sorted by name, sizes for files only', async () => {
      const dir = folder();
      await store.put(`${dir}/b.txt`, streamOf('bb'));
      await store.put(`${dir}/a/deep/x.txt`, streamOf('x'));
      await store.put(`${dir}/c.bin`, streamOf('ccc'));
      assert.deepEqual(await store.list(dir), [
        { name: 'a', isDir: true },
        { name: 'b.txt', isDir: false, size: 2 },
        { name: 'c.bin', isDir: false, size: 3 },
      ]);
      assert.deepEqual(await store.list(`${dir}/a`), [{ name: 'deep', isDir: true }]);
    });

    test('listing a file or a missing folder gives no entries', async () => {
      const dir = folder();
      await store.put(`${dir}/file.txt`, streamOf('x'));
      assert.deepEqual(await store.list(`${dir}/file.txt`), []);
      assert.deepEqual(await store.list(`${dir}/missing`), []);
    });

    test('the root listing shows stored folders and no bookkeeping', async () => {
      const dir = folder();
      await store.put(`${dir}/f.txt`, streamOf('x'));
      const uploadId = await store.createMultipartUpload(`${dir}/pending.bin`);
      await store.uploadPart(uploadId, 1, streamOf('part'));
      const names = (await store.list('')).map((entry) => entry.name);
      assert.ok(names.includes(dir));
      assert.ok(names.every((entry) => entry.startsWith('contract-')), `unexpected root entries: ${names.join(', ')}`);
      assert.deepEqual(await store.list(dir), [{ name: 'f.txt', isDir: false, size: 1 }]);
      await store.abortMultipartUpload(uploadId);
    });

    test('deleting a file removes only that file', async () => {
      const dir = folder();
      await store.put(`${dir}/keep.txt`, streamOf('k'));
      await store.put(`${dir}/drop.txt`, streamOf('d'));
      await store.delete(`${dir}/drop.txt`);
      assert.equal(await store.get(`${dir}/drop.txt`), undefined);
      assert.deepEqual(await store.list(dir), [{ name: 'keep.txt', isDir: false, size: 1 }]);
    });

    test('deleting a folder removes everything below it', async () => {
      const dir = folder();
      await store.put(`${dir}/tree/a.txt`, streamOf('a'));
      await store.put(`${dir}/tree/sub/b.txt`, streamOf('b'));
      await store.put(`${dir}/other.txt`, streamOf('o'));
      await store.delete(`${dir}/tree`);
      assert.equal(await store.stat(`${dir}/tree`), undefined);
      assert.deepEqual(await store.list(dir), [{ name: 'other.txt', isDir: false, size: 1 }]);
    });

    test('deleting something that does not exist succeeds', async () => {
      const dir = folder();
      await store.delete(`${dir}/never/was`);
    });

    test('a body that fails midway leaves nothing behind and keeps the old file', async () => {
      const dir = folder();
      await store.put(`${dir}/a.bin`, streamOf('old'));
      await assertStoreError(store.put(`${dir}/a.bin`, failingStream(50_000)), 'incomplete-body');
      await assertStoreError(store.put(`${dir}/new/b.bin`, failingStream(50_000)), 'incomplete-body');
      const object = await store.get(`${dir}/a.bin`);
      assert.ok(object);
      assert.equal((await readAll(object.stream)).toString(), 'old');
      assert.deepEqual(await store.list(dir), [{ name: 'a.bin', isDir: false, size: 3 }]);
    });

    test('a body shorter or longer than announced is refused and nothing is stored', async () => {
      const dir = folder();
      await assertStoreError(store.put(`${dir}/short.bin`, streamOf('12345'), 10), 'incomplete-body');
      await assertStoreError(store.put(`${dir}/long.bin`, streamOf('12345'), 3), 'incomplete-body');
      assert.deepEqual(await store.list(dir), []);
    });

    test('writing below a file or over a folder is a conflict', async () => {
      const dir = folder();
      await store.put(`${dir}/file.txt`, streamOf('x'));
      await store.put(`${dir}/folder/inner.txt`, streamOf('y'));
      await assertStoreError(store.put(`${dir}/file.txt/child.txt`, streamOf('z')), 'conflict');
      await assertStoreError(store.put(`${dir}/folder`, streamOf('z')), 'conflict');
      const inner = await store.get(`${dir}/folder/inner.txt`);
      assert.ok(inner);
      assert.equal((await readAll(inner.stream)).toString(), 'y');
    });

    test('concurrent writes to one path leave exactly one complete version', async () => {
      const dir = folder();
      const first = Buffer.alloc(300_000, 0x31);
      const second = Buffer.alloc(300_000, 0x32);
      await Promise.all([
        store.put(`${dir}/race.bin`, streamOf(first, 4096)),
        store.put(`${dir}/race.bin`, streamOf(second, 4096)),
      ]);
      const object = await store.get(`${dir}/race.bin`);
      assert.ok(object);
      const stored = await readAll(object.stream);
      assert.ok(stored.equals(first) || stored.equals(second));
    });

    test('hostile paths are refused by every operation', async () => {
      for (const path of HOSTILE_PATHS) {
        await assertStoreError(store.put(path, streamOf('x')), 'invalid-path');
        await assertStoreError(store.get(path), 'invalid-path');
        await assertStoreError(store.stat(path), 'invalid-path');
        await assertStoreError(store.list(path), 'invalid-path');
        await assertStoreError(store.delete(path), 'invalid-path');
        await assertStoreError(store.createMultipartUpload(path), 'invalid-path');
        await assertStoreError(store.copyPrefix(path, 'somewhere'), 'invalid-path');
        await assertStoreError(store.copyPrefix('somewhere', path), 'invalid-path');
      }
    });

    test('the root cannot be written, deleted or copied', async () => {
      await assertStoreError(store.put('', streamOf('x')), 'invalid-path');
      await assertStoreError(store.delete(''), 'invalid-path');
      await assertStoreError(store.copyPrefix('', 'x'), 'invalid-path');
    });

    test('a multipart upload joins its parts in part-number order', async () => {
      const dir = folder();
      const parts = [randomBytes(70_000), randomBytes(70_000), randomBytes(1_234)];
      const uploadId = await store.createMultipartUpload(`${dir}/joined.bin`);
      // Uploaded out of order, as a thread pool would.
      const etags = new Map<number, string>();
      for (const partNumber of [3, 1, 2]) {
        const data = parts[partNumber - 1];
        assert.ok(data);
        etags.set(partNumber, await store.uploadPart(uploadId, partNumber, streamOf(data, 5000), data.length));
      }
      assert.equal(etags.get(1), md5(parts[0] ?? ''));
      assert.equal(await store.get(`${dir}/joined.bin`), undefined, 'nothing is visible before completion');
      await store.completeMultipartUpload(`${dir}/joined.bin`, uploadId, [
        { partNumber: 1, etag: etags.get(1) ?? '' },
        { partNumber: 2, etag: `"${etags.get(2) ?? ''}"` },
        { partNumber: 3 },
      ]);
      const object = await store.get(`${dir}/joined.bin`);
      assert.ok(object);
      assert.ok((await readAll(object.stream)).equals(Buffer.concat(parts)));
      await assertStoreError(store.uploadPart(uploadId, 1, streamOf('late')), 'not-found');
    });

    test('uploading a part again replaces it', async () => {
      const dir = folder();
      const uploadId = await store.createMultipartUpload(`${dir}/f.txt`);
      await store.uploadPart(uploadId, 1, streamOf('wrong'));
      const etag = await store.uploadPart(uploadId, 1, streamOf('right'));
      await store.completeMultipartUpload(`${dir}/f.txt`, uploadId, [{ partNumber: 1, etag }]);
      const object = await store.get(`${dir}/f.txt`);
      assert.ok(object);
      assert.equal((await readAll(object.stream)).toString(), 'right');
    });

    test('completion refuses a wrong etag, a missing part, a duplicate part and another path', async () => {
      const dir = folder();
      const uploadId = await store.createMultipartUpload(`${dir}/f.bin`);
      await store.uploadPart(uploadId, 1, streamOf('one'));
      await assertStoreError(
        store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1, etag: md5('other') }]),
        'invalid-upload',
      );
      await assertStoreError(
        store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1 }, { partNumber: 2 }]),
        'invalid-upload',
      );
      await assertStoreError(
        store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1 }, { partNumber: 1 }]),
        'invalid-upload',
      );
      await assertStoreError(store.completeMultipartUpload(`${dir}/f.bin`, uploadId, []), 'invalid-upload');
      await assertStoreError(store.completeMultipartUpload(`${dir}/g.bin`, uploadId, [{ partNumber: 1 }]), 'invalid-upload');
      assert.deepEqual(await store.list(dir), []);
      // The failed attempts did not consume the upload.
      await store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1 }]);
      assert.deepEqual(await store.stat(`${dir}/f.bin`), { isDir: false, size: 3 });
    });

    test('part numbers outside 1..10000 are refused', async () => {
      const dir = folder();
      const uploadId = await store.createMultipartUpload(`${dir}/f.bin`);
      for (const partNumber of [0, -1, 10_001, 1.5]) {
        await assertStoreError(store.uploadPart(uploadId, partNumber, streamOf('x')), 'invalid-upload');
      }
      await store.abortMultipartUpload(uploadId);
    });

    test('an aborted upload is gone, and aborting again succeeds', async () => {
      const dir = folder();
      const uploadId = await store.createMultipartUpload(`${dir}/f.bin`);
      await store.uploadPart(uploadId, 1, streamOf('data'));
      await store.abortMultipartUpload(uploadId);
      await store.abortMultipartUpload(uploadId);
      await assertStoreError(store.uploadPart(uploadId, 1, streamOf('x')), 'not-found');
      await assertStoreError(store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1 }]), 'not-found');
      assert.equal(await store.get(`${dir}/f.bin`), undefined);
    });

    test('a part whose body fails is not kept', async () => {
      const dir = folder();
      const uploadId = await store.createMultipartUpload(`${dir}/f.bin`);
      await assertStoreError(store.uploadPart(uploadId, 1, failingStream(10_000)), 'incomplete-body');
      await assertStoreError(store.completeMultipartUpload(`${dir}/f.bin`, uploadId, [{ partNumber: 1 }]), 'invalid-upload');
      await store.abortMultipartUpload(uploadId);
    });

    test('copying a folder copies the whole tree and leaves the source alone', async () => {
      const dir = folder();
      await store.put(`${dir}/src/MLmodel`, streamOf('flavors: {}'));
      await store.put(`${dir}/src/data/model.pkl`, streamOf('pickle'));
      await store.put(`${dir}/dst/MLmodel`, streamOf('stale'));
      await store.put(`${dir}/dst/extra.txt`, streamOf('kept'));
      await store.copyPrefix(`${dir}/src`, `${dir}/dst`);
      const copied = await store.get(`${dir}/dst/data/model.pkl`);
      assert.ok(copied);
      assert.equal((await readAll(copied.stream)).toString(), 'pickle');
      const replaced = await store.get(`${dir}/dst/MLmodel`);
      assert.ok(replaced);
      assert.equal((await readAll(replaced.stream)).toString(), 'flavors: {}');
      assert.deepEqual(
        (await store.list(`${dir}/dst`)).map((entry) => entry.name),
        ['MLmodel', 'data', 'extra.txt'],
      );
      assert.deepEqual((await store.list(`${dir}/src`)).map((entry) => entry.name), ['MLmodel', 'data']);
    });

    test('copying a missing folder or a file is not found', async () => {
      const dir = folder();
      await store.put(`${dir}/file.txt`, streamOf('x'));
      await assertStoreError(store.copyPrefix(`${dir}/missing`, `${dir}/dst`), 'not-found');
      await assertStoreError(store.copyPrefix(`${dir}/file.txt`, `${dir}/dst`), 'not-found');
    });

    test('copying a folder into itself or into its parent chain is refused', async () => {
      const dir = folder();
      await store.put(`${dir}/src/a.txt`, streamOf('x'));
      await assertStoreError(store.copyPrefix(`${dir}/src`, `${dir}/src/inner`), 'invalid-path');
      await assertStoreError(store.copyPrefix(`${dir}/src`, dir), 'invalid-path');
      await assertStoreError(store.copyPrefix(`${dir}/src`, `${dir}/src`), 'invalid-path');
    });
  });
}
