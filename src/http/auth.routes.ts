import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { MlflowError, missingParameter } from '../domain/errors.ts';
import { AuthService, isSelfOrAdmin } from '../domain/auth/auth-service.ts';
import { permissionDenied, projectPermissions, uiActions } from '../domain/auth/permissions.ts';
import { parseTimeBound, type AuditFilter, type AuditLog } from '../domain/audit/audit-log.ts';
import { currentContext } from '../domain/request-context.ts';
import { presentAuditEntry, presentMember, presentProject, presentToken, presentUser } from './auth-presenters.ts';
import { SESSION_COOKIE } from './auth-hooks.ts';
import { bool, int64, parseFields, requestFields, text } from './request-schema.ts';
import { rpc } from './rpc.ts';

/**
 * Trove's account, project, member, token and audit endpoints for the web UI and scripts,
 * relative to /api/2.0/trove or /ajax-api/2.0/trove. Documented in docs/api-trove.md
 * ("Projects, users and access").
 *
 * Instance-level endpoints ignore the project selection; the `/project...` and `/capabilities`
 * endpoints work on the project the request selects (`/projects/<name>` prefix, GitLab URL or
 * `X-MLFLOW-WORKSPACE` header), like every MLflow endpoint.
 */

const loginSchema = z.object({ username: text, password: text });
const passwordSchema = z.object({ new_password: text, current_password: text.optional() });
const createProjectSchema = z.object({ name: text, description: text.optional(), owner: text.optional() });
const updateProjectSchema = z.object({ new_name: text.optional(), description: text.optional() });
const memberSchema = z.object({ username: text, role: text });
const memberRoleSchema = z.object({ username: text, role: text });
const usernameSchema = z.object({ username: text });
const createUserSchema = z.object({ username: text, password: text.optional(), is_admin: bool.optional() });
const updateUserSchema = z.object({ username: text, is_admin: bool.optional(), password: text.optional(), reset_password: bool.optional() });
const listTokensSchema = z.object({ username: text.optional(), project: text.optional() });
const createTokenSchema = z.object({
  name: text.optional(),
  scope: text,
  project: text.optional(),
  expires_in: text.optional(),
  username: text.optional(),
});
const tokenIdSchema = z.object({ token_id: int64 });
const auditSchema = z.object({
  project: text.optional(),
  actor: text.optional(),
  action: text.optional(),
  entity_type: text.optional(),
  entity_id: text.optional(),
  since: text.optional(),
  until: text.optional(),
  max_results: int64.optional(),
  page_token: text.optional(),
});

