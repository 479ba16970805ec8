import type { Readable } from 'node:stream';

/**
 * The persistence contract for artifact files: a tree of byte objects addressed by relative,
 * `/`-separated paths (`0/<run_id>/artifacts/model/MLmodel`). The local-disk implementation maps
 * them to files under a root folder; an object-store implementation maps them to keys.
 *
 * Callers (the domain's ArtifactService) pass paths they have already validated, but every
 * implementation must defend in depth: a path that is absolute, contains `..`, `.`, empty
 * segments, a backslash or NUL, or that would resolve outside the store's root (for example
 * through a symlink planted inside it) is refused with an {@link ArtifactStoreError} of kind
 * `invalid-path`, and nothing is read or written.
 *
 * Stores sit below the domain and never throw MlflowError: every failure is an
 * ArtifactStoreError (driver errors such as ENOENT or EACCES are converted here, at the
 * boundary), which the service turns into the MLflow error.
 */

/** An immediate child of a listed directory. */
export interface ArtifactEntry {
  /** The child's name (one segment, no `/`). */
  name: string;
  isDir: boolean;
  /** Size in bytes; present for files only. */
  size?: number;
}

/** What {@link ArtifactStore.stat} knows about a path. */
export interface ArtifactStat {
  isDir: boolean;
  /** Size in bytes; present for files only. */
  size?: number;
}

/** An open artifact ready to be streamed to a client. */
export interface ArtifactObject {
  /** The file's bytes. The caller must consume or destroy it, which releases the file. */
  stream: Readable;
  /** Exact length of `stream` in bytes, fixed when the object was opened. */
  size: number;
}

/** One part named in a multipart completion. */
export interface CompletedPart {
  /** 1-based part number, as given to {@link ArtifactStore.uploadPart}. */
  partNumber: number;
  /** The etag uploadPart returned; when given it must match the stored part's. */
  etag?: string;
}

/** Why a store operation failed, coarse enough for the domain to choose an MLflow error code. */
export type ArtifactStoreErrorKind =
  /** The path is malformed or escapes the root. → INVALID_PARAMETER_VALUE "Invalid path" */
  | 'invalid-path'
  /** The file, directory or multipart upload does not exist. → RESOURCE_DOES_NOT_EXIST */
  | 'not-found'
  /** The request contradicts what is stored: a file where a folder is needed, or vice versa. */
  | 'conflict'
  /** A multipart request is inconsistent: bad part number, etag mismatch, missing part, wrong path. */
  | 'invalid-upload'
  /** The body stream failed, was aborted, or did not have the announced size. Nothing was written. */
  | 'incomplete-body'
  /** The storage itself failed (permissions, I/O error). */
  | 'io'
  /**
   * The storage has no room (disk full, quota): nothing was written, and the same request can
   * succeed once space is freed. → TEMPORARILY_UNAVAILABLE (503) with a message saying so
   */
  | 'storage-full'
  /**
   * The storage service is briefly out of reach or overloaded (throttling, 5xx, a network
   * failure): the same request may succeed later. → TEMPORARILY_UNAVAILABLE (503, which the MLflow
   * client retries)
   */
  | 'unavailable'
  /** The storage service refused the server's own credentials: a server misconfiguration. */
  | 'access-denied';

/** The only error an ArtifactStore raises. `cause` keeps the driver error for the logs. */
export class ArtifactStoreError extends Error {
  readonly kind: ArtifactStoreErrorKind;

  constructor(kind: ArtifactStoreErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactStoreError';
    this.kind = kind;
  }
}

export interface ArtifactStore {
  /**
   * Stores `body` at `path`, creating parent folders and replacing any existing file. The write
   * is atomic: bytes go to a temporary object that becomes visible at `path` only once complete
   * and durable (on disk: temp file, fsync, rename, fsync of the folder). If the stream errors,
   * is aborted, or its length differs from `expectedSize`, the temporary object is removed and
   * whatever was at `path` before is untouched. The body is streamed, never buffered whole.
   *
   * @param path relative file path (not the root)
   * @param body the bytes; consumed by this call
   * @param expectedSize the announced length (Content-Length), if any
   * @throws ArtifactStoreError `invalid-path`; `conflict` when `path` is a folder or a parent
   *   is a file; `incomplete-body`; `io`
   */
  put(path: string, body: Readable, expectedSize?: number): Promise<void>;

