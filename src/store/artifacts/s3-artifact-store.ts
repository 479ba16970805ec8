import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  ArtifactStoreError,
  type ArtifactEntry,
  type ArtifactObject,
  type ArtifactStat,
  type ArtifactStore,
  type CompletedPart,
} from './artifact-store.ts';

/** S3's limits: part numbers 1..10000, parts of at least 5 MiB except the last. */
const MAX_PART_NUMBER = 10_000;
const MIN_PART_SIZE = 5 * 1024 * 1024;
/**
 * Parts lib-storage uploads at once for one put(); it buffers at most queueSize × partSize. Two
 * keep a 1 GiB upload through the proxy at about 40 MiB of extra memory (four: about 75 MiB) at
 * the same throughput against a local S3-compatible server.
 */
const PUT_QUEUE_SIZE = 2;
/** Keys per DeleteObjects request (S3's maximum). */
const DELETE_BATCH = 1000;
/** CopyObject requests in flight during copyPrefix. */
const COPY_CONCURRENCY = 8;
const SILENT_LOGGER = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/** User metadata naming the multipart upload an object was completed from. */
const UPLOAD_TOKEN_METADATA = 'trove-upload';

/** Where an S3 artifact store keeps its objects, and how to reach the service. */
export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing `/`; `''` for the bucket's top. */
  prefix: string;
  /** The S3 client settings (endpoint, region, credentials); see {@link s3ClientConfig}. */
  client: S3ClientConfig;
}

export { parseS3Uri } from './s3-uri.ts';

