import { MlflowError } from '../errors.ts';
import type { AuditSink } from '../audit/audit-log.ts';
import { NO_AUDIT } from '../audit/audit-log.ts';
import {
  currentContext,
  DEFAULT_PROJECT,
  type Principal,
  type ProjectRef,
  type Role,
  type TokenScope,
} from '../request-context.ts';
import { checkMemberChange, effectiveRole, isRole, permissionDenied, projectNotFound, unauthenticated } from './permissions.ts';
import {
  DEFAULT_SCRYPT_PARAMS,
  generatePassword,
  generateSessionSecret,
  generateToken,
  hashPassword,
  looksLikeToken,
  sha256Hex,
  tokenHint,
  verifyPassword,
  type ScryptParams,
} from './secrets.ts';
import {
  parseDuration,
  parseRole,
  parseScope,
  validatePassword,
  validateProjectDescription,
  validateProjectName,
  validateTokenName,
  validateUsername,
} from './validation.ts';
import type { AuthStore, MemberRecord, ProjectRecord, TokenRecord, UserRecord } from '../../store/auth-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { PasswordSignIn } from './password-sign-in.ts';
import { SignInLimiter, type SignInLimits } from './sign-in-limiter.ts';

export interface AuthOptions {
  /** `trove server --auth`; off by default, as MLflow. */
  enabled: boolean;
  scrypt?: ScryptParams;
  /** Back-off after failed passwords and tokens (see sign-in-limiter.ts). */
  signInLimits?: Partial<SignInLimits>;
  /** Web session lifetime (absolute) and idle timeout. */
  sessionTtlMs?: number;
  sessionIdleMs?: number;
  now?: () => number;
}

const DEFAULT_SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_SESSION_IDLE_MS = 24 * 60 * 60 * 1000;
/** last_used_at / last_seen_at are written at most this often per token or session. */
const TOUCH_INTERVAL_MS = 60 * 1000;

export interface CreatedUser {
  user: UserRecord;
  /** The generated password, when none was given: show it once. */
  generatedPassword?: string;
}

export interface CreatedToken {
  /** The secret: show it once; only its hash is stored. */
  token: string;
  record: TokenRecord;
}

export interface SessionLogin {
  user: UserRecord;
  /** The cookie value. */
  sessionSecret: string;
  csrfToken: string;
  expiresAt: number;
}

export interface VisibleProject extends ProjectRecord {
  /** The user's membership role; null for an admin who is not a member. */
  role: Role | null;
}

/**
 * Users, credentials, projects and members. The HTTP layer asks it who a request is (from a
 * token, a password or a session), which project a URL names and what role the principal has
 * there; the admin endpoints, the MLflow auth API and the CLI manage users, projects, members
 * and tokens through it. Every change is audited in its own transaction.
 */
export class AuthService {
  readonly enabled: boolean;
  private readonly scrypt: ScryptParams;
  private readonly limiter: SignInLimiter;
  private readonly sessionTtlMs: number;
  private readonly sessionIdleMs: number;
  private readonly now: () => number;
  private readonly passwords: PasswordSignIn;

  constructor(
    private readonly store: AuthStore,
    private readonly audit: AuditSink = NO_AUDIT,
    options: AuthOptions = { enabled: false },
  ) {
    this.enabled = options.enabled;
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
    this.sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.sessionIdleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.now = options.now ?? Date.now;
    this.limiter = new SignInLimiter(store, audit, options.signInLimits, this.now);
    this.passwords = new PasswordSignIn(store, this.limiter, { scrypt: this.scrypt, now: this.now });
  }

  /**
   * An open (auth off) service for harnesses without a database: every request is the
   * anonymous admin in the default project; naming any other project answers 404.
   */
  static openWithoutStore(): AuthService {
    const store = new Proxy({} as AuthStore, {
      get: (_target, property) => {
        if (property === 'getProjectByName' || property === 'getProject') return async () => undefined;
        return () => {
          throw new Error(`No auth store in this harness (${String(property)}).`);
        };
      },
    });
    return new AuthService(store, NO_AUDIT, { enabled: false });
  }

  get sessionLifetimeMs(): number {
    return this.sessionTtlMs;
  }

  // ------------------------------------------------------------------ authentication

