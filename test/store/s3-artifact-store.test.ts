import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  artifactStoreContract,
  assertStoreError,
  failingStream,
  readAll,
  streamOf,
} from '../../src/store/artifacts/artifact-store.contract.ts';
import type { S3ArtifactStore } from '../../src/store/artifacts/s3-artifact-store.ts';
import { closedPort, makeS3Store, rawS3Client, S3_SKIP_MESSAGE, testS3, uniquePrefix, type TestS3 } from '../support/s3.ts';

/**
 * The artifact store contract against a real S3-compatible server that checks signatures:
 * OpenStack Swift with s3api (scripts/start-swift.sh). Every suite works under its own key prefix.
 */

const s3 = testS3();

/** Deletes everything a test store wrote under its prefix. */
async function emptyStore(store: S3ArtifactStore): Promise<void> {
  for (const entry of await store.list('')) await store.delete(entry.name);
}

if (s3 === undefined) {
  test('S3ArtifactStore against Swift + s3api', { skip: S3_SKIP_MESSAGE }, () => undefined);
} else {
  artifactStoreContract('S3ArtifactStore on Swift + s3api', async () => {
    const store = makeS3Store(s3, uniquePrefix('contract'));
    return {
      store,
      dispose: async () => {
        await emptyStore(store);
        store.destroy();
      },
    };
  });

  describe('S3ArtifactStore on Swift + s3api', () => {
    const server: TestS3 = s3;
    let prefix: string;
    let store: S3ArtifactStore;
    let raw: S3Client;

    before(() => {
      prefix = uniquePrefix('s3');
      store = makeS3Store(server, prefix);
      raw = rawS3Client(server);
    });

    after(async () => {
      await emptyStore(store);
      store.destroy();
      raw.destroy();
    });

    test('objects are stored under the configured key prefix', async () => {
      await store.put('0/run/artifacts/model/MLmodel', streamOf('flavors: {}'));
      const head = await raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}/0/run/artifacts/model/MLmodel` }));
      assert.equal(head.ContentLength, 11);
    });

    test('a wrong secret is refused by the server, so signatures are really checked', async () => {
      const impostor = makeS3Store(server, prefix, { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
      try {
        await assertStoreError(impostor.put('forged/file.txt', streamOf('forged')), 'access-denied');
        await assertStoreError(impostor.list(''), 'access-denied');
        await assertStoreError(impostor.get('0/run/artifacts/model/MLmodel'), 'access-denied');
      } finally {
        impostor.destroy();
      }
      assert.equal(await store.get('forged/file.txt'), undefined);
    });

    test('the refusal names the problem without revealing the secret', async () => {
      const secret = `secret-${randomBytes(8).toString('hex')}`;
      const impostor = makeS3Store(server, prefix, { AWS_SECRET_ACCESS_KEY: secret });
      try {
        await assert.rejects(impostor.list(''), (error: Error) => {
          assert.match(error.message, /refused the server's credentials/);
          assert.ok(!error.message.includes(secret));
          return true;
        });
      } finally {
        impostor.destroy();
      }
    });

    test('an endpoint nobody listens on is a retryable unavailable error', async () => {
      const port = await closedPort();
      const unreachable = makeS3Store(server, prefix, { MLFLOW_S3_ENDPOINT_URL: `http://127.0.0.1:${port}` });
      try {
        await assertStoreError(unreachable.list(''), 'unavailable');
        await assertStoreError(unreachable.put('x/y.txt', streamOf('y')), 'unavailable');
      } finally {
        unreachable.destroy();
      }
    });

    test('a large upload whose body fails midway leaves no object and no pending multipart upload', async () => {
      // Bigger than one 5 MiB part, so lib-storage takes the multipart path before the body fails.
      await assertStoreError(store.put('interrupted/big.bin', failingStream(12 * 1024 * 1024)), 'incomplete-body');
      assert.equal(await store.stat('interrupted/big.bin'), undefined);
      const pending = await raw.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: `${prefix}/interrupted/` }));
      assert.deepEqual(pending.Uploads ?? [], []);
    });

    test('a part sent without its length is spooled and still joins the upload', async () => {
      const data = randomBytes(100_000);
      const uploadId = await store.createMultipartUpload('spooled/file.bin');
      const etag = await store.uploadPart(uploadId, 1, streamOf(data, 3000));
      await store.completeMultipartUpload('spooled/file.bin', uploadId, [{ partNumber: 1, etag }]);
      const object = await store.get('spooled/file.bin');
      assert.ok(object);
      assert.ok((await readAll(object.stream)).equals(data));
    });

    test('a malformed upload id is refused without a call to the server', async () => {
      await assertStoreError(store.uploadPart('not an id', 1, streamOf('x'), 1), 'invalid-upload');
      await assertStoreError(store.abortMultipartUpload(Buffer.from('["../x","id","token"]').toString('base64url')), 'invalid-upload');
    });
  });
}
