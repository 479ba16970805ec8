import { MlflowError } from '../errors.ts';

/**
 * Validation of artifact paths supplied by clients (URL paths of the artifact proxy, `?path=`
 * queries, multipart file names). A path is relative to the artifact root and uses `/` only.
 *
 * The rules follow MLflow's `validate_path_is_safe` (mlflow/utils/uri.py), made stricter where
 * that costs legitimate clients nothing: anything that could name a file outside the artifact
 * root, or that a filesystem or browser could read differently than we do, is refused with
 * MLflow's exact error `{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid path"}`.
 */

/** The exact message MLflow's test suites assert on. */
export const INVALID_PATH_MESSAGE = 'Invalid path';

/** Upstream gives up decoding after this many rounds; a path still changing by then is hostile. */
const MAX_DECODE_ROUNDS = 10;

export interface ArtifactPathOptions {
  /**
   * The path names a directory (listing, deletion, multipart target folder): a trailing `/` is
   * tolerated, because the MLflow client builds such URLs with `posixpath.join(dir, "")`.
   */
  directory?: boolean;
  /** The empty path, i.e. the artifact root itself, is acceptable (only listings want this). */
  allowRoot?: boolean;
}

function invalidPath(): MlflowError {
  return MlflowError.invalidParameter(INVALID_PATH_MESSAGE);
}

/**
 * Decodes the valid `%XX` escapes in `text` once. Unlike decodeURIComponent it never throws:
 * malformed escapes stay literal, as in Python's `urllib.parse.unquote`, which upstream uses.
 */
function percentDecodeOnce(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      // An escape run that is not valid UTF-8: decode byte by byte so that e.g. %2e%ff still
      // reveals its `.`; bytes above 0x7f become U+FFFD, which no check below cares about.
      return run.replace(/%([0-9a-fA-F]{2})/g, (_escape, hex: string) => {
        const code = Number.parseInt(hex, 16);
        return code < 0x80 ? String.fromCharCode(code) : '\uFFFD';
      });
    }
  });
}

/**
 * Every form the path takes when decoded again and again. Fastify has already decoded the URL
 * once; a client (or a proxy in front of us) may decode once more, so `%252e%252e` must be
 * judged as `..` too. Returns undefined when decoding never settles.
 */
function decodedForms(path: string): string[] | undefined {
  const forms = [path];
  let current = path;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round += 1) {
    const next = percentDecodeOnce(current);
    if (next === current) return forms;
    forms.push(next);
    current = next;
  }
  return undefined;
}

/** C0 controls and DEL: NUL truncates paths in C APIs, the rest only ever appear in attacks. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** True when one decoded form of the path is something we must never act on. */
function isDangerous(form: string): boolean {
  if (CONTROL_CHARACTERS.test(form)) return true;
  // A backslash is a separator on Windows and in some proxies; `#` is refused upstream because a
  // later URL round-trip would cut the path there.
  if (form.includes('\\') || form.includes('#')) return true;
  // Absolute POSIX path, or a Windows drive (`C:`, `C:/x`).
  if (form.startsWith('/') || /^[A-Za-z]:/.test(form)) return true;
  return form.split('/').some((segment) => segment === '..');
}

/**
 * Validates a client-supplied artifact path and returns its normal form: no leading or trailing
 * `/`, no `.` segments, `''` for the root.
 *
 * @param raw the path as received (Fastify has already percent-decoded the URL once)
 * @param options whether a trailing `/` and the empty root path are acceptable
 * @returns the normalised relative path
 * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path" for `..` segments, absolute paths,
 *   drive letters, backslashes, NUL or other control characters, `#`, percent-encoded forms of
 *   any of these, empty segments (`a//b`), or an empty path where the root is not allowed
 */
export function normalizeArtifactPath(raw: string, options: ArtifactPathOptions = {}): string {
  const forms = decodedForms(raw);
  if (!forms || forms.some(isDangerous)) throw invalidPath();

  let path = raw;
  if (options.directory && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') {
    if (options.allowRoot) return '';
    throw invalidPath();
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    // `a//b` would silently alias `a/b` on disk but not in an object store; refuse it.
    if (segment === '') throw invalidPath();
    // `.` is harmless, and the client can produce it (`artifact_path="."`): drop it.
    if (segment === '.') continue;
    segments.push(segment);
  }
  if (segments.length === 0 && !options.allowRoot) throw invalidPath();
  const normal = segments.join('/');
  checkPathLengths(normal, segments);
  return normal;
}

/** NAME_MAX of Linux, macOS and Windows filesystems: longer names fail with ENAMETOOLONG. */
export const MAX_ARTIFACT_NAME_BYTES = 255;
/**
 * S3's key limit, applied everywhere so a path that works on disk also works in a bucket (and stays
 * well inside PATH_MAX once the server's root and the run's prefix are in front of it).
 */
