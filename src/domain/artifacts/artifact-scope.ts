import fs from 'node:fs';
import nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowError } from '../errors.ts';
import { permissionDenied } from '../auth/permissions.ts';
import { currentContext, DEFAULT_PROJECT } from '../request-context.ts';
import { proxyPathFromArtifactUri } from './artifact-path.ts';

/**
 * Which part of the artifact store a project owns.
 *
 * - The default project keeps the layout Trove always had: `<experiment id>/...` for tracking
 *   data and `registry/<model>/...` for the registry's frozen copies. It may not touch
 *   `projects/...`.
 * - Every other project lives under `projects/<project id>/`: experiments get
 *   `mlflow-artifacts:/projects/<id>/<experiment id>`, frozen copies go to
 *   `projects/<id>/registry/...`.
 *
 * The artifact proxy checks every path against the request's project: a path of another project
 * reads as missing (404, or an empty listing) and cannot be written (403). The registry's frozen
 * copies are read-only through the proxy in every project: a registered version's files never
 * change after registration.
 */

export const PROJECTS_ROOT = 'projects';
export const REGISTRY_ROOT = 'registry';

/** `''` for the default project, `projects/<id>` for any other. */
export function projectArtifactPrefix(projectId: number): string {
  return projectId === DEFAULT_PROJECT.id ? '' : `${PROJECTS_ROOT}/${projectId}`;
}

/** Where the registry keeps frozen copies of a project's version files. */
export function registryArtifactRoot(projectId: number): string {
  const prefix = projectArtifactPrefix(projectId);
  return prefix === '' ? REGISTRY_ROOT : `${prefix}/${REGISTRY_ROOT}`;
}

/**
 * The path relative to the project's own root, or undefined when `path` (normalised, relative to
 * the artifact root) belongs to no part of the project.
 */
export function pathWithinProject(path: string, projectId: number): string | undefined {
  const prefix = projectArtifactPrefix(projectId);
  if (prefix === '') {
    if (path === PROJECTS_ROOT || path.startsWith(`${PROJECTS_ROOT}/`)) return undefined;
    return path;
  }
  if (path === prefix) return '';
  if (path.startsWith(`${prefix}/`)) return path.slice(prefix.length + 1);
  return undefined;
}

function isRegistryPath(relative: string): boolean {
  return relative === REGISTRY_ROOT || relative.startsWith(`${REGISTRY_ROOT}/`);
}

export type ProxyAccess = 'read' | 'list' | 'write';

/**
 * Checks a proxy path (normalised) for the request's project.
 *
 * @returns false for a listing outside the project (answer it as an empty folder)
 * @throws RESOURCE_DOES_NOT_EXIST reading a file of another project; PERMISSION_DENIED writing
 *   outside the project or into the registry's frozen copies
 */
export function checkProxyPath(path: string, access: ProxyAccess, projectId: number = currentContext().project.id): boolean {
  const relative = pathWithinProject(path, projectId);
  if (relative === undefined) {
    if (access === 'read') throw MlflowError.notFound(`Artifact '${path}' does not exist.`);
    if (access === 'list') return false;
    const prefix = projectArtifactPrefix(projectId);
    throw permissionDenied(
      prefix === ''
        ? `Artifact path '${path}' belongs to another project.`
        : `Artifact path '${path}' is outside project '${currentContext().project.name}': its artifacts live under '${prefix}/'.`,
    );
  }
  if (access === 'write' && relative === '' && projectArtifactPrefix(projectId) !== '') {
    throw permissionDenied(`Artifact path '${path}' is the root of project '${currentContext().project.name}'; it cannot be written or deleted as a whole.`);
  }
  if (access === 'write' && isRegistryPath(relative)) {
    throw permissionDenied(
      `Artifact path '${path}' holds the files of a registered model version, which are read-only. Register a new version instead.`,
    );
  }
  return true;
}

/**
 * Checks an artifact location a client asked for (experiments/create `artifact_location`, a
 * model version `source`): an `mlflow-artifacts:` location must lie inside the project, outside
 * its registry folder. Other schemes (s3://, file paths) are the client's own storage and pass.
 *
 * @throws PERMISSION_DENIED for a proxied location of another project or in the registry folder
 */
export function checkProxiedLocation(uri: string, projectId: number = currentContext().project.id): void {
  const path = proxyPathFromArtifactUri(uri) ?? serverStoragePath(uri);
  if (path === undefined) return;
  checkProxyPath(path, 'write', projectId);
}

/**
 * Where this process stores proxied artifacts: local folders (absolute, symlinks resolved) and
 * `s3://bucket/prefix` roots. A `file://`, absolute or `s3://` location that points into one of
 * them is the server's own storage in disguise and gets the same project checks as
 * `mlflow-artifacts:/`. Several servers in one process (tests) each register theirs.
 */
const serverRoots = new Set<string>();

export function registerServerArtifactRoot(destination: string): void {
  if (/^s3:\/\//i.test(destination)) {
    serverRoots.add(destination.replace(/\/+$/, ''));
    return;
  }
  if (/^file:\/\//i.test(destination)) destination = fileURLToPath(destination);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(destination)) return;
  serverRoots.add(realAbsolute(nodePath.resolve(destination)));
}

/** The deepest existing ancestor resolved through symlinks, with the rest appended. */
function realAbsolute(absolute: string): string {
  let existing = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return nodePath.join(fs.realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = nodePath.dirname(existing);
      if (parent === existing) return absolute;
      rest.push(nodePath.basename(existing));
      existing = parent;
    }
  }
}

/** The proxy path (relative to the server's artifact root) a file/absolute/s3 location names, if any. */
export function serverStoragePath(uri: string): string | undefined {
  if (serverRoots.size === 0) return undefined;
  if (/^s3:\/\//i.test(uri)) {
    const normal = uri.replace(/\/+$/, '');
    for (const root of serverRoots) {
      if (!root.startsWith('s3://')) continue;
      if (normal.toLowerCase() === root.toLowerCase()) return '';
      if (normal.startsWith(`${root}/`)) return normal.slice(root.length + 1);
    }
    return undefined;
  }
  let local: string;
  try {
    if (/^file:/i.test(uri)) local = fileURLToPath(uri.replace(/^file:\/(?!\/)/i, 'file:///'));
    else if (nodePath.isAbsolute(uri)) local = uri;
    else return undefined;
  } catch {
    return undefined;
  }
  const absolute = realAbsolute(nodePath.resolve(local));
  for (const root of serverRoots) {
    if (root.startsWith('s3://')) continue;
    if (absolute === root) return '';
    if (absolute.startsWith(root + nodePath.sep)) return absolute.slice(root.length + 1).split(nodePath.sep).join('/');
  }
  return undefined;
}

/**
 * A location given as the client's own storage (file://, an absolute path, s3://) that is really
 * inside the server's artifact storage must lie in the caller's project.
 * @throws RESOURCE_DOES_NOT_EXIST when it points at another project's files
 */
export function checkServerStorageSource(uri: string, projectId: number = currentContext().project.id): void {
  const path = serverStoragePath(uri);
  if (path !== undefined) checkProxyPath(path, 'read', projectId);
}

/** Whether a proxied location (read access) lies inside the project; other schemes are not ours to judge. */
export function isReadableLocation(uri: string, projectId: number = currentContext().project.id): boolean {
  let path: string | undefined;
  try {
    path = proxyPathFromArtifactUri(uri);
  } catch {
    return false;
  }
  if (path === undefined) return true;
  return pathWithinProject(path, projectId) !== undefined;
}
