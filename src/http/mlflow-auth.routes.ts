import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../domain/errors.ts';
import { isSelfOrAdmin, type AuthService } from '../domain/auth/auth-service.ts';
import { permissionDenied, projectNotFound, requirePermission } from '../domain/auth/permissions.ts';
import { resolveProject } from './auth-hooks.ts';
import { currentContext, runWithContext, withProject, type Role } from '../domain/request-context.ts';
import type { Services } from '../domain/services.ts';
import type { UserRecord } from '../store/auth-store.ts';
import { bool, parseFields, text } from './request-schema.ts';
import { rpc } from './rpc.ts';

/**
 * MLflow's basic-auth admin API (`mlflow server --app-name basic-auth`; the client is
 * `mlflow.server.get_app_client("basic-auth", tracking_uri)`), relative to /api/2.0 or
 * /ajax-api/2.0, mapped onto Trove's users and project roles:
 *
 * - users/create, get, update-password, update-admin, delete, current: Trove users.
 * - experiments/permissions/* and registered-models/permissions/*: Trove has no per-experiment
 *   or per-model grants, only per-project roles. A permission on an experiment or a model is
 *   the user's role in the project that holds it: READ = reporter, EDIT = developer,
 *   MANAGE = maintainer (guest reads as READ, owner as MANAGE). Creating or updating one sets
 *   the user's role in that project (so it applies to every experiment and model there);
 *   deleting one (or NO_PERMISSIONS) removes the membership. See docs/api-trove.md.
 */

const PERMISSIONS = ['READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS'] as const;
type MlflowPermission = (typeof PERMISSIONS)[number];

const ROLE_OF: Record<Exclude<MlflowPermission, 'NO_PERMISSIONS'>, Role> = { READ: 'reporter', EDIT: 'developer', MANAGE: 'maintainer' };

function permissionOf(role: Role | undefined): MlflowPermission {
  switch (role) {
    case undefined:
      return 'NO_PERMISSIONS';
    case 'guest':
    case 'reporter':
      return 'READ';
    case 'developer':
      return 'EDIT';
    default:
      return 'MANAGE';
  }
}

function parsePermission(value: string): MlflowPermission {
  const found = PERMISSIONS.find((p) => p === value.toUpperCase());
  if (!found) throw MlflowError.invalidParameter(`Invalid permission '${value}'. Valid permissions are: ${PERMISSIONS.join(', ')}.`);
  return found;
}

const createUserSchema = z.object({ username: text, password: text });
const usernameSchema = z.object({ username: text });
const updatePasswordSchema = z.object({ username: text, password: text, current_password: text.optional() });
const updateAdminSchema = z.object({ username: text, is_admin: bool });
const experimentPermissionSchema = z.object({ experiment_id: text, username: text, permission: text });
const experimentRefSchema = z.object({ experiment_id: text, username: text });
const modelPermissionSchema = z.object({ name: text, username: text, permission: text });
const modelRefSchema = z.object({ name: text, username: text });

/** MLflow's User JSON; Trove keeps no per-resource grants, so the permission lists are empty. */
function presentMlflowUser(user: UserRecord): Record<string, unknown> {
  return { id: user.id, username: user.username, is_admin: user.isAdmin, experiment_permissions: [], registered_model_permissions: [] };
}

