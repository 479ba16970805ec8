import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { MlflowError } from '../domain/errors.ts';
import { processUniqueId } from '../domain/process-unique-id.ts';
import { decide, isPermission, PERMISSION_RULES, permissionDenied, projectNotFound, type Permission } from '../domain/auth/permissions.ts';
import type { AuthService } from '../domain/auth/auth-service.ts';
import { safeEqual } from '../domain/auth/secrets.ts';
import { ajaxAliasOf, viaAjaxApi } from './ajax-alias.ts';
import {
  ANONYMOUS,
  ANONYMOUS_ADMIN,
  DEFAULT_PROJECT,
  runWithContext,
  type Principal,
  type ProjectRef,
  type RequestContext,
} from '../domain/request-context.ts';

/**
 * Project selection, authentication and the permission check, for every route.
 *
 * 1. `rewriteProjectUrl` (Fastify's rewriteUrl, before routing) strips a project prefix, so
 *    every route works unchanged under `/projects/<name>/...` (the MLflow tracking URI base path)
 *    and GitLab's `/api/v4/projects/<id or url-encoded name>/ml/mlflow/...`; the name is kept on
 *    the raw request. Without a prefix the `X-MLFLOW-WORKSPACE` header (MLflow's workspace
 *    header, `MLFLOW_WORKSPACE=<project>`) selects it; with neither it is `default`.
 * 2. An onRequest hook works out the principal (Bearer token, Basic user/password or token, the
 *    web UI's session cookie), the project and the principal's role there, and checks the
 *    permission the route declares (`config.permission`). Failing requests stop here, before any
 *    body is read.
 * 3. A preHandler hook runs the handler inside that request context (AsyncLocalStorage), where
 *    the domain services read the project and the actor.
 *
 * Every route must declare a permission: `installAuthHooks` refuses to register one that does not.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs; see src/domain/auth/permissions.ts. */
    permission?: Permission;
  }
  interface FastifyRequest {
    troveContext?: RequestContext;
    /** The CSRF token of the web session the request came with. */
    troveCsrfToken?: string;
  }
}

/** The web UI's session cookie. */
export const SESSION_COOKIE = 'trove_session';
export const CSRF_HEADER = 'x-csrf-token';
export const WORKSPACE_HEADER = 'x-mlflow-workspace';

const SELECTION = Symbol('trove.projectSelection');

export interface ProjectSelection {
  /** How the request named its project. */
  via: 'path' | 'gitlab' | 'header';
  name?: string;
  id?: number;
  /** As the client wrote it, for error messages. */
  label: string;
}

type RawWithSelection = IncomingMessage & { [SELECTION]?: ProjectSelection };

