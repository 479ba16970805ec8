/**
 * The persistence contract for users, projects and their members, access tokens, web sessions,
 * failed-login counters and the audit log. The SQL implementation serves SQLite and PostgreSQL.
 * Query methods return `undefined` for a missing row; unique clashes throw UniqueViolationError.
 */

export interface UserRecord {
  id: number;
  username: string;
  /** Null for a user without a password (tokens only). */
  passwordHash: string | null;
  isAdmin: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ProjectRecord {
  id: number;
  name: string;
  description: string | null;
  createdAt: number;
}

export interface MemberRecord {
  projectId: number;
  userId: number;
  username: string;
  role: string;
  createdAt: number;
  updatedAt: number;
}

export interface TokenRecord {
  id: number;
  userId: number;
  username: string;
  /** The project the token is limited to; null: every project of its user. */
  projectId: number | null;
  projectName: string | null;
  name: string;
  scope: string;
  /** The token's first characters, to recognise it in a listing. */
  hint: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface SessionRecord {
  id: number;
  userId: number;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
}

export interface LoginFailureRecord {
  key: string;
  windowStart: number;
  failures: number;
}

export interface NewAuditRow {
  time: number;
  projectId: number | null;
  actorUserId: number | null;
  actor: string;
  actorKind: string;
  action: string;
  entityType: string;
  entityId: string;
  requestId: string | null;
  sourceAddress: string | null;
  /** JSON text, or null. */
  details: string | null;
}

export interface AuditRow extends NewAuditRow {
  id: number;
}

export interface AuditQuery {
  projectId?: number;
  actor?: string;
  /** Exact action (`run.create`) or a prefix ending in `.` (`run.`). */
  action?: string;
  entityType?: string;
  entityId?: string;
  /** Inclusive lower bound of `time`, ms. */
  since?: number;
  /** Exclusive upper bound of `time`, ms. */
  until?: number;
  /** Newest first: entries with an id below this. Oldest first: above it. */
  cursor?: number;
  order: 'newest' | 'oldest';
  limit: number;
}

export interface ProjectContents {
  /** Experiments of any state (an empty experiment does not keep a project alive). */
  experiments: number;
  /** Runs and logged models of any state. */
  runs: number;
  loggedModels: number;
  registeredModels: number;
  /** Webhooks not deleted. */
  webhooks: number;
}

export interface AuthStore {
  /** Runs `work` in one transaction. */
  transaction<T>(work: (store: AuthStore) => Promise<T>): Promise<T>;
  /**
   * This store working inside another store's open transaction (`handle`: the transactional
   * store a service's `transaction()` handed it), or undefined when `handle` is not one. The
   * audit log writes through it so an entry commits exactly when its change does.
   */
  joinTransaction(handle: unknown): AuthStore | undefined;

  // Users
  countUsers(): Promise<number>;
  createUser(user: { username: string; passwordHash: string | null; isAdmin: boolean; now: number }): Promise<number>;
  getUser(id: number): Promise<UserRecord | undefined>;
  getUserByName(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  updateUser(id: number, update: { passwordHash?: string | null; isAdmin?: boolean; now: number }): Promise<void>;
  deleteUser(id: number): Promise<void>;

  // Projects
  createProject(project: { name: string; description: string | null; now: number }): Promise<number>;
  getProject(id: number): Promise<ProjectRecord | undefined>;
  getProjectByName(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  updateProject(id: number, update: { name?: string; description?: string | null }): Promise<void>;
  /**
   * Deletes a project with its members, tokens, empty experiments, deleted webhooks and registry
   * events. The caller checks first that it holds no runs, logged models, registered models or
   * live webhooks.
   */
  deleteProject(id: number): Promise<void>;
  countProjectContents(id: number): Promise<ProjectContents>;

  // Members
  getMemberRole(projectId: number, userId: number): Promise<string | undefined>;
  listMembers(projectId: number): Promise<MemberRecord[]>;
  /** The user's memberships: project id → role. */
  listMemberships(userId: number): Promise<Map<number, string>>;
  /** Adds the member or changes its role. */
  setMember(projectId: number, userId: number, role: string, now: number): Promise<void>;
  /** @returns false when the user was not a member. */
  removeMember(projectId: number, userId: number): Promise<boolean>;
  countMembersWithRole(projectId: number, role: string): Promise<number>;

  // Access tokens
  createToken(token: {
    userId: number;
    projectId: number | null;
    name: string;
    tokenHash: string;
    hint: string;
    scope: string;
    now: number;
    expiresAt: number | null;
  }): Promise<number>;
  getToken(id: number): Promise<TokenRecord | undefined>;
  getTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  listTokens(filter: { userId?: number; projectId?: number }): Promise<TokenRecord[]>;
  /** @returns false when the token did not exist or was already revoked. */
  revokeToken(id: number, now: number): Promise<boolean>;
  touchToken(id: number, now: number): Promise<void>;

  // Web sessions
  createSession(session: {
    userId: number;
    sessionHash: string;
    csrfToken: string;
    now: number;
    expiresAt: number;
    sourceAddress: string | null;
    userAgent: string | null;
  }): Promise<number>;
  getSessionByHash(sessionHash: string): Promise<SessionRecord | undefined>;
  touchSession(id: number, now: number): Promise<void>;
  deleteSession(id: number): Promise<void>;
  deleteSessionsOfUser(userId: number): Promise<void>;
  deleteExpiredSessions(now: number): Promise<void>;

  // Failed logins
  getLoginFailures(keys: string[]): Promise<LoginFailureRecord[]>;
  /** Counts one failure in the key's window, starting a new window when the old one is over. */
  recordLoginFailure(key: string, now: number, windowMs: number): Promise<void>;
  clearLoginFailures(key: string): Promise<void>;
  /**
   * Counts a failure under `key` in one statement (several processes count together): the row's
   * `windowStart` becomes the time of this failure; a row whose last failure is `resetAfterMs`
   * old starts again at 1.
   */
  recordSignInFailure(key: string, now: number, resetAfterMs: number): Promise<void>;
  /** Marks a key as seen at `now` with no failures (a known user/address pair). */
  markSignInKnown(key: string, now: number): Promise<void>;

  // Audit log
  appendAudit(rows: NewAuditRow[]): Promise<void>;
  queryAudit(query: AuditQuery): Promise<AuditRow[]>;
}
