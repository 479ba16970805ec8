import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from './artifact-store.ts';
import { LocalArtifactStore } from './local-artifact-store.ts';
import { parseS3Uri, S3ArtifactStore, s3ClientConfig } from './s3-artifact-store.ts';

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
    const store = new S3ArtifactStore({ bucket, prefix, client: s3ClientConfig(env) });
    const endpoint = env.MLFLOW_S3_ENDPOINT_URL ? ` at ${env.MLFLOW_S3_ENDPOINT_URL}` : '';
    return { store, description: `${store.describe()}${endpoint}`, close: () => store.destroy() };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination) && !destination.startsWith('file://')) {
    throw new Error(`Unsupported artifacts destination '${destination}'. Expected a folder, file:///<path> or s3://<bucket>/<prefix>.`);
  }
  const root = path.resolve(destination.startsWith('file://') ? fileURLToPath(destination) : destination);
  const expiryHours = Number(env.TROVE_MULTIPART_UPLOAD_EXPIRY_HOURS);
  const multipartExpiryMs = env.TROVE_MULTIPART_UPLOAD_EXPIRY_HOURS && expiryHours > 0 ? expiryHours * 60 * 60 * 1000 : undefined;
  return { store: new LocalArtifactStore(root, multipartExpiryMs === undefined ? {} : { multipartExpiryMs }), description: root, close: () => undefined };
}