  /**
   * A principal from an `Authorization: Bearer` token. A rejected token counts against its
   * address in the sign-in limiter; a valid one always works.
   * @throws UNAUTHENTICATED for a malformed, unknown, revoked or expired token, or one whose user is gone;
   *   REQUEST_LIMIT_EXCEEDED (429) while the address waits after too many rejected tokens
   */
  async authenticateToken(token: string, sourceAddress: string | null = null): Promise<Principal> {
    const reject = async (message: string, why: string): Promise<never> => {
      await this.limiter.tokenRejected(sourceAddress, why);
      throw unauthenticated(message);
    };
    if (!looksLikeToken(token)) return reject('Invalid access token.', 'malformed');
    const record = await this.store.getTokenByHash(sha256Hex(token));
    if (!record) return reject('Invalid access token.', 'unknown');
    const now = this.now();
    if (record.revokedAt !== null) return reject('This access token has been revoked.', 'revoked');
    if (record.expiresAt !== null && record.expiresAt <= now) return reject('This access token has expired.', 'expired');
    const user = await this.store.getUser(record.userId);
    if (!user) return reject('Invalid access token.', 'no user');
    if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.store.touchToken(record.id, now).catch(() => undefined);
    }
    return {
      kind: 'user',
      userId: user.id,
      username: user.username,
      isAdmin: user.isAdmin,
      via: 'token',
      token: { id: record.id, scope: record.scope === 'read' ? 'read' : 'write', projectId: record.projectId },
    };
  }

  /**
   * A principal from `Authorization: Basic` (MLFLOW_TRACKING_USERNAME/PASSWORD). An access token
   * is accepted as the password too, as GitLab does; then the user name is not checked.
   * @throws UNAUTHENTICATED for a wrong user name or password; REQUEST_LIMIT_EXCEEDED (429, with
   *   Retry-After) after too many failures for the user name or the address
   */
  async authenticatePassword(username: string, password: string, sourceAddress: string | null): Promise<Principal> {
    if (looksLikeToken(password)) return this.authenticateToken(password, sourceAddress);
    const user = await this.passwords.check(username, password, sourceAddress);
    return { kind: 'user', userId: user.id, username: user.username, isAdmin: user.isAdmin, via: 'password' };
  }

  /** The web session a cookie names, or undefined when it is unknown, expired or idle too long. */
  async authenticateSession(sessionSecret: string): Promise<{ principal: Principal; csrfToken: string } | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sessionSecret)) return undefined;
    const session = await this.store.getSessionByHash(sha256Hex(sessionSecret));
    if (!session) return undefined;
    const now = this.now();
    if (session.expiresAt <= now || now - session.lastSeenAt > this.sessionIdleMs) {
      await this.store.deleteSession(session.id).catch(() => undefined);
      return undefined;
    }
    const user = await this.store.getUser(session.userId);
    if (!user) return undefined;
    if (now - session.lastSeenAt >= TOUCH_INTERVAL_MS) await this.store.touchSession(session.id, now).catch(() => undefined);
    return {
      principal: { kind: 'user', userId: user.id, username: user.username, isAdmin: user.isAdmin, via: 'session', sessionId: session.id },
      csrfToken: session.csrfToken,
    };
  }

  /** Signs in for the web UI: checks the password (rate-limited) and opens a session. */
  async login(username: unknown, password: unknown, meta: { sourceAddress: string | null; userAgent: string | null }): Promise<SessionLogin> {
    if (!this.enabled) throw MlflowError.badRequest('Authentication is not enabled on this server (start it with `trove server --auth`).');
    if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
      throw MlflowError.invalidParameter('Both username and password are required.');
    }
    const user = await this.passwords.check(username, password, meta.sourceAddress);
    const sessionSecret = generateSessionSecret();
    const csrfToken = generateSessionSecret();
    const now = this.now();
    const expiresAt = now + this.sessionTtlMs;
    await this.store.transaction(async (tx) => {
      const id = await tx.createSession({
        userId: user.id,
        sessionHash: sha256Hex(sessionSecret),
        csrfToken,
        now,
        expiresAt,
        sourceAddress: meta.sourceAddress,
        userAgent: meta.userAgent ? meta.userAgent.slice(0, 500) : null,
      });
      await tx.deleteExpiredSessions(now);
      await this.audit.record(tx, {
        action: 'session.create',
        entityType: 'session',
        entityId: id,
        projectId: null,
        details: { username: user.username },
      });
    });
    return { user, sessionSecret, csrfToken, expiresAt };
  }

  async logout(sessionId: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.deleteSession(sessionId);
      await this.audit.record(tx, { action: 'session.delete', entityType: 'session', entityId: sessionId, projectId: null });
    });
  }

  // ------------------------------------------------------------------ projects and roles

  /** The project a URL or header names: by name, or by numeric id (GitLab's form). */
  async findProject(ref: { name?: string; id?: number }): Promise<ProjectRecord | undefined> {
    if (ref.id !== undefined) return this.store.getProject(ref.id);
    if (ref.name !== undefined) return this.store.getProjectByName(ref.name);
    return undefined;
  }

  /** The principal's effective role in a project (null: not a member). */
  async roleIn(principal: Principal, projectId: number): Promise<Role | null> {
    if (!this.enabled || principal.kind === 'system') return 'owner';
    if (principal.userId === null) return null;
    const role = await this.store.getMemberRole(projectId, principal.userId);
    return effectiveRole(principal, isRole(role) ? role : null);
  }

  /** The projects the principal can open, with its role in each (admins see all of them). */
  async listVisibleProjects(principal: Principal): Promise<VisibleProject[]> {
    const projects = await this.store.listProjects();
    if (!this.enabled || principal.kind === 'system') return projects.map((p) => ({ ...p, role: 'owner' as Role }));
    if (principal.userId === null) return [];
    const memberships = await this.store.listMemberships(principal.userId);
    const limitedTo = principal.token?.projectId ?? null;
    return projects
      .filter((p) => limitedTo === null || p.id === limitedTo)
      .filter((p) => principal.isAdmin || memberships.has(p.id))
      .map((p) => {
        const role = memberships.get(p.id);
        return { ...p, role: isRole(role) ? role : null };
      });
  }

  /** Project names by id (audit entries keep ids; renamed projects show their current name). */
  async projectNames(): Promise<Map<number, string>> {
    return new Map((await this.store.listProjects()).map((p) => [p.id, p.name]));
  }

  async getProjectOrThrow(name: string): Promise<ProjectRecord> {
    const project = await this.store.getProjectByName(name);
    if (!project) throw projectNotFound(name);
    return project;
  }

  /** Creates a project; `owner` (default: the creating user) becomes its owner. */
  async createProject(input: { name: unknown; description?: unknown; owner?: string | undefined }): Promise<ProjectRecord> {
    const name = validateProjectName(input.name);
    const description = validateProjectDescription(input.description);
    const principal = currentContext().principal;
    const ownerName = input.owner ?? (principal.kind === 'user' ? principal.username : undefined);
    const owner = ownerName === undefined ? undefined : await this.requireUser(ownerName);
    const now = this.now();
    try {
      return await this.store.transaction(async (tx) => {
        const id = await tx.createProject({ name, description, now });
        if (owner) await tx.setMember(id, owner.id, 'owner', now);
        await this.audit.record(tx, { action: 'project.create', entityType: 'project', entityId: name, projectId: id, details: owner ? { owner: owner.username } : {} });
        return (await tx.getProject(id))!;
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw MlflowError.alreadyExists(`Project '${name}' already exists.`);
      throw error;
    }
  }

  /** Renames a project or changes its description (the default project keeps its name). */
  async updateProject(project: ProjectRef, input: { newName?: unknown; description?: unknown }): Promise<ProjectRecord> {
    const update: { name?: string; description?: string | null } = {};
    if (input.newName !== undefined && input.newName !== null && input.newName !== '' && input.newName !== project.name) {
      if (project.id === DEFAULT_PROJECT.id) throw MlflowError.invalidParameter("The default project cannot be renamed: the bare server URL names it 'default'.");
      update.name = validateProjectName(input.newName, 'new_name');
    }
    if (input.description !== undefined) update.description = validateProjectDescription(input.description);
    try {
      return await this.store.transaction(async (tx) => {
        await tx.updateProject(project.id, update);
        await this.audit.record(tx, {
          action: 'project.update',
          entityType: 'project',
          entityId: update.name ?? project.name,
          projectId: project.id,
          details: { ...(update.name ? { previous_name: project.name } : {}), ...(update.description !== undefined ? { description_changed: true } : {}) },
        });
        return (await tx.getProject(project.id))!;
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw MlflowError.alreadyExists(`Project '${update.name ?? ''}' already exists.`);
      throw error;
    }
  }

  /**
   * Deletes a project that holds no runs, logged models, registered models or webhooks, with its
   * members, tokens and empty experiments. Deleted runs count (they stay until garbage
   * collection), so a project that ever held data is kept.
   */
  async deleteProject(project: ProjectRef): Promise<void> {
    if (project.id === DEFAULT_PROJECT.id) throw MlflowError.invalidParameter('The default project cannot be deleted.');
    await this.store.transaction(async (tx) => {
      const contents = await tx.countProjectContents(project.id);
      if (contents.runs > 0 || contents.loggedModels > 0 || contents.registeredModels > 0 || contents.webhooks > 0) {
        throw MlflowError.invalidParameter(
          `Project '${project.name}' is not empty: it holds ${contents.runs} run(s) (deleted ones included), ` +
            `${contents.loggedModels} logged model(s), ${contents.registeredModels} registered model(s) and ${contents.webhooks} webhook(s).`,
        );
      }
      await tx.deleteProject(project.id);
      await this.audit.record(tx, { action: 'project.delete', entityType: 'project', entityId: project.name, projectId: project.id, details: { experiments: contents.experiments } });
    });
  }

  // ------------------------------------------------------------------ members

  async listMembers(projectId: number): Promise<MemberRecord[]> {
    return this.store.listMembers(projectId);
  }

  /** The member's role, or undefined when the user is not a member. */
  async memberRole(projectId: number, username: string): Promise<{ user: UserRecord; role: Role | undefined }> {
    const user = await this.requireUser(username);
    const role = await this.store.getMemberRole(projectId, user.id);
    return { user, role: isRole(role) ? role : undefined };
  }

  /**
   * Adds a member or changes a member's role (`mode` says which is expected), within what the
   * acting principal may grant (see checkMemberChange).
   */
  async setMember(project: ProjectRef, username: unknown, roleInput: unknown, mode: 'add' | 'update' | 'upsert' = 'upsert'): Promise<MemberRecord> {
    const role = parseRole(roleInput);
    const user = await this.requireUser(validateUsername(username));
    const now = this.now();
    return this.store.transaction(async (tx) => {
      const current = await tx.getMemberRole(project.id, user.id);
      const currentRole = isRole(current) ? current : null;
      if (mode === 'add' && currentRole !== null) {
        throw MlflowError.alreadyExists(`User '${user.username}' is already a member of project '${project.name}' (role ${currentRole}).`);
      }
      if (mode === 'update' && currentRole === null) throw MlflowError.notFound(`User '${user.username}' is not a member of project '${project.name}'.`);
      checkMemberChange(this.actorRole(), currentRole, role);
      if (currentRole === 'owner' && role !== 'owner') await this.keepAnOwner(tx, project);
      await tx.setMember(project.id, user.id, role, now);
      await this.audit.record(tx, {
        action: currentRole === null ? 'member.add' : 'member.update',
        entityType: 'member',
        entityId: user.username,
        projectId: project.id,
        details: { role, ...(currentRole !== null ? { previous_role: currentRole } : {}) },
      });
      return (await tx.listMembers(project.id)).find((m) => m.userId === user.id)!;
    });
  }

  async removeMember(project: ProjectRef, username: unknown): Promise<void> {
    const user = await this.requireUser(validateUsername(username));
    await this.store.transaction(async (tx) => {
      const current = await tx.getMemberRole(project.id, user.id);
      const currentRole = isRole(current) ? current : null;
      if (currentRole === null) throw MlflowError.notFound(`User '${user.username}' is not a member of project '${project.name}'.`);
      const principal = currentContext().principal;
      // Anyone may leave a project (the last owner aside); removing others needs the right role.
      if (principal.userId !== user.id) checkMemberChange(this.actorRole(), currentRole, null);
      if (currentRole === 'owner') await this.keepAnOwner(tx, project);
      await tx.removeMember(project.id, user.id);
      await this.audit.record(tx, { action: 'member.remove', entityType: 'member', entityId: user.username, projectId: project.id, details: { previous_role: currentRole } });
    });
  }

  /** The role the acting principal has in the request's project (system and open servers: owner). */
  private actorRole(): Role | null {
    const context = currentContext();
    if (!this.enabled || context.principal.kind === 'system') return 'owner';
    return context.role;
  }

  private async keepAnOwner(tx: AuthStore, project: ProjectRef): Promise<void> {
    if ((await tx.countMembersWithRole(project.id, 'owner')) <= 1) {
      throw MlflowError.invalidParameter(`Project '${project.name}' must keep at least one owner.`);
    }
  }

  // ------------------------------------------------------------------ users

  async listUsers(): Promise<UserRecord[]> {
    return this.store.listUsers();
  }

  async getUser(username: string): Promise<UserRecord> {
    return this.requireUser(username);
  }

  async findUser(username: string): Promise<UserRecord | undefined> {
    return this.store.getUserByName(username);
  }

  /** Creates a user; without a password one is generated and returned (shown once). */
  async createUser(input: { username: unknown; password?: unknown; isAdmin?: boolean | undefined; generatePassword?: boolean }): Promise<CreatedUser> {
    const username = validateUsername(input.username);
    let password: string | undefined;
    let generated: string | undefined;
    if (input.password !== undefined && input.password !== null && input.password !== '') password = validatePassword(input.password);
    else if (input.generatePassword !== false) password = generated = generatePassword();
    const passwordHash = password === undefined ? null : await hashPassword(password, this.scrypt);
    const now = this.now();
    try {
      const user = await this.store.transaction(async (tx) => {
        const id = await tx.createUser({ username, passwordHash, isAdmin: input.isAdmin === true, now });
        await this.audit.record(tx, { action: 'user.create', entityType: 'user', entityId: username, projectId: null, details: { is_admin: input.isAdmin === true } });
        return (await tx.getUser(id))!;
      });
      return generated === undefined ? { user } : { user, generatedPassword: generated };
    } catch (error) {
      if (error instanceof UniqueViolationError) throw MlflowError.alreadyExists(`User '${username}' already exists.`);
      throw error;
    }
  }

  /**
   * Sets a user's password (a new random one when `password` is undefined, returned) and ends
   * the user's web sessions.
   */
  async setPassword(username: string, password: string | undefined): Promise<string | undefined> {
    const user = await this.requireUser(username);
    const generated = password === undefined ? generatePassword() : undefined;
    const passwordHash = await hashPassword(password === undefined ? generated! : validatePassword(password), this.scrypt);
    await this.store.transaction(async (tx) => {
      await tx.updateUser(user.id, { passwordHash, now: this.now() });
      await tx.deleteSessionsOfUser(user.id);
      await this.audit.record(tx, { action: 'user.set_password', entityType: 'user', entityId: user.username, projectId: null });
    });
    return generated;
  }

  /** Checks a user's current password (self-service password change through a web session). */
  async verifyCurrentPassword(username: string, password: unknown): Promise<void> {
    if (typeof password !== 'string' || password === '') throw MlflowError.invalidParameter("The current password is required ('current_password').");
    const user = await this.requireUser(username);
    if (user.passwordHash === null || !(await verifyPassword(password, user.passwordHash))) {
      throw permissionDenied('The current password is not correct.');
    }
  }

  async setAdmin(username: string, isAdmin: boolean): Promise<UserRecord> {
    const user = await this.requireUser(username);
    if (user.isAdmin && !isAdmin) await this.keepAnAdmin(user);
    return this.store.transaction(async (tx) => {
      await tx.updateUser(user.id, { isAdmin, now: this.now() });
      await this.audit.record(tx, { action: 'user.set_admin', entityType: 'user', entityId: user.username, projectId: null, details: { is_admin: isAdmin } });
      return (await tx.getUser(user.id))!;
    });
  }

  /** Deletes a user with their memberships, tokens and sessions (never the last admin, nor a project's last owner). */
  async deleteUser(username: string): Promise<void> {
    const user = await this.requireUser(username);
    if (user.isAdmin) await this.keepAnAdmin(user);
    await this.store.transaction(async (tx) => {
      const memberships = await tx.listMemberships(user.id);
      for (const [projectId, role] of memberships) {
        if (role === 'owner' && (await tx.countMembersWithRole(projectId, 'owner')) <= 1) {
          const project = await tx.getProject(projectId);
          throw MlflowError.invalidParameter(`User '${user.username}' is the last owner of project '${project?.name ?? projectId}'; make someone else owner first.`);
        }
      }
      await tx.deleteUser(user.id);
      await this.audit.record(tx, { action: 'user.delete', entityType: 'user', entityId: user.username, projectId: null });
    });
  }

  private async keepAnAdmin(user: UserRecord): Promise<void> {
    const admins = (await this.store.listUsers()).filter((u) => u.isAdmin && u.id !== user.id);
    if (admins.length === 0) throw MlflowError.invalidParameter(`User '${user.username}' is the last instance administrator.`);
  }

  /**
   * On the first start with `--auth` and no users: creates the administrator `admin` with a
   * random password, owner of the default project. Returns the credentials to print once.
   */
  async ensureInitialAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.store.countUsers()) > 0) return undefined;
    try {
      const created = await this.createUser({ username: 'admin', isAdmin: true });
      await this.store.transaction(async (tx) => {
        await tx.setMember(DEFAULT_PROJECT.id, created.user.id, 'owner', this.now());
        await this.audit.record(tx, { action: 'member.add', entityType: 'member', entityId: 'admin', projectId: DEFAULT_PROJECT.id, details: { role: 'owner' } });
      });
      return { username: 'admin', password: created.generatedPassword! };
    } catch (error) {
      // Another process created the first user meanwhile.
      if (error instanceof MlflowError && error.code === 'RESOURCE_ALREADY_EXISTS') return undefined;
      throw error;
    }
  }

  private async requireUser(username: string): Promise<UserRecord> {
    const user = await this.store.getUserByName(username);
    if (!user) throw MlflowError.notFound(`User with username=${username} not found.`);
    return user;
  }

  // ------------------------------------------------------------------ access tokens

  /**
   * Creates a token for `username`, optionally limited to one project (the user must be able to
   * open it), with a scope and an optional lifetime (`90d`, ms, or none).
   */
  async createToken(input: { username: string; project?: string | undefined; scope: unknown; expiresIn?: string | number | undefined; name?: unknown }): Promise<CreatedToken> {
    const user = await this.requireUser(input.username);
    const scope: TokenScope = parseScope(input.scope);
    const name = validateTokenName(input.name);
    let project: ProjectRecord | undefined;
    if (input.project !== undefined && input.project !== '') {
      project = await this.getProjectOrThrow(input.project);
      if (this.enabled && !user.isAdmin && (await this.store.getMemberRole(project.id, user.id)) === undefined) throw projectNotFound(input.project);
    }
    const now = this.now();
    let expiresAt: number | null = null;
    if (input.expiresIn !== undefined && input.expiresIn !== '') {
      expiresAt = now + (typeof input.expiresIn === 'number' ? input.expiresIn : parseDuration(input.expiresIn));
    }
    const token = generateToken();
    const record = await this.store.transaction(async (tx) => {
      const id = await tx.createToken({ userId: user.id, projectId: project?.id ?? null, name, tokenHash: sha256Hex(token), hint: tokenHint(token), scope, now, expiresAt });
      await this.audit.record(tx, {
        action: 'token.create',
        entityType: 'token',
        entityId: id,
        projectId: project?.id ?? null,
        details: { user: user.username, scope, ...(name ? { name } : {}), ...(expiresAt !== null ? { expires_at: expiresAt } : {}) },
      });
      return (await tx.getToken(id))!;
    });
    return { token, record };
  }

  async listTokens(filter: { username?: string | undefined; project?: string | undefined }): Promise<TokenRecord[]> {
    const userId = filter.username !== undefined ? (await this.requireUser(filter.username)).id : undefined;
    const projectId = filter.project !== undefined ? (await this.getProjectOrThrow(filter.project)).id : undefined;
    return this.store.listTokens({ ...(userId !== undefined ? { userId } : {}), ...(projectId !== undefined ? { projectId } : {}) });
  }

  async getToken(id: number): Promise<TokenRecord | undefined> {
    return this.store.getToken(id);
  }

  /** Revokes a token; `ownerId` (when given) must own it, else it answers as unknown. */
  async revokeToken(id: number, ownerId?: number): Promise<TokenRecord> {
    const token = await this.store.getToken(id);
    if (!token || (ownerId !== undefined && token.userId !== ownerId)) throw MlflowError.notFound(`Access token ${id} not found.`);
    return this.store.transaction(async (tx) => {
      if (token.revokedAt === null) {
        await tx.revokeToken(id, this.now());
        await this.audit.record(tx, { action: 'token.revoke', entityType: 'token', entityId: id, projectId: token.projectId, details: { user: token.username } });
      }
      return (await tx.getToken(id))!;
    });
  }
}

/** Whether a principal may see/act for another user's account (itself, or an admin). */
export function isSelfOrAdmin(principal: Principal, username: string): boolean {
  return principal.isAdmin || principal.kind === 'system' || principal.username === username;
}