const PROJECT_PATH = /^\/projects\/([^/?#]+)(\/[^?#]*)?(\?.*)?$/;
const GITLAB_PATH = /^\/api\/v4\/projects\/([^/?#]+)\/ml\/mlflow(\/[^?#]*)?(\?.*)?$/;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Fastify's `rewriteUrl`: strips a project prefix and remembers the project it named. */
export function rewriteProjectUrl(raw: IncomingMessage): string {
  // `//model-versions/...`: clients join a tracking URI ending in `/` with an absolute path.
  const url = (raw.url ?? '/').replace(/^\/{2,}/, '/');
  const projectMatch = PROJECT_PATH.exec(url);
  if (projectMatch) {
    const name = decodeSegment(projectMatch[1]!);
    (raw as RawWithSelection)[SELECTION] = { via: 'path', name, label: name };
    return `${projectMatch[2] || '/'}${projectMatch[3] ?? ''}`;
  }
  const gitlabMatch = GITLAB_PATH.exec(url);
  if (gitlabMatch) {
    const ref = decodeSegment(gitlabMatch[1]!);
    (raw as RawWithSelection)[SELECTION] = /^\d{1,15}$/.test(ref) ? { via: 'gitlab', id: Number(ref), label: ref } : { via: 'gitlab', name: ref, label: ref };
    return `${gitlabMatch[2] || '/'}${gitlabMatch[3] ?? ''}`;
  }
  return url;
}

/** The project a request names (URL prefix first, then the workspace header), or undefined for the default. */
export function projectSelectionOf(request: FastifyRequest): ProjectSelection | undefined {
  const fromUrl = (request.raw as RawWithSelection)[SELECTION];
  const header = request.headers[WORKSPACE_HEADER];
  const headerValue = (Array.isArray(header) ? header[0] : header)?.trim();
  if (fromUrl) {
    if (headerValue && fromUrl.name !== undefined && headerValue !== fromUrl.name) {
      throw MlflowError.invalidParameter(`The URL selects project '${fromUrl.label}' but the X-MLFLOW-WORKSPACE header selects '${headerValue}'.`);
    }
    return fromUrl;
  }
  if (headerValue) return { via: 'header', name: headerValue, label: headerValue };
  return undefined;
}

/** A request id: the caller's `X-Request-Id` when it is sane, else a new UUID-shaped id (unique, not secret). */
export function requestIdOf(raw: IncomingMessage): string {
  const header = raw.headers['x-request-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value && /^[A-Za-z0-9._:-]{1,100}$/.test(value)) return value;
  return processUniqueId();
}

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index === -1) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** 401s tell HTTP clients how to authenticate, except the web UI's calls (a browser would pop up its own dialog). */
function withChallenge(error: MlflowError, request: FastifyRequest): MlflowError {
  if (error.status !== 401 || error.headers['WWW-Authenticate']) return error;
  if (viaAjaxApi(request)) return error;
  return new MlflowError(error.code, error.message, { headers: { ...error.headers, 'WWW-Authenticate': 'Basic realm="trove", charset="UTF-8"' } });
}

export interface Authenticated {
  principal: Principal;
  csrfToken?: string;
}

/** Who the request is, from its Authorization header or its session cookie. */
export async function authenticate(auth: AuthService, request: FastifyRequest): Promise<Authenticated> {
  if (!auth.enabled) return { principal: ANONYMOUS_ADMIN };
  const header = request.headers.authorization;
  if (header !== undefined && header !== '') {
    const space = header.indexOf(' ');
    const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
    const value = space === -1 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer') return { principal: await auth.authenticateToken(value, request.ip ?? null) };
    if (scheme === 'basic') {
      let decoded: string;
      try {
        decoded = Buffer.from(value, 'base64').toString('utf8');
      } catch {
        decoded = '';
      }
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new MlflowError('UNAUTHENTICATED', 'Malformed Basic credentials: expected base64 of "username:password".');
      return { principal: await auth.authenticatePassword(decoded.slice(0, colon), decoded.slice(colon + 1), request.ip ?? null) };
    }
    throw new MlflowError('UNAUTHENTICATED', 'Unsupported Authorization scheme: use Bearer (access token) or Basic (user name and password).');
  }
  const session = cookieValue(request, SESSION_COOKIE);
  if (session) {
    const found = await auth.authenticateSession(session);
    if (found) return { principal: found.principal, csrfToken: found.csrfToken };
  }
  return { principal: ANONYMOUS };
}

/** Resolves the request's project and the principal's role in it. */
export async function resolveProject(auth: AuthService, request: FastifyRequest, principal: Principal): Promise<{ project: ProjectRef; role: RequestContext['role'] }> {
  const selection = projectSelectionOf(request);
  let project: ProjectRef = DEFAULT_PROJECT;
  if (selection) {
    const found = await auth.findProject(selection.id !== undefined ? { id: selection.id } : { name: selection.name! });
    if (!found) throw projectNotFound(selection.label);
    // GitLab's form names the project by id: a workspace header naming another project is as
    // contradictory as with the name forms (checked in projectSelectionOf).
    const header = request.headers[WORKSPACE_HEADER];
    const headerValue = (Array.isArray(header) ? header[0] : header)?.trim();
    if (selection.via === 'gitlab' && selection.name === undefined && headerValue && headerValue !== found.name) {
      throw MlflowError.invalidParameter(`The URL selects project '${selection.label}' (${found.name}) but the X-MLFLOW-WORKSPACE header selects '${headerValue}'.`);
    }
    project = { id: found.id, name: found.name };
  }
  return { project, role: await auth.roleIn(principal, project.id) };
}

export interface DeclaredRoute {
  method: string;
  url: string;
  permission: Permission;
}

const declarations = new WeakMap<FastifyInstance, DeclaredRoute[]>();

/** Every route of an app built with the auth hooks (and the /ajax-api/ URL that reaches it, ajax-alias.ts), with the permission it declares (tests enumerate them). */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return declarations.get(app) ?? [];
}

/**
 * Installs the hooks on the root instance; call before any route is registered (hooks and the
 * declaration check apply to routes registered after them).
 */
export function installAuthHooks(app: FastifyInstance, auth: AuthService): void {
  const declared: DeclaredRoute[] = [];
  declarations.set(app, declared);
  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = (route.config as { permission?: unknown } | undefined)?.permission;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!isPermission(permission)) {
      throw new Error(`Route ${methods.join(',')} ${route.url} declares no permission: add config.permission (src/domain/auth/permissions.ts).`);
    }
    const alias = ajaxAliasOf(route.url);
    for (const method of methods) {
      declared.push({ method, url: route.url, permission });
      if (alias !== undefined) declared.push({ method, url: alias, permission });
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
    const permission = request.routeOptions.config?.permission;
    const base = { requestId: String(request.id), sourceAddress: request.ip ?? null, authEnabled: auth.enabled };
    // No route matched: the not-found handler answers; nothing to authorise.
    if (permission === undefined) {
      request.troveContext = { ...base, project: DEFAULT_PROJECT, principal: auth.enabled ? ANONYMOUS : ANONYMOUS_ADMIN, role: null };
      return;
    }
    try {
      let authenticated: Authenticated;
      try {
        // Failed credentials are audited by the sign-in limiter: with the request's id and address.
        const anonymousContext = { ...base, project: DEFAULT_PROJECT, principal: ANONYMOUS, role: null };
        authenticated = await runWithContext(anonymousContext, () => authenticate(auth, request));
      } catch (error) {
        // Public endpoints (the login form, probes, the web app) answer anyone.
        if (permission !== 'public') throw error;
        authenticated = { principal: ANONYMOUS };
      }
      const { principal } = authenticated;
      if (authenticated.csrfToken !== undefined) request.troveCsrfToken = authenticated.csrfToken;
      if (principal.via === 'session' && UNSAFE_METHODS.has(request.method) && permission !== 'public') {
        const header = request.headers[CSRF_HEADER];
        const sent = Array.isArray(header) ? header[0] : header;
        if (!sent || !authenticated.csrfToken || !safeEqual(sent, authenticated.csrfToken)) {
          throw permissionDenied(`Missing or invalid CSRF token: send the session's csrf_token in the ${CSRF_HEADER} header.`);
        }
      }
      let context: RequestContext;
      if (PERMISSION_RULES[permission].scope === 'project') {
        // Without a credential, say so before looking the project up.
        if (auth.enabled && principal.kind === 'anonymous') {
          const decision = decide(permission, { ...base, principal, role: null, project: DEFAULT_PROJECT });
          if (!decision.allowed) throw decision.error;
        }
        const { project, role } = await resolveProject(auth, request, principal);
        context = { ...base, principal, project, role };
      } else {
        context = { ...base, principal, project: DEFAULT_PROJECT, role: null };
      }
      const decision = decide(permission, context);
      if (!decision.allowed) throw decision.error;
      request.troveContext = context;
    } catch (error) {
      if (error instanceof MlflowError) throw withChallenge(error, request);
      throw error;
    }
  });

  app.addHook('preHandler', (request, _reply, done) => {
    const context = request.troveContext;
    if (!context) {
      done();
      return;
    }
    runWithContext(context, done);
  });
}
