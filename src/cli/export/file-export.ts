import { createHash } from 'node:crypto';
import type { ArtifactOwner, MigrationSource } from '../../domain/import/source.ts';
import { answerText, TrackingApiError } from '../models/tracking-client.ts';
import type { ExportContext } from './export-context.ts';
import { targetFiles } from './target-state.ts';

const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * Streams the files below a source root to the target's artifact proxy, hashing on the way, then
 * checks the target's listing has each file sent with the size sent. With `known: true` (an
 * object an earlier export made) the target's listing is read first and only the files it lacks,
 * or holds with another size, are sent: a second export, or one resumed after a kill, sends no
 * file twice. @returns whether any file was sent
 */
export async function copyFiles(
  ctx: ExportContext,
  source: MigrationSource,
  sourceRoot: string,
  owner: ArtifactOwner,
  targetRoot: string,
  what: string,
  known: boolean,
): Promise<boolean> {
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(targetRoot);
  const base = proxied ? proxied[1]!.replace(/\/+$/, '') : '';
  const present = proxied && known ? await targetFiles(ctx, base) : new Map<string, number>();
  const sent = new Map<string, number>();
  for await (const file of source.listArtifacts(sourceRoot, owner)) {
    if (!proxied) {
      ctx.warn(`The target stores files at ${targetRoot}, which its artifact proxy does not serve: files were not sent (start it with --serve-artifacts).`);
      return false;
    }
    if (file.size !== null && present.get(file.path) === file.size) continue;
    const bytes = await upload(ctx, source, sourceRoot, owner, `${base}/${file.path}`, file, what);
    sent.set(file.path, bytes);
    ctx.totals.files++;
    ctx.totals.bytes += bytes;
  }
  if (sent.size === 0) return false;
  const seen = await targetFiles(ctx, base);
  for (const [path, size] of sent) {
    if (seen.get(path) !== size) throw new Error(`${what}: the target lists '${path}' with ${seen.get(path) ?? 'no'} bytes after ${size} were sent`);
  }
  return true;
}

async function upload(
  ctx: ExportContext,
  source: MigrationSource,
  sourceRoot: string,
  owner: ArtifactOwner,
  target: string,
  file: { path: string; size: number | null; sha256?: string },
  what: string,
): Promise<number> {
  // A PUT of the same bytes to the same path leaves the target as one PUT does: after a broken
  // connection it is sent again, from the source file opened anew.
  let hash = createHash('sha256');
  let bytes = 0;
  const progress = ctx.progress;
  await ctx.retry(async () => {
    const opened = await source.openArtifact(sourceRoot, owner, file.path);
    hash = createHash('sha256');
    bytes = 0;
    async function* body(): AsyncGenerator<Uint8Array> {
      for await (const chunk of opened.stream) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        hash.update(b);
        bytes += b.length;
        progress.bytes(b.length);
        yield b;
      }
    }
    const url = ctx.client.url(`${ARTIFACTS}/${target.split('/').map(encodeURIComponent).join('/')}`);
    try {
      const response = await ctx.client.request(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: body() as unknown as BodyInit,
        duplex: 'half',
      } as RequestInit & { signal?: AbortSignal });
      const text = await answerText(response, `PUT ${file.path}`);
      if (!response.ok) throw new TrackingApiError(`${what}: uploading '${file.path}' failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
    } finally {
      // Closed whether it was read to the end or an attempt broke off in the middle.
      opened.stream.destroy();
    }
  }, true);
  if (file.sha256 && file.sha256 !== hash.digest('hex')) throw new Error(`${what}: '${file.path}' did not match its recorded sha256`);
  if (file.size !== null && file.size !== bytes) throw new Error(`${what}: '${file.path}' had ${bytes} bytes, ${file.size} expected`);
  return bytes;
}
