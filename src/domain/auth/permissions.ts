import { MlflowError } from '../errors.ts';
import { ROLES, type Principal, type RequestContext, type Role } from '../request-context.ts';

/**
 * The one place that says who may do what. Every HTTP route declares one of these permissions
 * (`rpc(app, method, url, permission, handler)` or a route's `config.permission`); one hook
 * checks it before the handler runs, and the capabilities endpoint tells the web UI what to
 * show from the same table.
 *
 * Roles (GitLab's, per project; instance admins act as owners everywhere):
 * - guest, reporter: read everything in the project (experiments, runs, artifacts, models,
 *   members list).
 * - developer: + write tracking data (experiments, runs, metrics, params, tags, logged models,
 *   artifact uploads) and the registry (registered models, versions, their tags and
 *   descriptions, promoting a run).
 * - maintainer: + delete (experiments, runs, logged models, models, versions, artifacts), move
 *   any alias and transition stages (a deployment resolves `models:/name@alias`, so moving
 *   `production` — or any alias — is a release decision), webhooks, members, the audit log.
 * - owner: + project settings (rename, description, delete) and granting the owner role.
 *
 * Access tokens with the `read` scope get only the permissions that change nothing. Account
 * management (creating tokens, changing one's password) needs a password or a web session: a
 * leaked token cannot mint more tokens.
 */
export type Permission =
  // Instance level (no project involved).
  | 'public'
  | 'authenticated'
  | 'account'
  | 'admin:read'
  | 'admin:write'
  // Project level (the project selected by the URL or header).
  | 'read'
  | 'write'
  | 'register'
  | 'alias'
  | 'delete'
  | 'webhooks:read'
  | 'webhooks'
  | 'members'
  | 'audit'
  | 'settings'
  | 'import';

export interface PermissionRule {
  scope: 'instance' | 'project';
  /** Project permissions: the weakest role that has it. */
  minRole?: Role;
  /** Instance permissions only instance admins have. */
  admin?: boolean;
  /** Changes something: refused to `read`-scoped tokens. */
  writes: boolean;
  /** Refused to access tokens (password or web session only). */
  passwordOrSession?: boolean;
  /** What it lets one do, for error messages. */
  what: string;
}

export const PERMISSION_RULES: Readonly<Record<Permission, PermissionRule>> = Object.freeze({
  public: { scope: 'instance', writes: false, what: 'use public endpoints' },
  authenticated: { scope: 'instance', writes: false, what: 'use this endpoint' },
  account: { scope: 'instance', writes: true, passwordOrSession: true, what: 'manage your own credentials' },
  'admin:read': { scope: 'instance', admin: true, writes: false, what: 'read instance administration data' },
  'admin:write': { scope: 'instance', admin: true, writes: true, what: 'administer this instance' },
  read: { scope: 'project', minRole: 'guest', writes: false, what: 'read this project' },
  write: { scope: 'project', minRole: 'developer', writes: true, what: 'write experiments, runs and artifacts' },
  register: { scope: 'project', minRole: 'developer', writes: true, what: 'register models and versions' },
  alias: { scope: 'project', minRole: 'maintainer', writes: true, what: 'move model aliases and stages' },
  delete: { scope: 'project', minRole: 'maintainer', writes: true, what: 'delete' },
  'webhooks:read': { scope: 'project', minRole: 'maintainer', writes: false, what: 'read webhooks' },
  webhooks: { scope: 'project', minRole: 'maintainer', writes: true, what: 'manage webhooks' },
  members: { scope: 'project', minRole: 'maintainer', writes: true, what: 'manage members' },
  audit: { scope: 'project', minRole: 'maintainer', writes: false, what: 'read the audit log' },
  settings: { scope: 'project', minRole: 'owner', writes: true, what: 'change project settings' },
  import: { scope: 'project', minRole: 'maintainer', writes: true, what: 'import data (trove import --to)' },
});

