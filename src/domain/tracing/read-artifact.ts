import type { ArtifactService } from '../artifacts/artifact-service.ts';

/** Trace artifacts bigger than this are not read into memory (they would not be served anyway). */
const MAX_TRACE_ARTIFACT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a small file under an `mlflow-artifacts:` URI through the artifact proxy's store, as
 * text; undefined when the URI is elsewhere (a client-side store the server cannot reach), the
 * file is missing or too large.
 */
export async function readProxiedArtifact(artifacts: ArtifactService, uri: string): Promise<string | undefined> {
  const match = /^mlflow-artifacts:\/*(.*)$/.exec(uri);
  if (!match) return undefined;
  let download;
  try {
    download = await artifacts.download(match[1]!);
  } catch {
    return undefined;
  }
  if (download.size > MAX_TRACE_ARTIFACT_BYTES) {
    download.stream.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of download.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}