export async function mlflowAuthRoutes(app: FastifyInstance, auth: AuthService, { tracking, registry }: Services): Promise<void> {
  // ------------------------------------------------------------------ users

  rpc(app, 'POST', '/mlflow/users/create', 'admin:write', async (fields) => {
    const input = parseFields(createUserSchema, fields);
    const created = await auth.createUser({ username: input.username, password: input.password, generatePassword: false });
    return { user: presentMlflowUser(created.user) };
  });

  rpc(app, 'GET', '/mlflow/users/get', 'authenticated', async (fields) => {
    const input = parseFields(usernameSchema, fields);
    if (!isSelfOrAdmin(currentContext().principal, input.username)) throw permissionDenied('Only instance administrators may read other users.');
    return { user: presentMlflowUser(await auth.getUser(input.username)) };
  });

  rpc(app, 'GET', '/mlflow/users/current', 'authenticated', async () => {
    const { principal } = currentContext();
    if (principal.kind !== 'user') return { user: { id: null, username: principal.username, is_admin: principal.isAdmin, experiment_permissions: [], registered_model_permissions: [] } };
    return { user: presentMlflowUser(await auth.getUser(principal.username)) };
  });

  rpc(app, 'PATCH', '/mlflow/users/update-password', 'account', async (fields) => {
    const input = parseFields(updatePasswordSchema, fields);
    const { principal } = currentContext();
    if (!isSelfOrAdmin(principal, input.username)) throw permissionDenied("Only instance administrators may change other users' passwords.");
    const self = principal.kind === 'user' && principal.username === input.username;
    // Self-service: the password was just checked (Basic auth) unless the request came with a session.
    if (self && (principal.via === 'session' || input.current_password !== undefined)) await auth.verifyCurrentPassword(input.username, input.current_password);
    await auth.setPassword(input.username, input.password);
    return {};
  });

  rpc(app, 'PATCH', '/mlflow/users/update-admin', 'admin:write', async (fields) => {
    const input = parseFields(updateAdminSchema, fields);
    await auth.setAdmin(input.username, input.is_admin);
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/users/delete', 'admin:write', async (fields) => {
    const input = parseFields(usernameSchema, fields);
    if (input.username === currentContext().principal.username) throw MlflowError.invalidParameter('You cannot delete your own account.');
    await auth.deleteUser(input.username);
    return {};
  });

  // ------------------------------------------------------------------ experiment permissions

  const grant = async (username: string, permission: MlflowPermission, mode: 'add' | 'update'): Promise<void> => {
    const project = currentContext().project;
    if (permission === 'NO_PERMISSIONS') {
      const { role } = await auth.memberRole(project.id, username);
      if (role !== undefined) await auth.removeMember(project, username);
      else if (mode === 'update') throw MlflowError.notFound(`User '${username}' has no permission in project '${project.name}'.`);
      return;
    }
    await auth.setMember(project, username, ROLE_OF[permission], mode);
  };

  const current = async (username: string): Promise<{ userId: number; permission: MlflowPermission }> => {
    const project = currentContext().project;
    const { user, role } = await auth.memberRole(project.id, username);
    if (role === undefined) throw MlflowError.notFound(`User '${username}' has no permission in project '${project.name}'.`);
    return { userId: user.id, permission: permissionOf(role) };
  };

  rpc(app, 'POST', '/mlflow/experiments/permissions/create', 'members', async (fields) => {
    const input = parseFields(experimentPermissionSchema, fields);
    const experiment = await tracking.getExperiment(input.experiment_id);
    const permission = parsePermission(input.permission);
    await grant(input.username, permission, 'add');
    const user = await auth.getUser(input.username);
    return { experiment_permission: { experiment_id: experiment.experimentId, user_id: user.id, permission } };
  });

  rpc(app, 'GET', '/mlflow/experiments/permissions/get', 'read', async (fields) => {
    const input = parseFields(experimentRefSchema, fields);
    const experiment = await tracking.getExperiment(input.experiment_id);
    const found = await current(input.username);
    return { experiment_permission: { experiment_id: experiment.experimentId, user_id: found.userId, permission: found.permission } };
  });

  rpc(app, 'PATCH', '/mlflow/experiments/permissions/update', 'members', async (fields) => {
    const input = parseFields(experimentPermissionSchema, fields);
    await tracking.getExperiment(input.experiment_id);
    await grant(input.username, parsePermission(input.permission), 'update');
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/experiments/permissions/delete', 'members', async (fields) => {
    const input = parseFields(experimentRefSchema, fields);
    await tracking.getExperiment(input.experiment_id);
    await current(input.username);
    await auth.removeMember(currentContext().project, input.username);
    return {};
  });

  // ------------------------------------------------------------------ registered model permissions

  rpc(app, 'POST', '/mlflow/registered-models/permissions/create', 'members', async (fields) => {
    const input = parseFields(modelPermissionSchema, fields);
    const model = await registry.getRegisteredModel(input.name);
    const permission = parsePermission(input.permission);
    await grant(input.username, permission, 'add');
    const user = await auth.getUser(input.username);
    return { registered_model_permission: { name: model.name, user_id: user.id, permission } };
  });

  rpc(app, 'GET', '/mlflow/registered-models/permissions/get', 'read', async (fields) => {
    const input = parseFields(modelRefSchema, fields);
    const model = await registry.getRegisteredModel(input.name);
    const found = await current(input.username);
    return { registered_model_permission: { name: model.name, user_id: found.userId, permission: found.permission } };
  });

  rpc(app, 'PATCH', '/mlflow/registered-models/permissions/update', 'members', async (fields) => {
    const input = parseFields(modelPermissionSchema, fields);
    await registry.getRegisteredModel(input.name);
    await grant(input.username, parsePermission(input.permission), 'update');
    return {};
  });

  rpc(app, 'DELETE', '/mlflow/registered-models/permissions/delete', 'members', async (fields) => {
    const input = parseFields(modelRefSchema, fields);
    await registry.getRegisteredModel(input.name);
    await current(input.username);
    await auth.removeMember(currentContext().project, input.username);
    return {};
  });
}

