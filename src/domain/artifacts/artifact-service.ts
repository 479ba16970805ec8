import type { Readable } from 'node:stream';
import { mimeTypes } from './mime-types.ts';
import { MlflowError } from '../errors.ts';
import {
  ArtifactStoreError,
  type ArtifactEntry,
  type ArtifactStore,
  type CompletedPart,
} from '../../store/artifacts/artifact-store.ts';
import {
  INVALID_PATH_MESSAGE,
  artifactBaseName,
  clientFileBaseName,
  joinArtifactPath,
  normalizeArtifactPath,
  proxyPathFromArtifactUri,
} from './artifact-path.ts';

/** MLflow's FileInfo, in domain (camelCase) form; the HTTP layer renders `path, is_dir, file_size`. */
export interface FileInfo {
  path: string;
  isDir: boolean;
  /** Present for files only, as upstream. */
  fileSize?: number;
}

/** A file ready to be streamed to a client, with the headers it should be sent with. */
export interface ArtifactDownload {
  stream: Readable;
  size: number;
  /** The file's basename, for Content-Disposition. */
  fileName: string;
  contentType: string;
}

/** A started multipart upload: where it will land and which parts the client should send. */
export interface MultipartUploadStart {
  uploadId: string;
  /** The normalised path the completed file will have (URL-path folder + file basename). */
  path: string;
  /** 1..numParts. */
  partNumbers: number[];
}

/** A run's artifacts as `GET /mlflow/artifacts/list` reports them. */
export interface RunArtifactListing {
  rootUri: string;
  /** Paths relative to the run's artifact root. */
  files: FileInfo[];
}

/** S3's limit; the MLflow client never asks for more. */
export const MAX_MULTIPART_PARTS = 10_000;

/**
 * Extensions MLflow 3.18 serves as `text/plain` (mlflow/utils/mime_type_utils.py), so the UI can
 * show them and no browser ever runs them. `MLmodel` and `MLproject` have no extension: upstream
 * compares the whole file name.
 */
const TEXT_EXTENSIONS = new Set([
  'txt', 'log', 'err', 'cfg', 'conf', 'cnf', 'cf', 'ini', 'properties', 'prop', 'hocon', 'toml',
  'yaml', 'yml', 'xml', 'json', 'js', 'py', 'py3', 'csv', 'tsv', 'md', 'rst', 'ipynb', 'MLmodel',
  'MLproject',
]);

/** Extension-less descriptor files served as text in any letter case. */
const EXTENSIONLESS_TEXT_NAMES = new Set(['mlmodel', 'mlproject']);

/**
 * Types a browser would render or execute. Downloads are attachments with `nosniff`, but an
 * artifact is user-controlled content served from the tracking server's origin, so these are
 * demoted to text/plain as well (upstream covers js/xml/json through its list above).
 */
const SCRIPTABLE_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'text/ecmascript',
  'application/ecmascript',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/xslt+xml',
  'text/css',
  'application/wasm',
]);

/**
 * The Content-Type a downloaded artifact is served with, guessed from its name.
 *
 * @param fileName a basename such as `confusion.png` or `MLmodel`
 * @returns `text/plain` for text-like and script-capable types, the registered type otherwise,
 *   `application/octet-stream` when unknown
 */
export function contentTypeForArtifact(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  const extension = dot > 0 ? fileName.slice(dot + 1) : fileName;
  if (TEXT_EXTENSIONS.has(extension)) return 'text/plain';
  // Project and model descriptors are text whatever their capitalisation (`mlproject`, `MLProject`).
  if (dot <= 0 && EXTENSIONLESS_TEXT_NAMES.has(fileName.toLowerCase())) return 'text/plain';
  const guessed = mimeTypes().lookup(fileName);
  if (guessed === false) return 'application/octet-stream';
  if (SCRIPTABLE_TYPES.has(guessed) || guessed.endsWith('+xml')) return 'text/plain';
  return guessed;
}

/**
 * The artifact proxy's rules: validates every client path, maps store failures to MLflow errors,
 * guesses content types and shapes listings as MLflow's FileInfo. Streams pass through; nothing
 * is buffered here.
 */
/** Bytes unfinished multipart uploads may hold per run (or logged model) by default: 10 GiB. */
export const DEFAULT_MAX_PENDING_UPLOAD_BYTES = 10 * 1024 ** 3;

export class ArtifactService {
  private readonly store: ArtifactStore;
  private readonly maxPendingUploadBytes: number;

  constructor(store: ArtifactStore, options: { maxPendingUploadBytes?: number } = {}) {
    this.store = store;
    this.maxPendingUploadBytes = options.maxPendingUploadBytes ?? DEFAULT_MAX_PENDING_UPLOAD_BYTES;
  }

