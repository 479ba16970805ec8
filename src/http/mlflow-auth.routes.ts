import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../domain/errors.ts';
import { isSelfOrAdmin, type AuthService } from '../domain/auth/auth-service.ts';
import { permissionDenied } from '../domain/auth/permissions.ts';
import { currentContext, type Role } from '../domain/request-context.ts';
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
