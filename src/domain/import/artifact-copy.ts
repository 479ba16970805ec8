import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import type { OpenedArtifact } from './source.ts';

/** Counts and hashes the bytes streaming through, without holding them. */
export class ChecksumStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly onBytes: (n: number) => void = () => undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface CopiedFile {
  bytes: number;
  sha256: string;
}

/**
 * Streams one source file into the artifact store at `targetPath` (atomically: the store writes a
 * temporary object and renames it), checking the byte count against what the source announced
 * and, when given, the SHA-256 against `expectedSha256`. A mismatch leaves nothing behind.
 */
export async function copyArtifact(
  store: ArtifactStore,
  opened: OpenedArtifact,
  targetPath: string,
  options: { expectedSize?: number | null; expectedSha256?: string | null; onBytes?: (n: number) => void } = {},
): Promise<CopiedFile> {
  const counter = new ChecksumStream(options.onBytes);
  opened.stream.on('error', (error) => counter.destroy(error));
  // The store's put reports a failed body; its error event may come after the store stopped listening.
  counter.on('error', () => undefined);
  opened.stream.pipe(counter);
  const size = options.expectedSize ?? opened.size ?? undefined;
  try {
    await store.put(targetPath, counter, size ?? undefined);
  } catch (error) {
    // The store may give up before reading a byte: the source must not stay open waiting.
    opened.stream.destroy();
    throw error;
  }
  const sha256 = counter.digest();
  if (options.expectedSha256 && options.expectedSha256 !== sha256) {
    await store.delete(targetPath);
    throw new Error(`checksum mismatch for ${targetPath}: expected sha256 ${options.expectedSha256}, got ${sha256}`);
  }
  return { bytes: counter.bytes, sha256 };
}
