import { createHash, randomBytes, type Hash } from 'node:crypto';
import { constants as fsConstants, type Dirent } from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactStoreError,
  type ArtifactEntry,
  type ArtifactObject,
  type ArtifactStat,
  type ArtifactStore,
  type CompletedPart,
} from './artifact-store.ts';
import { DEFAULT_MULTIPART_EXPIRY_MS, expireUploads, listPendingUploads, sweepTempFiles, tempFileName } from './local-upload-housekeeping.ts';

/**
 * Hidden folder inside the root for everything that must never be visible as an artifact:
 * temporary files of in-flight writes and multipart upload state. It lives inside the root (not
 * in the system temp dir) so that the final rename never crosses a filesystem boundary, which
 * would make it a non-atomic copy. No client path can name it and list() never shows it.
 */
export const INTERNAL_DIR_NAME = '.trove-uploads';
const TEMP_DIR_NAME = 'tmp';
const MULTIPART_DIR_NAME = 'multipart';
const UPLOAD_MANIFEST = 'upload.json';

/** S3's limit, which the MLflow client's chunking respects. */
const MAX_PART_NUMBER = 10_000;
const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}$/;

/** O_NOFOLLOW where the platform has it (not on Windows, where symlinks need privileges anyway). */
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

interface UploadManifest {
  path: string;
  createdAt: number;
}

/** A relative path checked and placed under the real root. */
interface Located {
  root: string;
  segments: string[];
  /** Lexical absolute path: real root + segments. Symlinks below the root are not resolved yet. */
  absolute: string;
}

/** A temp file written completely and fsynced, waiting to be renamed into place. */
interface TempFile {
  path: string;
  size: number;
  md5: string;
}

/**
 * An {@link ArtifactStore} on local disk under one root folder (created if missing).
 *
 * Safety: every path is checked segment by segment, joined to the root's real path, and the
 * real path of whatever part of it exists is required to stay inside the root, so a symlink
 * planted inside the root cannot lead reads, writes or deletes outside it.
 *
 * Durability: writes stream into a temp file under {@link INTERNAL_DIR_NAME}, are fsynced, renamed
 * over the target and the target folder is fsynced; readers see the old file or the new one,
 * never a torn one, and a crash leaves at most a temp file that the next start removes.
 */
export class LocalArtifactStore implements ArtifactStore {
  /** The root folder as configured (absolute). */
  readonly rootPath: string;
  private ready: Promise<string> | undefined;
  private readonly multipartExpiryMs: number;

  constructor(rootPath: string, options: { multipartExpiryMs?: number } = {}) {
    this.rootPath = path.resolve(rootPath);
    this.multipartExpiryMs = options.multipartExpiryMs ?? DEFAULT_MULTIPART_EXPIRY_MS;
  }

  async put(relativePath: string, body: Readable, expectedSize?: number): Promise<void> {
    const located = await this.locate(relativePath, false);
    // Fail before reading a byte when the target can never be written.
    await this.assertWritableParent(located);
    const temp = await this.writeTemp(located.root, body, expectedSize);
    await this.moveIntoPlace(temp.path, located);
  }

  async get(relativePath: string): Promise<ArtifactObject | undefined> {
    const located = await this.locate(relativePath, false);
    const real = await this.existingRealPath(located);
    if (real === undefined) return undefined;
    let handle: FileHandle;
    try {
      // The real path has no symlinks left; O_NOFOLLOW refuses one swapped in since the check.
      handle = await fsp.open(real, fsConstants.O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ELOOP') return undefined;
      throw toStoreError(error, relativePath);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return undefined;
      }
      if (info.size === 0) {
        await handle.close();
        return { stream: Readable.from([]), size: 0 };
      }
      // Bounded by the size seen at open, so the stream's length always equals `size`.
      const stream = handle.createReadStream({ start: 0, end: info.size - 1 });
      return { stream, size: info.size };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw toStoreError(error, relativePath);
    }
  }

  async stat(relativePath: string): Promise<ArtifactStat | undefined> {
    const located = await this.locate(relativePath, true);
    const real = await this.existingRealPath(located);
    if (real === undefined) return undefined;
    try {
      const info = await fsp.stat(real);
      if (info.isDirectory()) return { isDir: true };
      if (info.isFile()) return { isDir: false, size: info.size };
      return undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw toStoreError(error, relativePath);
    }
  }