/**
 * The S3 client settings, from the environment variables MLflow users already set:
 * `MLFLOW_S3_ENDPOINT_URL` (an S3-compatible service such as MinIO, Ceph or Swift),
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), and `AWS_DEFAULT_REGION`
 * or `AWS_REGION`. Without keys in the environment the SDK's default chain (profiles, instance
 * roles) applies.
 *
 * Checksums are computed and validated only where S3 requires them: by default the SDK sends
 * streaming bodies `aws-chunked` with trailing CRC checksums, which S3-compatible services such as
 * Swift refuse and some silently store framed. A custom endpoint gets path-style addressing
 * (`endpoint/bucket/key`), since such services rarely have a DNS name per bucket; AWS itself keeps
 * the virtual-hosted style it prefers.
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.MLFLOW_S3_ENDPOINT_URL || undefined;
  const config: S3ClientConfig = {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: endpoint !== undefined,
    requestHandler: {
      // Downloads hold a connection for as long as the client reads; the SDK's default of 50
      // sockets would make the 51st concurrent request of any kind wait for one.
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 512 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 512 }),
      // An unreachable endpoint should fail a request quickly (as a retryable 503), not hang it.
      connectionTimeout: 5_000,
    },
  };
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config;
}

/**
 * An {@link ArtifactStore} on S3 or an S3-compatible service: artifact `a/b/c.txt` is the object
 * `<prefix>/a/b/c.txt` in one bucket, and folders exist only as key prefixes.
 *
 * - put() streams through lib-storage: a small body becomes one PutObject, a large one a
 *   multipart upload of buffered parts (at most {@link PUT_QUEUE_SIZE} parts in memory), which S3
 *   makes visible only when complete. A body that fails or has the wrong length aborts it, so
 *   nothing is stored and the previous object stays.
 * - The multipart API maps onto S3's own; the upload id handed out carries the artifact path and
 *   S3's upload id, so uploadPart (which gets no path) can address the part. Parts of an upload
 *   are invisible in listings until completion, as the contract wants.
 * - Files and folders cannot collide in S3's flat key space, so put() checks (with HEAD and
 *   one-key listings, in parallel) that no ancestor is a file and the target is not a folder.
 *
 * S3 errors become ArtifactStoreErrors: missing keys and uploads `not-found`, throttling, 5xx
 * and network failures `unavailable` (a retryable 503), refused credentials `access-denied`.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  /**
   * For requests whose body is a one-shot stream: the SDK's retry would resend an already
   * consumed stream, so these get a single attempt and the client retries the whole request.
   */
  private readonly streamingClient: S3Client;

  constructor(options: S3ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.client = withContentMd5ForDeletes(new S3Client(options.client));
    // The SDK warns on the console when a streaming request fails, which the store already
    // reports as an ArtifactStoreError; its own logger would stay quiet, so it gets a silent one.
    this.streamingClient = new S3Client({ ...options.client, maxAttempts: 1, logger: SILENT_LOGGER });
  }

  /** A description safe to print: the bucket and prefix, never credentials. */
  describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(relativePath: string, body: Readable, expectedSize?: number): Promise<void> {
    const segments = checkRelativePath(relativePath, false);
    // Fail before reading a byte when the target can never be written.
    await this.assertWritable(segments);
    const key = this.key(segments);
    const meter = new ByteMeter(expectedSize);
    let bodyFailed = false;
    let uploadFailed = false;
    const feeding = pipeline(body, meter).catch((error: unknown) => {
      if (!uploadFailed && !(error instanceof ArtifactStoreError)) bodyFailed = true;
      throw error;
    });
    const partSize = Math.max(MIN_PART_SIZE, Math.ceil((expectedSize ?? 0) / MAX_PART_NUMBER));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: meter },
      partSize,
      queueSize: PUT_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const [sent, fed] = await Promise.allSettled([
      upload.done().catch((error: unknown) => {
        uploadFailed = true;
        meter.destroy();
        throw error;
      }),
      feeding,
    ]);
    if (fed.status === 'rejected' && fed.reason instanceof ArtifactStoreError) throw fed.reason;
    if (bodyFailed || meter.overflowed) {
      throw new ArtifactStoreError('incomplete-body', 'The upload was interrupted before it completed.', {
        cause: fed.status === 'rejected' ? fed.reason : undefined,
      });
    }
    if (sent.status === 'rejected') throw toStoreError(sent.reason, relativePath);
  }

  async get(relativePath: string): Promise<ArtifactObject | undefined> {
    const segments = checkRelativePath(relativePath, false);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(segments) }));
      const size = response.ContentLength ?? 0;
      const stream = response.Body instanceof Readable ? response.Body : Readable.from([]);
      return { stream, size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toStoreError(error, relativePath);
    }
  }

  async stat(relativePath: string): Promise<ArtifactStat | undefined> {
    const segments = checkRelativePath(relativePath, true);
    if (segments.length === 0) return { isDir: true };
    const [size, isFolder] = await Promise.all([this.headSize(segments), this.hasChildren(segments)]);
    if (size !== undefined) return { isDir: false, size };
    return isFolder ? { isDir: true } : undefined;
  }

  async list(relativeDir: string): Promise<ArtifactEntry[]> {
    const segments = checkRelativePath(relativeDir, true);
    const prefix = this.folderPrefix(segments);
    const entries: ArtifactEntry[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
        );
        for (const common of page.CommonPrefixes ?? []) {
          const name = (common.Prefix ?? '').slice(prefix.length).replace(/\/$/, '');
          if (isEntryName(name)) entries.push({ name, isDir: true });
        }
        for (const object of page.Contents ?? []) {
          const name = (object.Key ?? '').slice(prefix.length);
          // A zero-byte `folder/` marker some tools create has an empty name here: skip it.
          if (isEntryName(name)) entries.push({ name, isDir: false, size: object.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw toStoreError(error, relativeDir);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(relativePath: string): Promise<void> {
    const segments = checkRelativePath(relativePath, false);
    const key = this.key(segments);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      let batch: string[] = [];
      for await (const childKey of this.keysUnder(segments)) {
        batch.push(childKey);
        if (batch.length === DELETE_BATCH) {
          await this.deleteKeys(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await this.deleteKeys(batch);
    } catch (error) {
      throw toStoreError(error, relativePath);
    }
  }

  async createMultipartUpload(relativePath: string): Promise<string> {
    const segments = checkRelativePath(relativePath, false);
    await this.assertWritable(segments);
    const token = randomBytes(12).toString('hex');
    try {
      const response = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(segments), Metadata: { [UPLOAD_TOKEN_METADATA]: token } }),
      );
      if (!response.UploadId) throw new ArtifactStoreError('io', 'The artifact storage returned no upload id.');
      return encodeUploadId({ path: segments.join('/'), s3UploadId: response.UploadId, token });
    } catch (error) {
      throw toStoreError(error, relativePath);
    }
  }

  async uploadPart(uploadId: string, partNumber: number, body: Readable, expectedSize?: number): Promise<string> {
    const upload = decodeUploadId(uploadId);
    checkPartNumber(partNumber);
    const key = this.key(upload.segments);
    await this.assertNotCompleted(upload, uploadId);
    // S3 needs each part's length up front. The MLflow client always sends one; otherwise the part
    // is spooled to a temporary file first.
    if (expectedSize === undefined) return this.uploadSpooledPart(upload.s3UploadId, key, partNumber, body);
    return this.uploadStreamedPart(upload.s3UploadId, key, partNumber, body, expectedSize);
  }

  async completeMultipartUpload(relativePath: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const segments = checkRelativePath(relativePath, false);
    const upload = decodeUploadId(uploadId);
    const wanted = segments.join('/');
    if (upload.segments.join('/') !== wanted) {
      throw new ArtifactStoreError('invalid-upload', `Upload ${uploadId} is for '${upload.segments.join('/')}', not '${wanted}'.`);
    }
    const ordered = checkPartList(parts);
    await this.assertWritable(segments);
    await this.assertNotCompleted(upload, uploadId);
    const key = this.key(segments);
    try {
      // The stored parts' etags: the client may omit them, and a mismatch is refused here with the
      // contract's error rather than whatever the service would say.
      const stored = await this.listParts(key, upload.s3UploadId);
      const completed = ordered.map((part) => {
        const etag = stored.get(part.partNumber);
        if (etag === undefined) {
          throw new ArtifactStoreError('invalid-upload', `Part ${part.partNumber} of the upload was never uploaded.`);
        }
        if (part.etag !== undefined && part.etag !== '' && normaliseEtag(part.etag) !== etag) {
          throw new ArtifactStoreError('invalid-upload', `The etag of part ${part.partNumber} does not match the uploaded part.`);
        }
        return { PartNumber: part.partNumber, ETag: `"${etag}"` };
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: upload.s3UploadId,
          MultipartUpload: { Parts: completed },
        }),
      );
    } catch (error) {
      throw toStoreError(error, `upload ${uploadId}`);
    }
  }

  async abortMultipartUpload(uploadId: string): Promise<void> {
    const upload = decodeUploadId(uploadId);
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(upload.segments), UploadId: upload.s3UploadId }),
      );
    } catch (error) {
      // Already aborted or completed: aborting again succeeds, as the contract asks.
      if (isMissing(error)) return;
      throw toStoreError(error, `upload ${uploadId}`);
    }
  }

  /**
   * Server-side copies, {@link COPY_CONCURRENCY} at a time. CopyObject handles objects up to 5 GiB;
   * a larger one fails with `io` (S3 would need a multipart UploadPartCopy).
   */
  async copyPrefix(fromDir: string, toDir: string): Promise<void> {
    const from = checkRelativePath(fromDir, false);
    const to = checkRelativePath(toDir, false);
    if (isSegmentPrefix(from, to) || isSegmentPrefix(to, from)) {
      throw new ArtifactStoreError('invalid-path', `Cannot copy '${fromDir}' into an overlapping folder '${toDir}'.`);
    }
    const sourcePrefix = this.folderPrefix(from);
    const targetPrefix = this.folderPrefix(to);
    try {
      const keys: string[] = [];
      for await (const key of this.keysUnder(from)) keys.push(key);
      if (keys.length === 0) throw new ArtifactStoreError('not-found', `No artifact folder at '${fromDir}'.`);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < keys.length) {
          const key = keys[next++] as string;
          await this.client.send(
            new CopyObjectCommand({
              Bucket: this.bucket,
              Key: targetPrefix + key.slice(sourcePrefix.length),
              CopySource: `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
            }),
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, keys.length) }, worker));
    } catch (error) {
      throw toStoreError(error, fromDir);
    }
  }

  /** Releases the clients' sockets. */
  destroy(): void {
    this.client.destroy();
    this.streamingClient.destroy();
  }

  // --- keys ---------------------------------------------------------------------------------

  private key(segments: string[]): string {
    const relative = segments.join('/');
    return this.prefix === '' ? relative : `${this.prefix}/${relative}`;
  }

  /** The key prefix of a folder's children, with its trailing `/` (`''` or `prefix/` for the root). */
  private folderPrefix(segments: string[]): string {
    if (segments.length === 0) return this.prefix === '' ? '' : `${this.prefix}/`;
    return `${this.key(segments)}/`;
  }

  /** Every key below a folder, page by page. */
  private async *keysUnder(segments: string[]): AsyncGenerator<string> {
    const prefix = this.folderPrefix(segments);
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    const response = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
    const failed = (response.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0) {
      const first = failed[0];
      throw new ArtifactStoreError('io', `Deleting ${failed.length} objects failed (${first?.Code ?? 'unknown'}: ${first?.Message ?? ''}).`);
    }
  }

  private async headSize(segments: string[]): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(segments) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toStoreError(error, segments.join('/'));
    }
  }

  private async hasChildren(segments: string[]): Promise<boolean> {
    try {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.folderPrefix(segments), MaxKeys: 1 }),
      );
      return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
    } catch (error) {
      throw toStoreError(error, segments.join('/'));
    }
  }

  /**
   * S3 would happily store `a/b` next to a file `a`, or a file `a` over a folder `a/`; on disk
   * (and in the MLflow client's view) neither is possible, so both are refused as `conflict`.
   */
  private async assertWritable(segments: string[]): Promise<void> {
    const ancestors = segments.slice(0, -1).map((_, index) => segments.slice(0, index + 1));
    const [ancestorSizes, isFolder] = await Promise.all([
      Promise.all(ancestors.map((ancestor) => this.headSize(ancestor))),
      this.hasChildren(segments),
    ]);
    const fileIndex = ancestorSizes.findIndex((size) => size !== undefined);
    if (fileIndex >= 0) {
      const file = (ancestors[fileIndex] ?? []).join('/');
      throw new ArtifactStoreError('conflict', `Cannot write '${segments.join('/')}': '${file}' is a file.`);
    }
    if (isFolder) throw new ArtifactStoreError('conflict', `Cannot write '${segments.join('/')}': it is a folder.`);
  }

  // --- multipart parts ----------------------------------------------------------------------

  /**
   * S3 forgets an upload once it is completed, so a late part is refused as NoSuchUpload. Swift's
   * s3api keeps accepting parts (and listing them) for a while after completion; the completed
   * object carries the upload's token in its metadata, which tells such a late call apart.
   */
  private async assertNotCompleted(upload: DecodedUploadId, uploadId: string): Promise<void> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(upload.segments) }));
      if (head.Metadata?.[UPLOAD_TOKEN_METADATA] === upload.token) {
        throw new ArtifactStoreError('not-found', `Multipart upload ${uploadId.slice(0, 100)} does not exist.`);
      }
    } catch (error) {
      if (isMissing(error)) return;
      throw toStoreError(error, `upload ${uploadId.slice(0, 100)}`);
    }
  }

  private async uploadStreamedPart(
    s3UploadId: string,
    key: string,
    partNumber: number,
    body: Readable,
    expectedSize: number,
  ): Promise<string> {
    const meter = new ByteMeter(expectedSize);
    const abort = new AbortController();
    let bodyFailed = false;
    let sendFailed = false;
    const feeding = pipeline(body, meter).catch((error: unknown) => {
      if (!sendFailed && !(error instanceof ArtifactStoreError)) bodyFailed = true;
      // The request is mid-flight with a body that will never complete: cut it off.
      abort.abort();
      throw error;
    });
    const [sent, fed] = await Promise.allSettled([
      this.streamingClient
        .send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: s3UploadId,
            PartNumber: partNumber,
            Body: meter,
            ContentLength: expectedSize,
          }),
          { abortSignal: abort.signal },
        )
        .catch((error: unknown) => {
          sendFailed = true;
          meter.destroy();
          throw error;
        }),
      feeding,
    ]);
    if (fed.status === 'rejected' && fed.reason instanceof ArtifactStoreError) throw fed.reason;
    if (bodyFailed || meter.overflowed) {
      throw new ArtifactStoreError('incomplete-body', 'The part upload was interrupted before it completed.', {
        cause: fed.status === 'rejected' ? fed.reason : undefined,
      });
    }
    if (sent.status === 'rejected') throw toStoreError(sent.reason, `part ${partNumber}`);
    return normaliseEtag(sent.value.ETag ?? meter.digest());
  }

  private async uploadSpooledPart(s3UploadId: string, key: string, partNumber: number, body: Readable): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trove-s3-part-'));
    const file = path.join(dir, 'part');
    try {
      try {
        await pipeline(body, fs.createWriteStream(file));
      } catch (error) {
        throw new ArtifactStoreError('incomplete-body', 'The part upload was interrupted before it completed.', { cause: error });
      }
      const { size } = await fsp.stat(file);
      return await this.uploadStreamedPart(s3UploadId, key, partNumber, fs.createReadStream(file), size);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Part number → etag (unquoted, lower case) of every part stored so far. */
  private async listParts(key: string, s3UploadId: string): Promise<Map<number, string>> {
    const parts = new Map<number, string>();
    let marker: string | undefined;
    do {
      const page = await this.client.send(
        new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: s3UploadId, PartNumberMarker: marker }),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber !== undefined && part.ETag) parts.set(part.PartNumber, normaliseEtag(part.ETag));
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }
}

/**
 * S3 demands a Content-MD5 header on DeleteObjects. Recent SDKs send a CRC32 checksum header
 * instead (with WHEN_REQUIRED as well), which S3 accepts but S3-compatible services such as Swift
 * refuse ("Missing required header for this request: Content-MD5"). This adds the MD5 before the
 * request is signed.
 */
function withContentMd5ForDeletes(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === 'DeleteObjectsCommand' && request.headers && typeof request.body === 'string') {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'troveContentMd5ForDeleteObjects' },
  );
  return client;
}

/** Counts (and hashes) the bytes going through, refusing more or fewer than announced. */
class ByteMeter extends Transform {
  bytes = 0;
  overflowed = false;
  private readonly hash = createHash('md5');

  constructor(private readonly limit: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytes += buffer.length;
    if (this.limit !== undefined && this.bytes > this.limit) {
      this.overflowed = true;
      callback(new ArtifactStoreError('incomplete-body', `The body is longer than the ${this.limit} bytes announced.`));
      return;
    }
    this.hash.update(buffer);
    callback(null, buffer);
  }

  override _flush(callback: TransformCallback): void {
    if (this.limit !== undefined && this.bytes !== this.limit) {
      callback(new ArtifactStoreError('incomplete-body', `The body had ${this.bytes} bytes but ${this.limit} were announced.`));
      return;
    }
    callback();
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

// --- upload ids ---------------------------------------------------------------------------------

interface DecodedUploadId {
  segments: string[];
  s3UploadId: string;
  /** Random token also stored in the completed object's metadata. */
  token: string;
}

/**
 * The id handed to clients: base64url of `[path, s3UploadId, token]`. It is not a secret and
 * needs no signature: S3 only accepts a part for the key its upload was created with, and the
 * path inside is checked like any client path.
 */
function encodeUploadId(upload: { path: string; s3UploadId: string; token: string }): string {
  return Buffer.from(JSON.stringify([upload.path, upload.s3UploadId, upload.token]), 'utf8').toString('base64url');
}

function decodeUploadId(uploadId: string): DecodedUploadId {
  const invalid = (): ArtifactStoreError => new ArtifactStoreError('invalid-upload', `Invalid upload id '${uploadId.slice(0, 100)}'.`);
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(uploadId)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(uploadId, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !parsed.every((part) => typeof part === 'string' && part !== '')
  ) {
    throw invalid();
  }
  const [relativePath, s3UploadId, token] = parsed as [string, string, string];
  let segments: string[];
  try {
    segments = checkRelativePath(relativePath, false);
  } catch {
    throw invalid();
  }
  return { segments, s3UploadId, token };
}

// --- validation -----------------------------------------------------------------------------------

/** The same path rules as the local store: relative, `/`-separated, no empty, `.` or `..` segments. */
function checkRelativePath(relativePath: string, allowRoot: boolean): string[] {
  if (relativePath === '') {
    if (allowRoot) return [];
    throw invalidPath(relativePath);
  }
  if (
    relativePath.includes('\0') ||
    relativePath.includes('\\') ||
    relativePath.startsWith('/') ||
    /^[A-Za-z]:/.test(relativePath)
  ) {
    throw invalidPath(relativePath);
  }
  const segments = relativePath.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) throw invalidPath(relativePath);
  return segments;
}

function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new ArtifactStoreError('invalid-upload', `Part number must be an integer from 1 to ${MAX_PART_NUMBER}, got ${partNumber}.`);
  }
}

function checkPartList(parts: CompletedPart[]): CompletedPart[] {
  if (parts.length === 0) throw new ArtifactStoreError('invalid-upload', 'A multipart upload needs at least one part.');
  const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  ordered.forEach((part, index) => {
    checkPartNumber(part.partNumber);
    if (index > 0 && ordered[index - 1]?.partNumber === part.partNumber) {
      throw new ArtifactStoreError('invalid-upload', `Part ${part.partNumber} is listed twice.`);
    }
  });
  return ordered;
}

function isEntryName(name: string): boolean {
  return name !== '' && !name.includes('/');
}

function isSegmentPrefix(prefix: string[], segments: string[]): boolean {
  return prefix.length <= segments.length && prefix.every((segment, index) => segments[index] === segment);
}

/** S3 etags arrive quoted (`"abc"`) and sometimes weak (`W/"abc"`). */
function normaliseEtag(etag: string): string {
  return etag.trim().replace(/^W\//i, '').replace(/^"(.*)"$/, '$1').toLowerCase();
}

function invalidPath(relativePath: string): ArtifactStoreError {
  return new ArtifactStoreError('invalid-path', `Invalid artifact path '${relativePath}'.`);
}

// --- error conversion -----------------------------------------------------------------------------

interface S3ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function s3ErrorName(error: unknown): string {
  const e = (error ?? {}) as S3ErrorShape;
  return e.Code ?? e.code ?? e.name ?? '';
}

function s3Status(error: unknown): number | undefined {
  return ((error ?? {}) as S3ErrorShape).$metadata?.httpStatusCode;
}

function isMissing(error: unknown): boolean {
  const name = s3ErrorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload' || (s3Status(error) === 404 && name !== 'NoSuchBucket');
}

const ACCESS_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
]);

const RETRYABLE_ERRORS = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Converts an S3 (or network) error into the store's vocabulary; the original stays the cause for
 * the server log. Messages name the S3 error code only: never a key, a signature or a secret.
 */
export function toStoreError(error: unknown, subject: string): ArtifactStoreError {
  if (error instanceof ArtifactStoreError) return error;
  const name = s3ErrorName(error);
  const status = s3Status(error);
  if (isMissing(error)) return new ArtifactStoreError('not-found', `No artifact at '${subject}'.`, { cause: error });
  if (name === 'KeyTooLongError' || name === 'InvalidObjectName') {
    return new ArtifactStoreError('invalid-path', `Invalid path: the artifact storage refused the name (${name}).`, { cause: error });
  }
  if (name === 'QuotaExceeded' || name === 'InsufficientStorage' || status === 507) {
    return new ArtifactStoreError('storage-full', `The artifact storage is full (${name || 'HTTP 507'}); nothing was written. Free space (or raise the quota) and retry.`, { cause: error });
  }
  if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall') {
    return new ArtifactStoreError('invalid-upload', `The artifact storage refused the parts of the upload (${name}).`, { cause: error });
  }
  if (ACCESS_ERRORS.has(name) || status === 401 || status === 403) {
    return new ArtifactStoreError(
      'access-denied',
      `The artifact storage refused the server's credentials (${name || `HTTP ${status}`}); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's permissions.`,
      { cause: error },
    );
  }
  const systemCode = (error as { code?: unknown } | null)?.code;
  if (
    RETRYABLE_ERRORS.has(name) ||
    (typeof systemCode === 'string' && NETWORK_ERRORS.has(systemCode)) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (status === undefined && (error as S3ErrorShape | null)?.$retryable !== undefined)
  ) {
    return new ArtifactStoreError('unavailable', `The artifact storage is temporarily unavailable (${name || systemCode || `HTTP ${status}`}).`, {
      cause: error,
    });
  }
  if (name === 'NoSuchBucket') {
    return new ArtifactStoreError('io', 'The artifact storage bucket does not exist.', { cause: error });
  }
  return new ArtifactStoreError('io', `The artifact storage failed (${name || 'unknown error'}).`, { cause: error });
}
