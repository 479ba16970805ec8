import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { ArtifactEntry, ArtifactObject, ArtifactStat, ArtifactStore, CompletedPart } from './artifact-store.ts';
import { LocalArtifactStore } from './local-artifact-store.ts';
import type { S3ArtifactStore } from './s3-artifact-store.ts';
import { parseS3Uri } from './s3-uri.ts';

export interface OpenedArtifactStore {
  store: ArtifactStore;
  /** Where artifacts go, safe to print (no credentials). */
  description: string;
  /** Releases connections; the store must not be used afterwards. */
  close(): void;
}

/**
 * The artifact store for `--artifacts-destination`: `s3://bucket/prefix` is S3 or an S3-compatible
 * service configured from `env` (see {@link s3ClientConfig}); a folder path or `file://` URI is
 * local disk.
 */
export function openArtifactStore(destination: string, env: NodeJS.ProcessEnv = process.env): OpenedArtifactStore {
  if (destination.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Uri(destination);
    const store = new DeferredS3ArtifactStore(bucket, prefix, env);
    const endpoint = env.MLFLOW_S3_ENDPOINT_URL ? ` at ${env.MLFLOW_S3_ENDPOINT_URL}` : '';
    return { store, description: `s3://${bucket}/${prefix}${endpoint}`, close: () => store.destroy() };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith('file://')) {
    throw new Error(`Unsupported artifacts destination '${destination}'. Expected a folder, file:///<path> or s3://<bucket>/<prefix>.`);
  }
  const root = path.resolve(destination.startsWith('file://') ? fileURLToPath(destination) : destination);
  const expiryHours = Number(env.TROVE_MULTIPART_UPLOAD_EXPIRY_HOURS);
  const multipartExpiryMs = env.TROVE_MULTIPART_UPLOAD_EXPIRY_HOURS && expiryHours > 0 ? expiryHours * 60 * 60 * 1000 : undefined;
  return { store: new LocalArtifactStore(root, multipartExpiryMs === undefined ? {} : { multipartExpiryMs }), description: root, close: () => undefined };
}

/**
 * The S3 store, with the AWS SDK (about 20 MiB of memory, docs/memory.md) loaded at the first
 * artifact operation instead of at startup, so opening it (and every CLI command that never
 * touches artifacts) costs nothing. The settings are read from `env` right away, as before.
 */
class DeferredS3ArtifactStore implements ArtifactStore {
  private loading: Promise<S3ArtifactStore> | undefined;
  private loaded: S3ArtifactStore | undefined;
  private destroyed = false;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    env: NodeJS.ProcessEnv,
  ) {
    // Copied now: the environment a caller passed may change before the first use.
    this.env = { ...env };
  }

  private store(): Promise<S3ArtifactStore> {
    this.loading ??= import('./s3-artifact-store.ts').then(({ S3ArtifactStore, s3ClientConfig }) => {
      if (this.destroyed) throw new Error('The S3 artifact store was closed.');
      this.loaded = new S3ArtifactStore({ bucket: this.bucket, prefix: this.prefix, client: s3ClientConfig(this.env) });
      return this.loaded;
    });
    return this.loading;
  }

  async put(relativePath: string, body: Readable, expectedSize?: number): Promise<void> {
    return (await this.store()).put(relativePath, body, expectedSize);
  }
  async get(relativePath: string): Promise<ArtifactObject | undefined> {
    return (await this.store()).get(relativePath);
  }
  async stat(relativePath: string): Promise<ArtifactStat | undefined> {
    return (await this.store()).stat(relativePath);
  }
  async list(relativeDir: string): Promise<ArtifactEntry[]> {
    return (await this.store()).list(relativeDir);
  }
  async delete(relativePath: string): Promise<void> {
    return (await this.store()).delete(relativePath);
  }
  async createMultipartUpload(relativePath: string): Promise<string> {
    return (await this.store()).createMultipartUpload(relativePath);
  }
  async uploadPart(uploadId: string, partNumber: number, body: Readable, expectedSize?: number): Promise<string> {
    return (await this.store()).uploadPart(uploadId, partNumber, body, expectedSize);
  }
  async completeMultipartUpload(relativePath: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    return (await this.store()).completeMultipartUpload(relativePath, uploadId, parts);
  }
  async abortMultipartUpload(uploadId: string): Promise<void> {
    return (await this.store()).abortMultipartUpload(uploadId);
  }
  async copyPrefix(fromDir: string, toDir: string): Promise<void> {
    return (await this.store()).copyPrefix(fromDir, toDir);
  }

  /** Releases the clients' sockets, if the SDK was ever loaded. */
  destroy(): void {
    this.destroyed = true;
    this.loaded?.destroy();
  }
}