  async list(relativeDir: string): Promise<ArtifactEntry[]> {
    const located = await this.locate(relativeDir, true);
    const real = await this.existingRealPath(located);
    if (real === undefined) return [];
    let dirents: Dirent[];
    try {
      dirents = await fsp.readdir(real, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ENOTDIR') return [];
      throw toStoreError(error, relativeDir);
    }
    const entries: ArtifactEntry[] = [];
    for (const dirent of dirents) {
      if (real === located.root && dirent.name === INTERNAL_DIR_NAME) continue;
      const entry = await this.describeEntry(located.root, real, dirent);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(relativePath: string): Promise<void> {
    const located = await this.locate(relativePath, false);
    const parent = await this.existingParent(located);
    if (parent === undefined) return;
    // The last segment is joined lexically: a symlink there is removed, not followed.
    const target = path.join(parent, lastSegment(located));
    try {
      await fsp.rm(target, { recursive: true, force: true });
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ENOTDIR') return;
      throw toStoreError(error, relativePath);
    }
  }

  async createMultipartUpload(relativePath: string): Promise<string> {
    const located = await this.locate(relativePath, false);
    await this.assertWritableParent(located);
    const uploadId = randomBytes(16).toString('hex');
    const uploadDir = this.uploadDir(located.root, uploadId);
    const manifest: UploadManifest = { path: located.segments.join('/'), createdAt: Date.now() };
    try {
      await fsp.mkdir(uploadDir, { recursive: true });
      await fsp.writeFile(path.join(uploadDir, UPLOAD_MANIFEST), JSON.stringify(manifest), { flag: 'wx' });
    } catch (error) {
      await fsp.rm(uploadDir, { recursive: true, force: true }).catch(() => undefined);
      throw toStoreError(error, relativePath);
    }
    return uploadId;
  }

  async uploadPart(uploadId: string, partNumber: number, body: Readable, expectedSize?: number): Promise<string> {
    const root = await this.realRoot();
    checkUploadId(uploadId);
    checkPartNumber(partNumber);
    await this.readManifest(root, uploadId);
    const temp = await this.writeTemp(root, body, expectedSize);
    try {
      await fsp.rename(temp.path, this.partPath(root, uploadId, partNumber));
    } catch (error) {
      await removeQuietly(temp.path);
      // The upload folder vanished while the part streamed in: it was aborted or completed.
      if (isMissing(error)) throw uploadNotFound(uploadId);
      throw toStoreError(error, `upload ${uploadId}`);
    }
    return temp.md5;
  }

  async completeMultipartUpload(relativePath: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const located = await this.locate(relativePath, false);
    checkUploadId(uploadId);
    const manifest = await this.readManifest(located.root, uploadId);
    const wanted = located.segments.join('/');
    if (manifest.path !== wanted) {
      throw new ArtifactStoreError('invalid-upload', `Upload ${uploadId} is for '${manifest.path}', not '${wanted}'.`);
    }
    const ordered = checkPartList(parts);
    await this.assertWritableParent(located);

    const temp = await this.openTemp(located.root);
    let open = true;
    try {
      for (const part of ordered) {
        await this.appendPart(temp.handle, located.root, uploadId, part);
      }
      await temp.handle.sync();
      open = false;
      await temp.handle.close();
    } catch (error) {
      if (open) await temp.handle.close().catch(() => undefined);
      await removeQuietly(temp.path);
      throw error instanceof ArtifactStoreError ? error : toStoreError(error, relativePath);
    }
    await this.moveIntoPlace(temp.path, located);
    await fsp.rm(this.uploadDir(located.root, uploadId), { recursive: true, force: true }).catch(() => undefined);
  }

  async abortMultipartUpload(uploadId: string): Promise<void> {
    const root = await this.realRoot();
    checkUploadId(uploadId);
    try {
      await fsp.rm(this.uploadDir(root, uploadId), { recursive: true, force: true });
    } catch (error) {
      throw toStoreError(error, `upload ${uploadId}`);
    }
  }

  async copyPrefix(fromDir: string, toDir: string): Promise<void> {
    const from = await this.locate(fromDir, false);
    const to = await this.locate(toDir, false);
    if (isSegmentPrefix(from.segments, to.segments) || isSegmentPrefix(to.segments, from.segments)) {
      throw new ArtifactStoreError('invalid-path', `Cannot copy '${fromDir}' into an overlapping folder '${toDir}'.`);
    }
    const sourceReal = await this.existingRealPath(from);
    const sourceInfo = sourceReal === undefined ? undefined : await fsp.stat(sourceReal).catch(() => undefined);
    if (sourceReal === undefined || !sourceInfo?.isDirectory()) {
      throw new ArtifactStoreError('not-found', `No artifact folder at '${fromDir}'.`);
    }
    // The destination, once symlinks are resolved, must not lie inside the source either, or the
    // walk would copy its own output.
    const destinationAncestor = await this.deepestExistingRealPath(to.absolute, to.root);
    if (isInside(sourceReal, destinationAncestor)) {
      throw new ArtifactStoreError('invalid-path', `Cannot copy '${fromDir}' into an overlapping folder '${toDir}'.`);
    }
    await this.copyTree(from.root, sourceReal, to.segments, new Set([sourceReal]));
  }

  // --- paths and containment ---------------------------------------------------------------

  /** The root's real path, creating the root and the internal folders on first use. */
  private realRoot(): Promise<string> {
    this.ready ??= this.initialise().catch((error: unknown) => {
      // Let a later call retry (e.g. after a permissions fix) instead of caching the failure.
      this.ready = undefined;
      throw toStoreError(error, this.rootPath);
    });
    return this.ready;
  }

  private async initialise(): Promise<string> {
    await fsp.mkdir(path.join(this.rootPath, INTERNAL_DIR_NAME, TEMP_DIR_NAME), { recursive: true });
    await fsp.mkdir(path.join(this.rootPath, INTERNAL_DIR_NAME, MULTIPART_DIR_NAME), { recursive: true });
    const root = await fsp.realpath(this.rootPath);
    await this.removeStaleTemps(root);
    return root;
  }

  private async removeStaleTemps(root: string): Promise<void> {
    await sweepTempFiles(path.join(root, INTERNAL_DIR_NAME, TEMP_DIR_NAME));
    await expireUploads(path.join(root, INTERNAL_DIR_NAME, MULTIPART_DIR_NAME), UPLOAD_MANIFEST, this.multipartExpiryMs);
  }

  /** Removes temp files of dead uploads and expired multipart uploads (also run periodically). */
  async sweepUploads(now: number = Date.now()): Promise<{ tempFiles: number; uploads: number }> {
    const root = await this.realRoot();
    return {
      tempFiles: await sweepTempFiles(path.join(root, INTERNAL_DIR_NAME, TEMP_DIR_NAME), now),
      uploads: await expireUploads(path.join(root, INTERNAL_DIR_NAME, MULTIPART_DIR_NAME), UPLOAD_MANIFEST, this.multipartExpiryMs, now),
    };
  }

  async pendingUploadBytes(pathPrefix: string): Promise<number> {
    const root = await this.realRoot();
    const uploads = await listPendingUploads(path.join(root, INTERNAL_DIR_NAME, MULTIPART_DIR_NAME), UPLOAD_MANIFEST);
    return uploads.filter((u) => u.path === pathPrefix || u.path.startsWith(`${pathPrefix}/`)).reduce((sum, u) => sum + u.bytes, 0);
  }

  /**
   * Checks a relative path (defence in depth: the domain validated it already) and joins it to
   * the real root. Never touches the filesystem beyond initialising the root.
   */
  private async locate(relativePath: string, allowRoot: boolean): Promise<Located> {
    const segments = checkRelativePath(relativePath, allowRoot);
    const root = await this.realRoot();
    const absolute = path.join(root, ...segments);
    if (!isInside(root, absolute)) throw invalidPath(relativePath);
    return { root, segments, absolute };
  }

  /**
   * The real path of the deepest existing ancestor of `absolute` (or of itself), refused when it
   * lies outside the root. Whatever does not exist yet cannot contain a symlink, so once this
   * ancestor is inside the root, so is everything created below it.
   */
  private async deepestExistingRealPath(absolute: string, root: string): Promise<string> {
    let candidate = absolute;
    for (;;) {
      try {
        const real = await fsp.realpath(candidate);
        if (!isInside(root, real)) throw invalidPath(path.relative(root, absolute));
        return real;
      } catch (error) {
        if (error instanceof ArtifactStoreError) throw error;
        const code = errorCode(error);
        // ENOTDIR: a file sits where a folder is expected; its parent is what exists.
        if ((code !== 'ENOENT' && code !== 'ENOTDIR') || candidate === root) throw toStoreError(error, absolute);
        // A dangling symlink "does not exist" for realpath, yet writing below it would follow it
        // wherever it points once its target appears: refuse it outright.
        const link = await fsp.lstat(candidate).catch(() => undefined);
        if (link?.isSymbolicLink()) throw invalidPath(path.relative(root, absolute));
        candidate = path.dirname(candidate);
      }
    }
  }

  /**
   * The real path of an existing path, symlinks followed; refused when that leads outside the
   * root. Undefined when nothing exists there (including a dangling symlink).
   */
  private async existingRealPath(located: Located): Promise<string | undefined> {
    return this.realPathInside(located.absolute, located);
  }

  /** The real path of the parent folder, or undefined when it does not exist. */
  private async existingParent(located: Located): Promise<string | undefined> {
    return this.realPathInside(path.dirname(located.absolute), located);
  }

  private async realPathInside(absolute: string, located: Located): Promise<string | undefined> {
    let real: string;
    try {
      real = await fsp.realpath(absolute);
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ENOTDIR') return undefined;
      throw toStoreError(error, located.segments.join('/'));
    }
    if (!isInside(located.root, real)) throw invalidPath(located.segments.join('/'));
    return real;
  }

  /** Refuses early a write whose parent chain escapes the root or runs into a file. */
  private async assertWritableParent(located: Located): Promise<void> {
    const parentAbsolute = path.dirname(located.absolute);
    const real = await this.deepestExistingRealPath(parentAbsolute, located.root);
    const info = await fsp.stat(real).catch((error: unknown) => {
      throw toStoreError(error, located.segments.join('/'));
    });
    if (!info.isDirectory()) {
      throw new ArtifactStoreError('conflict', `Cannot write '${located.segments.join('/')}': a parent path is a file.`);
    }
  }

  /**
   * Renames a finished temp file to the located target: creates the parent folders, re-checks
   * containment after creating them (a symlink could have been planted meanwhile), renames, and
   * fsyncs the folder so the new name survives a crash. The temp file is removed on failure.
   */
  private async moveIntoPlace(tempPath: string, located: Located): Promise<void> {
    const name = lastSegment(located);
    try {
      const parentAbsolute = path.dirname(located.absolute);
      await this.assertWritableParent(located);
      await fsp.mkdir(parentAbsolute, { recursive: true });
      const parentReal = await fsp.realpath(parentAbsolute);
      if (!isInside(located.root, parentReal)) throw invalidPath(located.segments.join('/'));
      const target = path.join(parentReal, name);
      const existing = await fsp.lstat(target).catch(() => undefined);
      if (existing?.isDirectory()) {
        throw new ArtifactStoreError('conflict', `Cannot write '${located.segments.join('/')}': it is a folder.`);
      }
      await fsp.rename(tempPath, target);
      await syncDirectory(parentReal);
    } catch (error) {
      await removeQuietly(tempPath);
      throw error instanceof ArtifactStoreError ? error : toStoreError(error, located.segments.join('/'));
    }
  }

  // --- streaming -------------------------------------------------------------------------------

  private async openTemp(root: string): Promise<{ path: string; handle: FileHandle }> {
    const tempPath = path.join(root, INTERNAL_DIR_NAME, TEMP_DIR_NAME, tempFileName());
    try {
      // Created exclusively, so a name collision can never append to someone else's temp file.
      return { path: tempPath, handle: await fsp.open(tempPath, 'wx') };
    } catch (error) {
      throw toStoreError(error, 'temporary file');
    }
  }

  /**
   * Streams `body` into a new temp file and fsyncs it. On any failure the temp file is gone and
   * the error is an ArtifactStoreError (`incomplete-body` when the body was at fault).
   */
  private async writeTemp(root: string, body: Readable, expectedSize?: number): Promise<TempFile> {
    const temp = await this.openTemp(root);
    const meter = new ByteMeter(expectedSize);
    let bodyFailed = false;
    const onBodyError = (): void => {
      bodyFailed = true;
    };
    body.on('error', onBodyError);
    try {
      await pipeline(body, meter, (source: AsyncIterable<Buffer>) => writeAll(temp.handle, source));
      if (expectedSize !== undefined && meter.bytes !== expectedSize) {
        throw new ArtifactStoreError(
          'incomplete-body',
          `The body had ${meter.bytes} bytes but ${expectedSize} were announced.`,
        );
      }
      await temp.handle.sync();
      await temp.handle.close();
      return { path: temp.path, size: meter.bytes, md5: meter.digest() };
    } catch (error) {
      await temp.handle.close().catch(() => undefined);
      await removeQuietly(temp.path);
      if (error instanceof ArtifactStoreError) throw error;
      if (bodyFailed || meter.overflowed || errorCode(error) === 'ERR_STREAM_PREMATURE_CLOSE') {
        throw new ArtifactStoreError('incomplete-body', 'The upload was interrupted before it completed.', {
          cause: error,
        });
      }
      throw toStoreError(error, 'temporary file');
    } finally {
      body.off('error', onBodyError);
    }
  }

  /** Appends one stored part to an open temp file, checking its etag on the way. */
  private async appendPart(handle: FileHandle, root: string, uploadId: string, part: CompletedPart): Promise<void> {
    let partHandle: FileHandle;
    try {
      partHandle = await fsp.open(this.partPath(root, uploadId, part.partNumber), fsConstants.O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error)) {
        throw new ArtifactStoreError('invalid-upload', `Part ${part.partNumber} of upload ${uploadId} was never uploaded.`);
      }
      throw toStoreError(error, `upload ${uploadId}`);
    }
    const meter = new ByteMeter(undefined);
    // autoClose: the read stream owns the handle from here on and closes it when done.
    await pipeline(partHandle.createReadStream(), meter, (source: AsyncIterable<Buffer>) => writeAll(handle, source));
    if (part.etag !== undefined && normaliseEtag(part.etag) !== meter.digest()) {
      throw new ArtifactStoreError('invalid-upload', `The etag of part ${part.partNumber} does not match the uploaded part.`);
    }
  }

  private async copyTree(root: string, sourceReal: string, destination: string[], visited: Set<string>): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await fsp.readdir(sourceReal, { withFileTypes: true });
    } catch (error) {
      throw toStoreError(error, destination.join('/'));
    }
    for (const dirent of dirents) {
      if (sourceReal === root && dirent.name === INTERNAL_DIR_NAME) continue;
      const entryPath = path.join(sourceReal, dirent.name);
      let real = entryPath;
      if (dirent.isSymbolicLink()) {
        const resolved = await fsp.realpath(entryPath).catch(() => undefined);
        // A link leading outside the root (or nowhere) is not ours to copy.
        if (resolved === undefined || !isInside(root, resolved)) continue;
        real = resolved;
      }
      const info = await fsp.stat(real).catch(() => undefined);
      const target = [...destination, dirent.name];
      if (info?.isDirectory()) {
        if (visited.has(real)) continue;
        visited.add(real);
        await this.copyTree(root, real, target, visited);
      } else if (info?.isFile()) {
        await this.copyFile(root, real, target);
      }
    }
  }