export const MAX_ARTIFACT_PATH_BYTES = 1024;

/** Refuses what the storage would reject anyway (with a 5xx) as the client's mistake, up front. */
function checkPathLengths(normal: string, segments: readonly string[]): void {
  for (const segment of segments) {
    const bytes = Buffer.byteLength(segment, 'utf8');
    if (bytes > MAX_ARTIFACT_NAME_BYTES) {
      throw MlflowError.invalidParameter(
        `Invalid path: the artifact path component '${segment.slice(0, 32)}…' is ${bytes} bytes long; each component may have at most ${MAX_ARTIFACT_NAME_BYTES} bytes.`,
      );
    }
  }
  const total = Buffer.byteLength(normal, 'utf8');
  if (total > MAX_ARTIFACT_PATH_BYTES) {
    throw MlflowError.invalidParameter(`Invalid path: the artifact path is ${total} bytes long; at most ${MAX_ARTIFACT_PATH_BYTES} bytes are allowed.`);
  }
}

/**
 * Validates a single file name (one path segment), e.g. the basename of the local file a
 * multipart upload is for.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path" when the name is empty, `.`, `..`,
 *   contains a separator, or fails any rule of {@link normalizeArtifactPath}
 */
export function validateArtifactFileName(name: string): string {
  if (name === '' || name === '.' || name.includes('/')) throw invalidPath();
  return normalizeArtifactPath(name);
}

/**
 * The last segment of a client-side file path. The MLflow client sends the full local path of the
 * file in multipart requests (`"path": "/home/me/model.bin"`, or `C:\...` from Windows) and the
 * server keeps only its basename, as upstream's S3 repository does with `os.path.basename`.
 *
 * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path" when no valid file name remains
 */
export function clientFileBaseName(localPath: string): string {
  const name = localPath.split(/[\\/]/).pop() ?? '';
  return validateArtifactFileName(name);
}

/** Joins already-normalised relative paths, skipping empty ones (the root). */
export function joinArtifactPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/** The last segment of a normalised relative path. */
export function artifactBaseName(path: string): string {
  const index = path.lastIndexOf('/');
  return index === -1 ? path : path.slice(index + 1);
}

const PROXY_SCHEME = 'mlflow-artifacts:';

/** Where the proxy's download route is anchored in an http(s) artifact root. */
const HTTP_PROXY_ANCHOR = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * An http(s) artifact root that names the proxy's own route, as `mlflow server
 * --default-artifact-root http://host/api/2.0/mlflow-artifacts/artifacts` produces: upstream
 * serves what follows the route (on whichever host) from its own store, and so does Trove.
 */
function proxyPathFromHttpUri(uri: string): string | undefined {
  const match = /^https?:\/\/[^/?#]*(\/[^?#]*)?/i.exec(uri);
  if (!match) return undefined;
  const path = match[1] ?? '';
  const index = path.indexOf(`${HTTP_PROXY_ANCHOR}/`);
  if (index === -1) return path.endsWith(HTTP_PROXY_ANCHOR) ? '' : undefined;
  return normalizeArtifactPath(path.slice(index + HTTP_PROXY_ANCHOR.length + 1), { directory: true, allowRoot: true });
}

/**
 * Maps a proxied artifact URI to the path under the artifact root that backs it, as upstream's
 * `_get_proxied_run_artifact_destination_path` does: `mlflow-artifacts:/0/abc/artifacts` and
 * `mlflow-artifacts://host:5000/0/abc/artifacts` both give `0/abc/artifacts`;
 * `mlflow-artifacts:/` gives `''` (the root); `http(s)://host/api/2.0/mlflow-artifacts/artifacts/0/abc`
 * gives `0/abc` too.
 *
 * @returns the normalised relative path, or undefined when the URI has another scheme
 *   (`s3://`, `file:`, plain paths), which the server does not serve
 * @throws MlflowError INVALID_PARAMETER_VALUE "Invalid path" when the URI's path is unsafe
 */
export function proxyPathFromArtifactUri(uri: string): string | undefined {
  const http = proxyPathFromHttpUri(uri);
  if (http !== undefined) return http;
  if (!uri.toLowerCase().startsWith(PROXY_SCHEME)) return undefined;
  let rest = uri.slice(PROXY_SCHEME.length);
  // Query and fragment are not part of the location (urlparse drops them upstream too).
  rest = rest.replace(/[?#].*$/, '');
  if (rest.startsWith('//')) {
    // `//netloc/path`: the netloc only tells the client which server to talk to.
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  rest = rest.replace(/^\/+/, '');
  return normalizeArtifactPath(rest, { directory: true, allowRoot: true });
}
