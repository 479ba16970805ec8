/**
 * Which project the UI is in, and the URLs that follow from it. Pure functions.
 *
 * The project lives in the page URL: `/projects/<name>/experiments/1` is experiment 1 of project
 * `<name>`, and the bare `/experiments/1` is the `default` project (so links from before projects
 * existed keep working). Every API call goes to the same prefix — `/projects/<name>/ajax-api/...`
 * — which the server strips before routing (src/http/auth-hooks.ts, `rewriteProjectUrl`). The
 * prefix rather than the `X-MLFLOW-WORKSPACE` header, because `<img src>`, download links and the
 * audit export are plain URLs that cannot carry a header.
 */

export const DEFAULT_PROJECT = 'default';

const PROJECT_PATH = /^\/projects\/([^/?#]+)(?=[/?#]|$)/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The project a page path names (`/projects/<name>/...`), or undefined for the bare URL (default project). */
export function projectFromPath(pathname: string): string | undefined {
  const match = PROJECT_PATH.exec(pathname);
  return match ? decode(match[1]!) : undefined;
}

/** The project a page path works in: its `/projects/<name>` prefix, else `default`. */
export function currentProjectOf(pathname: string): string {
  return projectFromPath(pathname) ?? DEFAULT_PROJECT;
}

/**
 * The URL prefix of a project's pages and API calls: '' for the default project (bare URLs, as
 * before projects existed), `/projects/<name>` for any other.
 */
export function projectBase(project: string | undefined): string {
  if (project === undefined || project === DEFAULT_PROJECT) return '';
  return `/projects/${encodeURIComponent(project)}`;
}

/** The router basename of a page path: exactly the prefix it was loaded with (`/projects/default/...` keeps it). */
export function basenameOf(pathname: string): string {
  const match = PROJECT_PATH.exec(pathname);
  return match ? match[0] : '';
}

/** The page path inside the project (`/projects/a/experiments/1` → `/experiments/1`). */
export function pathInProject(pathname: string): string {
  const base = basenameOf(pathname);
  const rest = pathname.slice(base.length);
  return rest === '' ? '/' : rest;
}

const API_PATH = /^\/(ajax-api|api)\//;

/**
 * An API URL for a project: `/ajax-api/2.0/mlflow/runs/get` → `/projects/a/ajax-api/2.0/mlflow/runs/get`.
 * URLs that are not API paths (or already carry a prefix) are returned as they are, so applying
 * it twice is harmless.
 */
export function apiUrlFor(url: string, project: string | undefined): string {
  if (!API_PATH.test(url)) return url;
  return `${projectBase(project)}${url}`;
}

/** Where the project switcher goes: the project's experiments. */
export function projectHome(project: string): string {
  return `${projectBase(project)}/experiments`;
}

/** The login page, coming back to `next` afterwards. */
export function loginUrl(next: string): string {
  return next && next !== '/' ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

/**
 * Where to go after signing in: `next` when it is a path on this site, else `/`. Refuses
 * absolute and protocol-relative URLs (`https://evil`, `//evil`, `/\evil`) so a crafted login
 * link cannot send the user elsewhere, and the login page itself (a loop).
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f]/.test(next)) return '/';
  if (next === '/login' || next.startsWith('/login?') || next.startsWith('/login/')) return '/';
  return next;
}

/** Entry pages that make sense in any project (a deep link to an experiment id does not). */
export function isLandingPath(pathInsideProject: string): boolean {
  return ['/', '/experiments', '/models'].includes(pathInsideProject.replace(/\/+$/, '') || '/');
}

/**
 * MLflow prints links in its own UI's hash form, after the tracking URI: `<uri>/#/experiments/1/runs/abc`.
 * Returns the page path to show instead (keeping a `/projects/<name>` base path), or undefined.
 */
export function hashRouteTarget(pathname: string, hash: string): string | undefined {
  if (!hash.startsWith('#/')) return undefined;
  return `${basenameOf(pathname)}${hash.slice(1)}`;
}