export const PERMISSIONS = Object.keys(PERMISSION_RULES) as Permission[];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSION_RULES, value);
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` is at least `minimum`. */
export function roleAtLeast(role: Role | null, minimum: Role): boolean {
  return role !== null && roleRank(role) >= roleRank(minimum);
}

/** The role a principal acts with in a project, given its membership (admins: owner). */
export function effectiveRole(principal: Principal, memberRole: Role | null): Role | null {
  if (principal.isAdmin) return 'owner';
  return memberRole;
}

export type Decision =
  | { allowed: true }
  | { allowed: false; error: MlflowError };

const ALLOW: Decision = { allowed: true };

function deny(error: MlflowError): Decision {
  return { allowed: false, error };
}

/** The 401 every missing or refused credential gets. */
export function unauthenticated(message = 'Authentication required: send an access token (Authorization: Bearer, MLFLOW_TRACKING_TOKEN) or a user name and password (Basic, MLFLOW_TRACKING_USERNAME/PASSWORD).'): MlflowError {
  return new MlflowError('UNAUTHENTICATED', message);
}

export function permissionDenied(message: string): MlflowError {
  return new MlflowError('PERMISSION_DENIED', message);
}

/** A project that does not exist and one the principal may not see answer alike. */
export function projectNotFound(name: string): MlflowError {
  return MlflowError.notFound(`Project '${name}' does not exist or you are not a member of it.`);
}

/**
 * Decides whether the request may use an endpoint declaring `permission`. The context's role
 * must already be the effective role in its project (null: not a member).
 */
export function decide(permission: Permission, context: Pick<RequestContext, 'principal' | 'role' | 'authEnabled' | 'project'>): Decision {
  const rule = PERMISSION_RULES[permission];
  const { principal } = context;
  if (!context.authEnabled || permission === 'public' || principal.kind === 'system') return ALLOW;
  if (principal.kind === 'anonymous') return deny(unauthenticated());
  // A project the principal may not see answers 404 before anything else is said about it.
  if (rule.scope === 'project' && context.role === null) return deny(projectNotFound(context.project.name));

  if (principal.token) {
    if (rule.passwordOrSession) {
      return deny(permissionDenied(`Access tokens cannot ${rule.what}; sign in with your password instead.`));
    }
    if (rule.writes && principal.token.scope === 'read') {
      return deny(permissionDenied(`This access token has the 'read' scope; it cannot ${rule.what}.`));
    }
  }

  if (rule.scope === 'instance') {
    if (rule.admin && !principal.isAdmin) return deny(permissionDenied(`Only instance administrators may ${rule.what}.`));
    return ALLOW;
  }

  if (principal.token && principal.token.projectId !== null && principal.token.projectId !== context.project.id) {
    return deny(permissionDenied(`This access token is limited to another project; it cannot be used in project '${context.project.name}'.`));
  }
  const minRole = rule.minRole ?? 'owner';
  if (!roleAtLeast(context.role, minRole)) {
    return deny(
      permissionDenied(
        `Permission denied: to ${rule.what} in project '${context.project.name}' you need the ${minRole} role or higher; you have the ${context.role} role.`,
      ),
    );
  }
  return ALLOW;
}

/** Throws the deny error when the running request may not use `permission` (for checks that depend on the body). */
export function requirePermission(permission: Permission, context: RequestContext): void {
  const decision = decide(permission, context);
  if (!decision.allowed) throw decision.error;
}

/** Every project permission, for the capabilities endpoint. */
export function projectPermissions(context: RequestContext): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const permission of PERMISSIONS) {
    if (PERMISSION_RULES[permission].scope !== 'project') continue;
    result[permission] = decide(permission, context).allowed;
  }
  return result;
}

/**
 * The things the web UI offers, each with the permission it needs. The UI hides or disables
 * what the capabilities endpoint reports as false (e.g. Promote for a reporter).
 */
export const UI_ACTIONS: Readonly<Record<string, Permission>> = Object.freeze({
  create_experiment: 'write',
  edit_experiment: 'write',
  delete_experiment: 'delete',
  create_run: 'write',
  edit_run: 'write',
  delete_run: 'delete',
  upload_artifact: 'write',
  delete_artifact: 'delete',
  create_model: 'register',
  edit_model: 'register',
  delete_model: 'delete',
  promote: 'register',
  register_version: 'register',
  edit_version: 'register',
  delete_version: 'delete',
  set_alias: 'alias',
  transition_stage: 'alias',
  view_webhooks: 'webhooks:read',
  manage_webhooks: 'webhooks',
  view_members: 'read',
  manage_members: 'members',
  view_audit: 'audit',
  edit_project: 'settings',
  delete_project: 'settings',
});

export function uiActions(context: RequestContext): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const [action, permission] of Object.entries(UI_ACTIONS)) result[action] = decide(permission, context).allowed;
  return result;
}

/**
 * Whether `actor` (with role `actorRole` in the project) may give `target` the role `newRole`
 * (null: remove). Maintainers manage members up to their own role and never touch owners;
 * owners and admins manage everyone.
 */
export function checkMemberChange(actorRole: Role | null, currentRole: Role | null, newRole: Role | null): void {
  if (!roleAtLeast(actorRole, 'maintainer')) throw permissionDenied('Managing members needs the maintainer role or higher.');
  if (actorRole === 'owner') return;
  if (newRole === 'owner' || currentRole === 'owner') throw permissionDenied('Only owners may grant or change the owner role.');
}