  /**
   * Opens the file at `path` for streaming. The size is fixed at open time, so a concurrent
   * replacement never yields a torn read.
   *
   * @param path relative file path
   * @returns the stream and its size, or undefined when there is no file at `path` (missing or
   *   a folder)
   * @throws ArtifactStoreError `invalid-path`; `io`
   */
  get(path: string): Promise<ArtifactObject | undefined>;

  /**
   * Describes what is at `path`.
   *
   * @param path relative path; `''` is the root
   * @returns whether it is a folder, and a file's size; undefined when nothing is there
   * @throws ArtifactStoreError `invalid-path`; `io`
   */
  stat(path: string): Promise<ArtifactStat | undefined>;

  /**
   * Lists the immediate children of the folder at `dir`, sorted by name. Internal bookkeeping
   * (temporary files, multipart state) is never listed.
   *
   * @param dir relative folder path; `''` is the root
   * @returns the children; empty when `dir` is a file or does not exist (the MLflow client tells
   *   files from folders by exactly this)
   * @throws ArtifactStoreError `invalid-path`; `io`
   */
  list(dir: string): Promise<ArtifactEntry[]>;

  /**
   * Deletes the file at `path`, or the folder and everything below it. Deleting something that
   * does not exist succeeds. A symlink is removed itself, never what it points to.
   *
   * @param path relative path (not the root)
   * @throws ArtifactStoreError `invalid-path`; `io`
   */
  delete(path: string): Promise<void>;

  /**
   * Starts a multipart upload whose result will be stored at `path`. Parts are kept out of sight
   * until {@link completeMultipartUpload}.
   *
   * @param path relative file path the completed object will have
   * @returns an opaque upload id
   * @throws ArtifactStoreError `invalid-path`; `io`
   */
  createMultipartUpload(path: string): Promise<string>;

  /**
   * Stores one part of a multipart upload, streaming it. Uploading the same part number again
   * replaces the earlier part. The part is written atomically like {@link put}.
   *
   * @param uploadId from createMultipartUpload
   * @param partNumber 1 to 10000
   * @param body the part's bytes; consumed by this call
   * @param expectedSize the announced length, if any
   * @returns the part's etag (hex MD5 of its bytes), needed to complete the upload
   * @throws ArtifactStoreError `not-found` for an unknown upload; `invalid-upload` for a bad
   *   upload id or part number; `incomplete-body`; `io`
   */
  uploadPart(uploadId: string, partNumber: number, body: Readable, expectedSize?: number): Promise<string>;

  /**
   * Joins the named parts, in part-number order, into the object at `path` (atomically, like
   * {@link put}) and discards the upload with all its parts, named or not.
   *
   * @param path must be the path the upload was created for
   * @param uploadId from createMultipartUpload
   * @param parts at least one; part numbers unique; etags, when given, must match
   * @throws ArtifactStoreError `not-found` for an unknown upload; `invalid-upload` for a path
   *   mismatch, an empty or duplicate part list, a part never uploaded, or an etag mismatch;
   *   `invalid-path`; `conflict`; `io`
   */
  completeMultipartUpload(path: string, uploadId: string, parts: CompletedPart[]): Promise<void>;

  /**
   * Discards a multipart upload and its parts. Aborting an unknown (or already finished)
   * upload succeeds, so a client retrying after a lost response is not punished.
   *
   * @throws ArtifactStoreError `invalid-upload` for a malformed upload id; `io`
   */
  abortMultipartUpload(uploadId: string): Promise<void>;

  /**
   * Removes what interrupted uploads left behind: temp files of dead processes and multipart
   * uploads older than the store's expiry. Optional: object stores expire unfinished uploads with
   * a bucket lifecycle rule instead.
   */
  sweepUploads?(now?: number): Promise<{ tempFiles: number; uploads: number }>;

  /** Bytes held by unfinished multipart uploads for paths under `pathPrefix` (optional). */
  pendingUploadBytes?(pathPrefix: string): Promise<number>;

  /**
   * Copies the whole tree under `fromDir` to `toDir` (e.g. to freeze the files of a model
   * version). Each file is written atomically like {@link put}; files already under `toDir` with
   * the same relative path are replaced, others are left alone.
   *
   * @param fromDir relative folder path (not the root)
   * @param toDir relative folder path (not the root), neither inside nor containing `fromDir`
   * @throws ArtifactStoreError `not-found` when `fromDir` is not a folder; `invalid-path`
   *   (including overlapping folders); `conflict`; `io`
   */
  copyPrefix(fromDir: string, toDir: string): Promise<void>;
}
