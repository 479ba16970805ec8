import type { Readable } from 'node:stream';
import { MlflowError } from '../errors.ts';
import type { TrackingService } from '../tracking/tracking-service.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { ArtifactDownload, ArtifactService, RunArtifactListing } from './artifact-service.ts';
import { joinArtifactPath, normalizeArtifactPath, proxyPathFromArtifactUri } from './artifact-path.ts';
import { checkProxyPath } from './artifact-scope.ts';

/**
 * Artifacts addressed through the thing that owns them (a run, a registered model version, a
 * logged model) rather than by a raw proxy path: the web UI's download, preview and upload routes
 * and the GraphQL `mlflowListArtifacts` field.
 *
 * The rules, as MLflow's handlers apply them:
 * - the client's relative path is validated first (an unsafe path is "Invalid path" even when the
 *   owner does not exist);
 * - the owner is looked up through its service, so it must be visible in the request's project;
 * - the file is the owner's artifact root joined with the relative path, and that proxy path is
 *   checked against the project once more (a root pointing elsewhere reads as missing);
 * - an owner whose artifacts live outside this server's store (`s3://…`, `file:` written by the
 *   client itself) cannot be served: the client reads those locations directly.
 */
export class OwnedArtifacts {
  private readonly tracking: TrackingService;
  private readonly registry: RegistryService;
  private readonly artifacts: ArtifactService;

  constructor(services: { tracking: TrackingService; registry: RegistryService; artifacts: ArtifactService }) {
    this.tracking = services.tracking;
    this.registry = services.registry;
    this.artifacts = services.artifacts;
  }

  /**
   * Opens one of a run's files for download.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path"; RESOURCE_DOES_NOT_EXIST for an
   *   unknown run or file
   */
  async openRunFile(runId: string, rawPath: string): Promise<ArtifactDownload> {
    const relative = filePath(rawPath);
    const root = await this.tracking.getRunArtifactUri(runId);
    return this.open(root, relative, `run '${runId}'`);
  }

  /** Opens one of a registered model version's files (its frozen copy, or its source). */
  async openModelVersionFile(name: string, version: string, rawPath: string): Promise<ArtifactDownload> {
    const relative = filePath(rawPath);
    const root = await this.registry.getDownloadUri(name, version);
    return this.open(root, relative, `model version '${name}' version ${version}`);
  }

  /** Opens one of a logged model's files. */
  async openLoggedModelFile(modelId: string, rawPath: string): Promise<ArtifactDownload> {
    const relative = filePath(rawPath);
    const model = await this.tracking.getLoggedModel(modelId);
    return this.open(model.artifactUri, relative, `logged model '${modelId}'`);
  }

  /**
   * Lists a folder of a run's artifacts, paths relative to the run's artifact root; a root
   * outside the project or outside this server lists as empty.
   */
  async listRun(runId: string, rawDir: string | undefined): Promise<RunArtifactListing> {
    const relative = dirPath(rawDir);
    return this.list(await this.tracking.getRunArtifactUri(runId), relative);
  }

  /** Lists a folder of a logged model's artifacts (`logged-models/<id>/artifacts/directories`). */
  async listLoggedModel(modelId: string, rawDir: string | undefined): Promise<RunArtifactListing> {
    const relative = dirPath(rawDir);
    return this.list((await this.tracking.getLoggedModel(modelId)).artifactUri, relative);
  }

  /**
   * Stores a file among a run's artifacts (the UI's upload), replacing any previous one.
   *
   * @param rawPath the file's path inside the run's artifacts, e.g. `notes/readme.md`
   * @param body streamed to storage, never buffered here
   * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path" or for a run whose artifacts this
   *   server does not store; RESOURCE_DOES_NOT_EXIST for an unknown run; PERMISSION_DENIED for a
   *   root outside the project
   */
  async uploadRunFile(runId: string, rawPath: string, body: Readable, expectedSize?: number): Promise<string> {
    const relative = filePath(rawPath);
    const root = await this.tracking.getRunArtifactUri(runId);
    const path = joinArtifactPath(servedRoot(root, `run '${runId}'`), relative);
    checkProxyPath(path, 'write');
    await this.artifacts.upload(path, body, expectedSize);
    return path;
  }

  private async open(rootUri: string, relative: string, owner: string): Promise<ArtifactDownload> {
    const path = joinArtifactPath(servedRoot(rootUri, owner), relative);
    checkProxyPath(path, 'read');
    return this.artifacts.download(path);
  }

  private async list(rootUri: string, relative: string): Promise<RunArtifactListing> {
    const root = proxyPathFromArtifactUri(rootUri);
    if (root !== undefined && !checkProxyPath(root, 'list')) return { rootUri, files: [] };
    return this.artifacts.listRunArtifacts(rootUri, relative);
  }
}

function filePath(rawPath: string): string {
  return normalizeArtifactPath(rawPath);
}

function dirPath(rawDir: string | undefined): string {
  return normalizeArtifactPath(rawDir ?? '', { directory: true, allowRoot: true });
}

/** The proxy path behind an owner's artifact root, or a clear error when the server does not hold it. */
function servedRoot(rootUri: string, owner: string): string {
  const root = proxyPathFromArtifactUri(rootUri);
  if (root === undefined) {
    throw MlflowError.invalidParameter(
      `The artifacts of ${owner} are stored at '${rootUri}', which this server does not serve; read them from there directly.`,
    );
  }
  return root;
}
