import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Clean-up of what interrupted uploads leave in a local artifact root's internal folder.
 *
 * - Temp files are named `<host>.<pid>.<random>`, so a starting server can tell the temp files of
 *   a process that died (same host, pid no longer alive: a kill -9 during a PUT) from those of a
 *   live sibling (`--workers`, another server on the same root) and remove the dead ones at once
 *   instead of waiting a day. Names it cannot attribute (another host on a shared disk, older
 *   versions) are removed when they are a day old.
 * - Multipart uploads that were never completed or aborted expire after a configurable time
 *   (TROVE_MULTIPART_UPLOAD_EXPIRY_HOURS, default 24), with their parts.
 */

/** Temp files of unknown owners this old can only be left over from a crash. */
export const STALE_TEMP_AGE_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_MULTIPART_EXPIRY_MS = 24 * 60 * 60 * 1000;

const HOST = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 60) || 'host';

/** A temp file name that says which process owns it. */
export function tempFileName(): string {
  return `${HOST}.${process.pid}.${randomBytes(12).toString('hex')}`;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files of dead processes on this host, and any temp file older than a day.
 * @returns how many were removed
 */
export async function sweepTempFiles(tempDir: string, now: number = Date.now()): Promise<number> {
  const names = await fsp.readdir(tempDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const file = path.join(tempDir, name);
    const owner = /^(.+)\.(\d+)\.[0-9a-f]+$/.exec(name);
    let dead = owner !== null && owner[1] === HOST && !isAlive(Number(owner[2]));
    if (!dead) {
      const info = await fsp.lstat(file).catch(() => undefined);
      dead = info !== undefined && info.mtimeMs < now - STALE_TEMP_AGE_MS;
    }
    if (dead && (await fsp.rm(file, { force: true }).then(() => true, () => false))) removed += 1;
  }
  return removed;
}

export interface PendingUpload {
  uploadId: string;
  /** The artifact path the upload is for. */
  path: string;
  createdAt: number;
  /** Bytes of the parts received so far. */
  bytes: number;
}

/** Every unfinished multipart upload under `multipartDir`, with the bytes its parts hold. */
export async function listPendingUploads(multipartDir: string, manifestName: string): Promise<PendingUpload[]> {
  const ids = await fsp.readdir(multipartDir).catch(() => [] as string[]);
  const uploads: PendingUpload[] = [];
  for (const uploadId of ids) {
    const dir = path.join(multipartDir, uploadId);
    let manifest: { path?: unknown; createdAt?: unknown };
    try {
      manifest = JSON.parse(await fsp.readFile(path.join(dir, manifestName), 'utf8')) as typeof manifest;
    } catch {
      // Half-created (a crash between mkdir and the manifest): only its age can expire it.
      const info = await fsp.stat(dir).catch(() => undefined);
      if (info) uploads.push({ uploadId, path: '', createdAt: info.mtimeMs, bytes: 0 });
      continue;
    }
    let bytes = 0;
    for (const entry of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isFile() && entry.name !== manifestName) bytes += (await fsp.stat(path.join(dir, entry.name)).catch(() => ({ size: 0 }))).size;
    }
    uploads.push({ uploadId, path: typeof manifest.path === 'string' ? manifest.path : '', createdAt: Number(manifest.createdAt) || 0, bytes });
  }
  return uploads;
}

/**
 * Removes multipart uploads created more than `maxAgeMs` ago.
 * @returns how many were removed
 */
export async function expireUploads(multipartDir: string, manifestName: string, maxAgeMs: number, now: number = Date.now()): Promise<number> {
  let removed = 0;
  for (const upload of await listPendingUploads(multipartDir, manifestName)) {
    if (upload.createdAt >= now - maxAgeMs) continue;
    await fsp.rm(path.join(multipartDir, upload.uploadId), { recursive: true, force: true }).catch(() => undefined);
    removed += 1;
  }
  return removed;
}