  private async copyFile(root: string, sourceReal: string, target: string[]): Promise<void> {
    let source: Readable;
    try {
      source = await openReadStream(sourceReal);
    } catch (error) {
      throw toStoreError(error, target.join('/'));
    }
    let temp: TempFile;
    try {
      temp = await this.writeTemp(root, source);
    } catch (error) {
      // writeTemp blames its body for read failures; here the body is our own file.
      if (error instanceof ArtifactStoreError && error.kind === 'incomplete-body') {
        throw new ArtifactStoreError('io', `Could not read '${target.join('/')}' while copying.`, { cause: error });
      }
      throw error;
    }
    await this.moveIntoPlace(temp.path, { root, segments: target, absolute: path.join(root, ...target) });
  }

  private async describeEntry(root: string, dir: string, dirent: Dirent): Promise<ArtifactEntry | undefined> {
    const entryPath = path.join(dir, dirent.name);
    let target = entryPath;
    if (dirent.isSymbolicLink()) {
      const real = await fsp.realpath(entryPath).catch(() => undefined);
      // Never reveal whether (or how big) something outside the root is.
      if (real === undefined || !isInside(root, real)) return undefined;
      target = real;
    } else if (dirent.isDirectory()) {
      return { name: dirent.name, isDir: true };
    }
    const info = await fsp.stat(target).catch(() => undefined);
    if (info?.isDirectory()) return { name: dirent.name, isDir: true };
    if (info?.isFile()) return { name: dirent.name, isDir: false, size: info.size };
    return undefined;
  }

