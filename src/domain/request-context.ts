import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who is asking, in which project, for which request. The HTTP layer works this out once per
 * request (credentials, project selection from the URL or the `X-MLFLOW-WORKSPACE` header) and
 * runs the route's handler inside `runWithContext`; domain services read the project they work in
 * and the actor they record in the audit log from here instead of taking them as arguments.
 *
 * Code running outside a request (the CLI, start-up tasks, tests calling services directly) sees
 * the default context: the `default` project and the `system` principal, which may do anything.
 */

/** Project roles, weakest first (GitLab's). */
export const ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** Scopes of a personal access token. */
export type TokenScope = 'read' | 'write';

/** How the principal proved who it is. */
export type CredentialKind = 'none' | 'password' | 'token' | 'session' | 'system';

export interface Principal {
  /** `anonymous`: no credential (auth off, or a public endpoint); `system`: the CLI or the server itself. */
  kind: 'anonymous' | 'user' | 'system';
  /** The user's id; null for anonymous and system principals. */
  userId: number | null;
  /** Name recorded in the audit log: the user name, `anonymous`, `system` or `cli:<os user>`. */
  username: string;
  isAdmin: boolean;
  via: CredentialKind;
  /** The token's id, scope and project restriction, when authenticated by an access token. */
  token?: { id: number; scope: TokenScope; projectId: number | null };
  /** The session's id, when authenticated by the web UI's session cookie. */
  sessionId?: number;
}

export interface ProjectRef {
  id: number;
  name: string;
}

export interface RequestContext {
  /** The project the request works in. */
  project: ProjectRef;
  principal: Principal;
  /** The principal's effective role in the project (admins and the anonymous principal of an open server: owner). */
  role: Role | null;
  /** Whether the server checks credentials at all (`trove server --auth`). */
  authEnabled: boolean;
  requestId: string | null;
  /** The client's address as the server saw it. */
  sourceAddress: string | null;
}

/** The project every entity belonged to before multi-project support; it keeps id 1. */
export const DEFAULT_PROJECT: ProjectRef = Object.freeze({ id: 1, name: 'default' });

export const SYSTEM_PRINCIPAL: Principal = Object.freeze({ kind: 'system', userId: null, username: 'system', isAdmin: true, via: 'system' });

/** With authentication off, every request is this principal: an admin of every project, as MLflow without auth. */
export const ANONYMOUS_ADMIN: Principal = Object.freeze({ kind: 'anonymous', userId: null, username: 'anonymous', isAdmin: true, via: 'none' });

/** With authentication on, a request without a credential (only public endpoints let it through). */
export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', userId: null, username: 'anonymous', isAdmin: false, via: 'none' });

const DEFAULT_CONTEXT: RequestContext = Object.freeze({
  project: DEFAULT_PROJECT,
  principal: SYSTEM_PRINCIPAL,
  role: 'owner',
  authEnabled: false,
  requestId: null,
  sourceAddress: null,
});

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the running request, or the default (system, `default` project) outside one. */
export function currentContext(): RequestContext {
  return storage.getStore() ?? DEFAULT_CONTEXT;
}

/** The id of the project the running request works in. */
export function currentProjectId(): number {
  return currentContext().project.id;
}

/**
 * The signed-in user's name when a user (not the anonymous principal of an open server, nor the
 * system) makes the request: what the registry records as the creator of a model or version.
 */
export function signedInUsername(): string | null {
  const principal = currentContext().principal;
  return principal.kind === 'user' ? principal.username : null;
}

/** Runs `work` (and everything it starts asynchronously) with `context` as the current context. */
export function runWithContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** A context for code acting on behalf of the system (or the CLI) in a given project. */
export function systemContext(options: { project?: ProjectRef; username?: string } = {}): RequestContext {
  return {
    ...DEFAULT_CONTEXT,
    project: options.project ?? DEFAULT_PROJECT,
    principal: options.username ? { ...SYSTEM_PRINCIPAL, username: options.username } : SYSTEM_PRINCIPAL,
  };
}

/** The same request, working in another project (the project management endpoints use it). */
export function withProject(context: RequestContext, project: ProjectRef, role: Role | null): RequestContext {
  return { ...context, project, role };
}