  /**
   * Stores an uploaded file, replacing any previous one (`PUT mlflow-artifacts/artifacts/<path>`).
   *
   * @param rawPath the client's path to the file
   * @param body the raw request body, streamed to storage
   * @param expectedSize the Content-Length, when the client sent one
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path, a path that is a folder or
   *   runs through a file, or a body that ended early; INTERNAL_ERROR when storage fails
   */
  async upload(rawPath: string, body: Readable, expectedSize?: number): Promise<void> {
    const path = normalizeArtifactPath(rawPath);
    await this.call(() => this.store.put(path, body, expectedSize));
  }

  /**
   * Opens a file for download (`GET mlflow-artifacts/artifacts/<path>`).
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path; RESOURCE_DOES_NOT_EXIST when
   *   there is no file there (a folder is not downloadable)
   */
  async download(rawPath: string): Promise<ArtifactDownload> {
    const path = normalizeArtifactPath(rawPath);
    const object = await this.call(() => this.store.get(path));
    if (!object) throw MlflowError.notFound(`Artifact '${path}' does not exist.`);
    const fileName = artifactBaseName(path);
    return { stream: object.stream, size: object.size, fileName, contentType: contentTypeForArtifact(fileName) };
  }

  /**
   * Lists a folder for the proxy (`GET mlflow-artifacts/artifacts?path=`): entries carry their
   * basename only, as upstream, and listing a file or a missing folder gives no entries.
   *
   * @param rawPath folder path; undefined or `''` lists the root
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path
   */
  async list(rawPath: string | undefined): Promise<FileInfo[]> {
    const path = normalizeArtifactPath(rawPath ?? '', { directory: true, allowRoot: true });
    const entries = await this.call(() => this.store.list(path));
    return entries.map((entry) => toFileInfo(entry, entry.name));
  }

  /**
   * Deletes a file or a folder tree (`DELETE mlflow-artifacts/artifacts/<path>`); deleting what
   * does not exist succeeds. The root itself cannot be deleted.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe or empty path
   */
  async delete(rawPath: string): Promise<void> {
    const path = normalizeArtifactPath(rawPath, { directory: true });
    await this.call(() => this.store.delete(path));
  }

  /**
   * Starts a multipart upload (`POST mlflow-artifacts/mpu/create/<folder>`). Like upstream, the
   * target is the URL's folder joined with the basename of the client's local file path.
   *
   * @param rawDir the folder from the URL (may be the root)
   * @param localFilePath the `path` field: the client's local path of the file
   * @param numParts how many parts the client will send, 1..10000
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path or a bad part count
   */
  async createMultipartUpload(rawDir: string, localFilePath: string, numParts: number): Promise<MultipartUploadStart> {
    const path = this.multipartTarget(rawDir, localFilePath);
    if (!Number.isInteger(numParts) || numParts < 1 || numParts > MAX_MULTIPART_PARTS) {
      throw MlflowError.invalidParameter(
        `Invalid value ${numParts} for parameter 'num_parts': it must be an integer from 1 to ${MAX_MULTIPART_PARTS}.`,
      );
    }
    const uploadId = await this.call(() => this.store.createMultipartUpload(path));
    return { uploadId, path, partNumbers: Array.from({ length: numParts }, (_, index) => index + 1) };
  }

  /**
   * Stores one part of a multipart upload (our upload-part URL handed out by create).
   *
   * @param rawPath the target file path from the URL (validated; the upload id decides the target)
   * @returns the part's etag, to be sent back as the ETag header
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path, a bad upload id or part
   *   number; RESOURCE_DOES_NOT_EXIST for an unknown upload
   */
  async uploadPart(
    rawPath: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    expectedSize?: number,
  ): Promise<string> {
    const path = normalizeArtifactPath(rawPath);
    await this.checkPendingBytes(path, expectedSize ?? 0);
    return this.call(() => this.store.uploadPart(uploadId, partNumber, body, expectedSize));
  }

  /**
   * Unfinished multipart uploads of one run (everything under its `.../artifacts` folder) may hold
   * at most `maxPendingUploadBytes`: parts of uploads a client never completes cannot fill the
   * disk before they expire.
   */
  private async checkPendingBytes(path: string, incoming: number): Promise<void> {
    if (!this.store.pendingUploadBytes) return;
    const segments = path.split('/');
    const owner = segments.indexOf('artifacts');
    const prefix = owner > 0 ? segments.slice(0, owner + 1).join('/') : segments.slice(0, -1).join('/');
    const pending = await this.call(() => this.store.pendingUploadBytes!(prefix));
    if (pending + incoming > this.maxPendingUploadBytes) {
      throw MlflowError.invalidParameter(
        `Unfinished multipart uploads under '${prefix}' already hold ${pending} bytes (limit ${this.maxPendingUploadBytes}, TROVE_MAX_PENDING_UPLOAD_BYTES); complete or abort them first.`,
      );
    }
  }