export async function authRoutes(app: FastifyInstance, auth: AuthService, audit: AuditLog | undefined): Promise<void> {
  // ------------------------------------------------------------------ session (web UI sign-in)

  app.post('/auth/login', { config: { permission: 'public' } }, async (request, reply) => {
    const input = parseFields(loginSchema, requestFields('POST', undefined, request.body));
    const login = await auth.login(input.username, input.password, {
      sourceAddress: request.ip ?? null,
      userAgent: headerValue(request, 'user-agent') ?? null,
    });
    void reply.header('Set-Cookie', sessionCookie(request, login.sessionSecret, Math.floor(auth.sessionLifetimeMs / 1000)));
    return { user: presentUser(login.user), csrf_token: login.csrfToken, expires_at: login.expiresAt };
  });

  app.post('/auth/logout', { config: { permission: 'public' } }, async (request, reply) => {
    const principal = request.troveContext?.principal;
    if (principal?.via === 'session' && principal.sessionId !== undefined) await auth.logout(principal.sessionId);
    void reply.header('Set-Cookie', sessionCookie(request, '', 0));
    return {};
  });

  rpc(app, 'GET', '/auth/session', 'public', async (_fields, request) => {
    const principal = request.troveContext?.principal;
    const authenticated = auth.enabled ? principal?.kind === 'user' : true;
    return {
      auth_enabled: auth.enabled,
      authenticated,
      ...(principal && principal.kind === 'user'
        ? {
            user: { id: principal.userId, username: principal.username, is_admin: principal.isAdmin },
            via: principal.via,
            ...(principal.token ? { token_scope: principal.token.scope } : {}),
          }
        : auth.enabled
          ? {}
          : { user: { id: null, username: 'anonymous', is_admin: true }, via: 'none' }),
      ...(request.troveCsrfToken !== undefined ? { csrf_token: request.troveCsrfToken } : {}),
    };
  });

  rpc(app, 'POST', '/auth/password', 'account', async (fields) => {
    const input = parseFields(passwordSchema, fields);
    const { principal } = currentContext();
    if (principal.kind !== 'user') throw MlflowError.badRequest('Only signed-in users have a password.');
    // A stolen session cookie must not be enough to take the account over.
    if (principal.via === 'session' || input.current_password !== undefined) await auth.verifyCurrentPassword(principal.username, input.current_password);
    await auth.setPassword(principal.username, input.new_password);
    return {};
  });

  // ------------------------------------------------------------------ projects

  rpc(app, 'GET', '/projects', 'authenticated', async () => {
    const projects = await auth.listVisibleProjects(currentContext().principal);
    return { projects: projects.map(presentProject) };
  });

  rpc(app, 'POST', '/projects', 'admin:write', async (fields) => {
    const input = parseFields(createProjectSchema, fields);
    const project = await auth.createProject({ name: input.name, description: input.description, owner: input.owner });
    return { project: presentProject(project) };
  });

  rpc(app, 'GET', '/project', 'read', async () => {
    const context = currentContext();
    const project = await auth.getProjectOrThrow(context.project.name);
    return { project: { ...presentProject(project), role: context.role } };
  });

  rpc(app, 'PATCH', '/project', 'settings', async (fields) => {
    const input = parseFields(updateProjectSchema, fields);
    const project = await auth.updateProject(currentContext().project, { newName: input.new_name, description: input.description });
    return { project: presentProject(project) };
  });

  rpc(app, 'DELETE', '/project', 'settings', async () => {
    await auth.deleteProject(currentContext().project);
    return {};
  });

  rpc(app, 'GET', '/capabilities', 'read', async () => {
    const context = currentContext();
    const { principal } = context;
    return {
      auth_enabled: context.authEnabled,
      project: { id: context.project.id, name: context.project.name },
      user: principal.kind === 'user' ? { id: principal.userId, username: principal.username, is_admin: principal.isAdmin } : null,
      role: context.role,
      is_admin: principal.isAdmin,
      token_scope: principal.token?.scope ?? null,
      permissions: projectPermissions(context),
      actions: uiActions(context),
    };
  });

  // ------------------------------------------------------------------ members

  rpc(app, 'GET', '/project/members', 'read', async () => {
    const members = await auth.listMembers(currentContext().project.id);
    return { members: members.map(presentMember) };
  });

  rpc(app, 'POST', '/project/members', 'members', async (fields) => {
    const input = parseFields(memberSchema, fields);
    const member = await auth.setMember(currentContext().project, input.username, input.role, 'add');
    return { member: presentMember(member) };
  });

  rpc(app, 'PATCH', '/project/members/:username', 'members', async (fields) => {
    const input = parseFields(memberRoleSchema, fields);
    const member = await auth.setMember(currentContext().project, input.username, input.role, 'update');
    return { member: presentMember(member) };
  });

  rpc(app, 'DELETE', '/project/members/:username', 'members', async (fields) => {
    const input = parseFields(usernameSchema, fields);
    await auth.removeMember(currentContext().project, input.username);
    return {};
  });

  // ------------------------------------------------------------------ users (instance admins)

  rpc(app, 'GET', '/users', 'admin:read', async () => ({ users: (await auth.listUsers()).map(presentUser) }));

  rpc(app, 'POST', '/users', 'admin:write', async (fields) => {
    const input = parseFields(createUserSchema, fields);
    const created = await auth.createUser({ username: input.username, password: input.password, isAdmin: input.is_admin });
    return { user: presentUser(created.user), ...(created.generatedPassword !== undefined ? { password: created.generatedPassword } : {}) };
  });

  rpc(app, 'PATCH', '/users/:username', 'admin:write', async (fields) => {
    const input = parseFields(updateUserSchema, fields);
    let generated: string | undefined;
    if (input.password !== undefined) await auth.setPassword(input.username, input.password);
    else if (input.reset_password === true) generated = await auth.setPassword(input.username, undefined);
    const user = input.is_admin !== undefined ? await auth.setAdmin(input.username, input.is_admin) : await auth.getUser(input.username);
    return { user: presentUser(user), ...(generated !== undefined ? { password: generated } : {}) };
  });

  rpc(app, 'DELETE', '/users/:username', 'admin:write', async (fields) => {
    const input = parseFields(usernameSchema, fields);
    if (input.username === currentContext().principal.username) throw MlflowError.invalidParameter('You cannot delete your own account.');
    await auth.deleteUser(input.username);
    return {};
  });

  // ------------------------------------------------------------------ access tokens

  rpc(app, 'GET', '/tokens', 'authenticated', async (fields) => {
    const input = parseFields(listTokensSchema, fields);
    const { principal } = currentContext();
    const username = input.username ?? (principal.kind === 'user' ? principal.username : undefined);
    if (username !== undefined && !isSelfOrAdmin(principal, username)) throw permissionDenied("Only instance administrators may list other users' tokens.");
    if (username === undefined && !principal.isAdmin) throw missingParameter('username');
    const tokens = await auth.listTokens({ username, project: input.project });
    return { tokens: tokens.map((t) => presentToken(t)) };
  });

  rpc(app, 'POST', '/tokens', 'account', async (fields) => {
    const input = parseFields(createTokenSchema, fields);
    const { principal } = currentContext();
    const username = input.username ?? (principal.kind === 'user' ? principal.username : undefined);
    if (username === undefined) throw missingParameter('username');
    if (!isSelfOrAdmin(principal, username)) throw permissionDenied('Only instance administrators may create tokens for other users.');
    const created = await auth.createToken({ username, project: input.project, scope: input.scope, expiresIn: input.expires_in, name: input.name });
    return { token: created.token, access_token: presentToken(created.record) };
  });

  rpc(app, 'DELETE', '/tokens/:token_id', 'account', async (fields) => {
    const input = parseFields(tokenIdSchema, fields);
    const { principal } = currentContext();
    const owner = principal.isAdmin || principal.kind !== 'user' ? undefined : (principal.userId ?? undefined);
    const token = await auth.revokeToken(input.token_id, owner);
    return { access_token: presentToken(token) };
  });

  // ------------------------------------------------------------------ audit log

  if (!audit) return;

  rpc(app, 'GET', '/audit', 'admin:read', async (fields) => {
    const input = parseFields(auditSchema, fields);
    const filter = await auditFilter(auth, input, undefined);
    return presentAuditPage(auth, await audit.query(filter, { maxResults: input.max_results, pageToken: input.page_token }));
  });

  app.get('/audit/export', { config: { permission: 'admin:read' } }, async (request, reply) => {
    const input = parseFields(auditSchema, queryOf(request));
    return sendNdjson(reply, auth, audit, await auditFilter(auth, input, undefined));
  });

  rpc(app, 'GET', '/project/audit', 'audit', async (fields) => {
    const input = parseFields(auditSchema, fields);
    const filter = await auditFilter(auth, input, currentContext().project.id);
    return presentAuditPage(auth, await audit.query(filter, { maxResults: input.max_results, pageToken: input.page_token }));
  });

  app.get('/project/audit/export', { config: { permission: 'audit' } }, async (request, reply) => {
    const input = parseFields(auditSchema, queryOf(request));
    return sendNdjson(reply, auth, audit, await auditFilter(auth, input, currentContext().project.id));
  });
}