  // --- multipart bookkeeping -------------------------------------------------------------------

  private uploadDir(root: string, uploadId: string): string {
    return path.join(root, INTERNAL_DIR_NAME, MULTIPART_DIR_NAME, uploadId);
  }

  private partPath(root: string, uploadId: string, partNumber: number): string {
    return path.join(this.uploadDir(root, uploadId), `part-${String(partNumber).padStart(5, '0')}`);
  }

  private async readManifest(root: string, uploadId: string): Promise<UploadManifest> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.uploadDir(root, uploadId), UPLOAD_MANIFEST), 'utf8');
    } catch (error) {
      if (isMissing(error)) throw uploadNotFound(uploadId);
      throw toStoreError(error, `upload ${uploadId}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ArtifactStoreError('io', `The state of upload ${uploadId} is corrupt.`, { cause: error });
    }
    if (!isManifest(parsed)) throw new ArtifactStoreError('io', `The state of upload ${uploadId} is corrupt.`);
    return parsed;
  }
}

/**
 * Counts (and MD5-hashes) the bytes passing through, failing as soon as more arrive than were
 * announced, so an oversize body is cut off without being written out in full.
 */
class ByteMeter extends Transform {
  bytes = 0;
  overflowed = false;
  private readonly hash: Hash = createHash('md5');

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

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Writes every chunk fully at the handle's current position; FileHandle.write may write less. */
async function writeAll(handle: FileHandle, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }
}

async function openReadStream(file: string): Promise<Readable> {
  const handle = await fsp.open(file, fsConstants.O_RDONLY | O_NOFOLLOW);
  return handle.createReadStream();
}

/** fsync of a folder makes a rename durable. Some platforms cannot open folders; that is fine. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.rm(file, { force: true }).catch(() => undefined);
}

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
  if (segments[0] === INTERNAL_DIR_NAME) throw invalidPath(relativePath);
  return segments;
}

function checkUploadId(uploadId: string): void {
  // The id becomes a folder name: only our own hex ids, never anything path-like.
  if (!UPLOAD_ID_PATTERN.test(uploadId)) {
    throw new ArtifactStoreError('invalid-upload', `Invalid upload id '${uploadId}'.`);
  }
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

/** S3-style etags arrive quoted (`"abc"`) and sometimes weak (`W/"abc"`). */
function normaliseEtag(etag: string): string {
  return etag.trim().replace(/^W\//i, '').replace(/^"(.*)"$/, '$1').toLowerCase();
}

function isManifest(value: unknown): value is UploadManifest {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return typeof record.path === 'string' && typeof record.createdAt === 'number';
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function isSegmentPrefix(prefix: string[], segments: string[]): boolean {
  return prefix.length <= segments.length && prefix.every((segment, index) => segments[index] === segment);
}

function lastSegment(located: Located): string {
  const name = located.segments[located.segments.length - 1];
  if (name === undefined) throw invalidPath('');
  return name;
}

function invalidPath(relativePath: string): ArtifactStoreError {
  return new ArtifactStoreError('invalid-path', `Invalid artifact path '${relativePath}'.`);
}

function uploadNotFound(uploadId: string): ArtifactStoreError {
  return new ArtifactStoreError('not-found', `Multipart upload ${uploadId} does not exist.`);
}

function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const { code } = error as { code: unknown };
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function isMissing(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

/** Converts a filesystem error into the store's error vocabulary; the original is the cause. */
export function toStoreError(error: unknown, subject: string): ArtifactStoreError {
  if (error instanceof ArtifactStoreError) return error;
  switch (errorCode(error)) {
    case 'ENOENT':
      return new ArtifactStoreError('not-found', `No artifact at '${subject}'.`, { cause: error });
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new ArtifactStoreError('conflict', `A file and a folder collide at '${subject}'.`, { cause: error });
    case 'ELOOP':
      return new ArtifactStoreError('invalid-path', `Invalid artifact path '${subject}'.`, { cause: error });
    // Names the filesystem cannot hold: too long once the root is in front, or characters or
    // encodings this filesystem refuses. The client chose the name, so it is the client's mistake.
    case 'ENAMETOOLONG':
      return new ArtifactStoreError('invalid-path', 'Invalid path: the artifact path is too long for the storage.', { cause: error });
    case 'EILSEQ':
    case 'EINVAL':
      return new ArtifactStoreError('invalid-path', 'Invalid path: the storage cannot hold a file of this name.', { cause: error });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ArtifactStoreError('storage-full', 'The artifact storage is full; nothing was written. Free space (or raise the quota) and retry.', { cause: error });
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
    case 'EAGAIN':
      return new ArtifactStoreError('unavailable', 'The artifact storage is busy; retry the request.', { cause: error });
    default:
      return new ArtifactStoreError('io', 'The artifact storage failed.', { cause: error });
  }
}