  /**
   * Completes a multipart upload (`POST mlflow-artifacts/mpu/complete/<folder>`): the named parts
   * become the file, atomically.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path, a path other than the
   *   upload's, missing or duplicate parts, or an etag mismatch; RESOURCE_DOES_NOT_EXIST for an
   *   unknown upload
   */
  async completeMultipartUpload(rawDir: string, localFilePath: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const path = this.multipartTarget(rawDir, localFilePath);
    await this.call(() => this.store.completeMultipartUpload(path, uploadId, parts));
  }

  /**
   * Aborts a multipart upload (`POST mlflow-artifacts/mpu/abort/<folder>`); aborting an unknown
   * upload succeeds.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path or a malformed upload id
   */
  async abortMultipartUpload(rawDir: string, localFilePath: string, uploadId: string): Promise<void> {
    this.multipartTarget(rawDir, localFilePath);
    await this.call(() => this.store.abortMultipartUpload(uploadId));
  }

  /**
   * Lists a run's artifacts for `GET /mlflow/artifacts/list`: paths relative to the run's
   * artifact root (`model/MLmodel`, not `MLmodel`), as upstream's
   * `_list_artifacts_for_proxied_run_artifact_root`.
   *
   * @param artifactUri the run's `artifact_uri`
   * @param rawRelativePath folder inside the run's artifacts; undefined or `''` for the top
   * @returns the listing; no files when the URI is not served by this proxy (`s3://`, `file:`),
   *   since the client reads those locations directly
   * @throws MlflowError INVALID_PARAMETER_VALUE for an unsafe path
   */
  async listRunArtifacts(artifactUri: string, rawRelativePath: string | undefined): Promise<RunArtifactListing> {
    const relative = normalizeArtifactPath(rawRelativePath ?? '', { directory: true, allowRoot: true });
    const runRoot = proxyPathFromArtifactUri(artifactUri);
    if (runRoot === undefined) return { rootUri: artifactUri, files: [] };
    const entries = await this.call(() => this.store.list(joinArtifactPath(runRoot, relative)));
    return {
      rootUri: artifactUri,
      files: entries.map((entry) => toFileInfo(entry, joinArtifactPath(relative, entry.name))),
    };
  }

  /**
   * Copies every file under one folder to another, each atomically (used to freeze a model
   * version's files).
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for unsafe, empty or overlapping folders;
   *   RESOURCE_DOES_NOT_EXIST when the source folder does not exist
   */
  async copyFolder(rawFromDir: string, rawToDir: string): Promise<void> {
    const from = normalizeArtifactPath(rawFromDir, { directory: true });
    const to = normalizeArtifactPath(rawToDir, { directory: true });
    await this.call(() => this.store.copyPrefix(from, to));
  }

  private multipartTarget(rawDir: string, localFilePath: string): string {
    const dir = normalizeArtifactPath(rawDir, { directory: true, allowRoot: true });
    return joinArtifactPath(dir, clientFileBaseName(localFilePath));
  }

  /** Runs a store operation, converting its failures into MLflow errors at this boundary. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toMlflowError(error);
    }
  }
}

function toFileInfo(entry: ArtifactEntry, path: string): FileInfo {
  return entry.isDir ? { path, isDir: true } : { path, isDir: false, fileSize: entry.size ?? 0 };
}

function toMlflowError(error: unknown): MlflowError {
  if (error instanceof MlflowError) return error;
  if (!(error instanceof ArtifactStoreError)) {
    return new MlflowError('INTERNAL_ERROR', 'The artifact storage failed.', { cause: error });
  }
  switch (error.kind) {
    case 'invalid-path':
      // The store's message when it says more than "invalid" (too long, a name the filesystem refuses).
      return new MlflowError('INVALID_PARAMETER_VALUE', error.message.startsWith('Invalid path:') ? error.message : INVALID_PATH_MESSAGE, { cause: error });
    case 'storage-full':
      return new MlflowError('TEMPORARILY_UNAVAILABLE', error.message, { cause: error });
    case 'not-found':
      return new MlflowError('RESOURCE_DOES_NOT_EXIST', error.message, { cause: error });
    case 'conflict':
    case 'invalid-upload':
    case 'incomplete-body':
      return new MlflowError('INVALID_PARAMETER_VALUE', error.message, { cause: error });
    case 'io':
      return new MlflowError('INTERNAL_ERROR', 'The artifact storage failed.', { cause: error });
    case 'unavailable':
      return new MlflowError('TEMPORARILY_UNAVAILABLE', 'The artifact storage is temporarily unavailable; retry later.', {
        cause: error,
      });
    case 'access-denied':
      // The client can do nothing about it; the message says where to look without any detail.
      return new MlflowError('INTERNAL_ERROR', "The artifact storage refused the server's credentials; see the server log.", {
        cause: error,
      });
  }
}