type AuditInput = z.output<typeof auditSchema>;

async function auditFilter(auth: AuthService, input: AuditInput, projectId: number | undefined): Promise<AuditFilter> {
  let project = projectId;
  if (project === undefined && input.project !== undefined && input.project !== '') project = (await auth.getProjectOrThrow(input.project)).id;
  return {
    projectId: project,
    actor: input.actor,
    action: input.action,
    entityType: input.entity_type,
    entityId: input.entity_id,
    since: input.since !== undefined ? parseTimeBound(input.since, 'since') : undefined,
    until: input.until !== undefined ? parseTimeBound(input.until, 'until') : undefined,
  };
}

async function presentAuditPage(auth: AuthService, page: Awaited<ReturnType<AuditLog['query']>>): Promise<object> {
  const names = await auth.projectNames();
  return { entries: page.entries.map((e) => presentAuditEntry(e, names)), ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) };
}

async function sendNdjson(reply: FastifyReply, auth: AuthService, audit: AuditLog, filter: AuditFilter): Promise<FastifyReply> {
  const names = await auth.projectNames();
  const lines = async function* () {
    for await (const row of audit.export(filter)) yield `${JSON.stringify(presentAuditEntry(row, names))}\n`;
  };
  return reply
    .type('application/x-ndjson; charset=utf-8')
    .header('Content-Disposition', 'attachment; filename=trove-audit.ndjson')
    .header('Cache-Control', 'no-store')
    .send(Readable.from(lines()));
}

function queryOf(request: FastifyRequest): Record<string, unknown> {
  const query = request.query;
  return query && typeof query === 'object' ? (query as Record<string, unknown>) : {};
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (no other site's page
 * can make the browser send it), Secure when the request came over https.
 */
function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (request.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}