const grantSchema = z.object({ username: text, resource_type: text, resource_id: text, permission: text });
const resourceSchema = z.object({ username: text, resource_type: text, resource_id: text });

/** MLflow 3's permission names: USE (a gateway tier Trove has not) reads back as READ; DENY has no equivalent. */
function parsePermissionV3(value: string): MlflowPermission {
  if (value.toUpperCase() === 'USE') return 'READ';
  if (value.toUpperCase() === 'DENY') {
    throw MlflowError.invalidParameter("Permission 'DENY' is not supported: Trove has no deny rules; remove the membership (NO_PERMISSIONS) instead.");
  }
  return parsePermission(value);
}

/**
 * MLflow 3's unified grant API (`AuthServiceClient.grant_user_permission`, `revoke_user_permission`,
 * `get_user_permission`), relative to /api/3.0 or /ajax-api/3.0: resource types `experiment`
 * (id), `registered_model` (name) and `workspace` (a project name) map onto the user's role in the
 * project that holds the resource, as the 2.0 permission endpoints do. The caller needs the
 * maintainer role there to grant or revoke, and to be a member to read.
 */
export async function mlflowAuthRoutesV3(app: FastifyInstance, auth: AuthService, { tracking, registry }: Services): Promise<void> {
  /**
   * Runs `work` in the resource's project — the named one for `workspace`, else the one the
   * request selects (these routes are instance-level, so the hook did not resolve it) — after
   * checking `permission` there.
   */
  const inResourceProject = async <T>(
    request: FastifyRequest,
    type: string,
    id: string,
    permission: 'members' | 'read',
    work: () => Promise<T>,
  ): Promise<T | undefined> => {
    const context = currentContext();
    let scoped;
    if (type === 'workspace') {
      const found = await auth.findProject({ name: id });
      if (!found) throw projectNotFound(id);
      const project = { id: found.id, name: found.name };
      scoped = withProject(context, project, await auth.roleIn(context.principal, project.id));
    } else {
      const { project, role } = await resolveProject(auth, request, context.principal);
      scoped = withProject(context, project, role);
    }
    requirePermission(permission, scoped);
    return runWithContext(scoped, () => checked(type, id, permission, work));
  };

  const checked = async <T>(type: string, id: string, permission: 'members' | 'read', work: () => Promise<T>): Promise<T | undefined> => {
    if (type === 'workspace') return work();
    if (type === 'experiment') {
      try {
        await tracking.getExperiment(id);
      } catch (error) {
        // An unknown resource reads as "no permission" (MLflow's deny-by-default) for get.
        if (permission === 'read' && error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw error;
      }
    } else if (type === 'registered_model') {
      try {
        await registry.getRegisteredModel(id);
      } catch (error) {
        if (permission === 'read' && error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw error;
      }
    } else {
      throw MlflowError.invalidParameter(
        `Resource type '${type}' is not supported: Trove grants roles per project (use experiment, registered_model or workspace).`,
      );
    }
    return work();
  };

  rpc(app, 'POST', '/mlflow/users/permissions/grant', 'authenticated', async (fields, request) => {
    const input = parseFields(grantSchema, fields);
    const permission = parsePermissionV3(input.permission);
    await auth.getUser(input.username);
    await inResourceProject(request, input.resource_type, input.resource_id, 'members', async () => {
      const project = currentContext().project;
      const { role } = await auth.memberRole(project.id, input.username);
      if (permission === 'NO_PERMISSIONS') {
        if (role !== undefined) await auth.removeMember(project, input.username);
        return;
      }
      await auth.setMember(project, input.username, ROLE_OF[permission], 'upsert');
    });
    return {};
  });

  rpc(app, 'POST', '/mlflow/users/permissions/revoke', 'authenticated', async (fields, request) => {
    const input = parseFields(resourceSchema, fields);
    await auth.getUser(input.username);
    await inResourceProject(request, input.resource_type, input.resource_id, 'members', async () => {
      const project = currentContext().project;
      const { role } = await auth.memberRole(project.id, input.username);
      if (role === undefined) throw MlflowError.notFound(`User '${input.username}' has no permission in project '${project.name}'.`);
      await auth.removeMember(project, input.username);
    });
    return {};
  });

  rpc(app, 'GET', '/mlflow/users/permissions/get', 'authenticated', async (fields, request) => {
    const input = parseFields(resourceSchema, fields);
    await auth.getUser(input.username);
    const permission = await inResourceProject(request, input.resource_type, input.resource_id, 'read', async () => {
      const { role } = await auth.memberRole(currentContext().project.id, input.username);
      return permissionOf(role);
    });
    const name = permission ?? 'NO_PERMISSIONS';
    return { allowed: name === 'EDIT' || name === 'MANAGE', permission: name };
  });
}
