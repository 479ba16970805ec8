import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { AccessTokenTable, AuditLogTable, AuthDatabase, AuthDb, AuthStoreTables, UserTable } from './auth-schema.ts';
import type {
  AuditQuery,
  AuditRow,
  AuthStore,
  LoginFailureRecord,
  MemberRecord,
  NewAuditRow,
  ProjectContents,
  ProjectRecord,
  SessionRecord,
  TokenRecord,
  UserRecord,
} from '../auth-store.ts';
import { chunk, isUniqueViolation } from './sql-conditions.ts';
import { dialectOf } from './dialect.ts';
import { appendAuditSqlite } from './run-writes-sqlite.ts';
import { UniqueViolationError } from '../store-errors.ts';

/** Rows per multi-row audit INSERT (12 columns, far below SQLite's bind limit). */
const AUDIT_CHUNK = 500;

/**
 * The SQL auth store for SQLite and PostgreSQL. A store created by `transaction()` or
 * `joinTransaction()` runs every call on that transaction.
 */
export class SqlAuthStore implements AuthStore {
  private readonly db: AuthDb;

  constructor(
    db: Kysely<Database> | AuthDb,
    private readonly inTransaction = false,
  ) {
    this.db = (db as Kysely<Database>).withTables<AuthStoreTables>();
  }

  async transaction<T>(work: (store: AuthStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return (this.db as Kysely<AuthDatabase>).transaction().execute((trx) => work(new SqlAuthStore(trx, true)));
  }

  /**
   * `handle` is the transactional store another service's `transaction()` gave its callback (a
   * SqlTrackingStore, SqlRegistryStore, SqlEventsStore or this store), or a Kysely transaction.
   * Only an open transaction is joined: writing an audit entry outside it would break the
   * promise that the entry commits with its change.
   */
  joinTransaction(handle: unknown): AuthStore | undefined {
    if (handle instanceof SqlAuthStore) return handle.inTransaction ? handle : undefined;
    const executor = findKyselyExecutor(handle);
    if (!executor || !executor.isTransaction) return undefined;
    return new SqlAuthStore(executor as Kysely<Database>, true);
  }

  // ---------------------------------------------------------------- users

  async countUsers(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createUser(user: { username: string; passwordHash: string | null; isAdmin: boolean; now: number }): Promise<number> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({ username: user.username, password_hash: user.passwordHash, is_admin: user.isAdmin ? 1 : 0, created_at: user.now, updated_at: user.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolationError(`User ${user.username} exists`, { cause: error });
      throw error;
    }
  }

  async getUser(id: number): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async updateUser(id: number, update: { passwordHash?: string | null; isAdmin?: boolean; now: number }): Promise<void> {
    const values: { updated_at: number; password_hash?: string | null; is_admin?: number } = { updated_at: update.now };
    if (update.passwordHash !== undefined) values.password_hash = update.passwordHash;
    if (update.isAdmin !== undefined) values.is_admin = update.isAdmin ? 1 : 0;
    await this.db.updateTable('users').set(values).where('id', '=', id).execute();
  }

  async deleteUser(id: number): Promise<void> {
    // The foreign keys cascade on both databases; delete the children explicitly anyway so a
    // SQLite connection opened without foreign_keys=ON cannot leave orphans behind.
    await this.db.deleteFrom('sessions').where('user_id', '=', id).execute();
    await this.db.deleteFrom('access_tokens').where('user_id', '=', id).execute();
    await this.db.deleteFrom('project_members').where('user_id', '=', id).execute();
    await this.db.deleteFrom('users').where('id', '=', id).execute();
  }

  // ---------------------------------------------------------------- projects

  async createProject(project: { name: string; description: string | null; now: number }): Promise<number> {
    try {
      const row = await this.db
        .insertInto('projects')
        .values({ name: project.name, description: project.description, created_at: project.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolationError(`Project ${project.name} exists`, { cause: error });
      throw error;
    }
  }

  async getProject(id: number): Promise<ProjectRecord | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toProject(row) : undefined;
  }

  async getProjectByName(name: string): Promise<ProjectRecord | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toProject(row) : undefined;
  }

  async listProjects(): Promise<ProjectRecord[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('name').execute();
    return rows.map(toProject);
  }

  async updateProject(id: number, update: { name?: string; description?: string | null }): Promise<void> {
    const values: { name?: string; description?: string | null } = {};
    if (update.name !== undefined) values.name = update.name;
    if (update.description !== undefined) values.description = update.description;
    if (Object.keys(values).length === 0) return;
    try {
      await this.db.updateTable('projects').set(values).where('id', '=', id).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolationError(`Project ${update.name ?? ''} exists`, { cause: error });
      throw error;
    }
  }

  async deleteProject(id: number): Promise<void> {
    await this.db.deleteFrom('access_tokens').where('project_id', '=', id).execute();
    await this.db.deleteFrom('project_members').where('project_id', '=', id).execute();
    // What an emptied project may still hold: experiments without runs (e.g. its Default one),
    // deleted webhooks with their delivery log, and the registry events of deleted models.
    const experiments = this.db.selectFrom('experiments').select('experiment_id').where('project_id', '=', id);
    await this.db.deleteFrom('experiment_tags').where('experiment_id', 'in', experiments).execute();
    await this.db.deleteFrom('datasets').where('experiment_id', 'in', experiments).execute();
    await this.db.deleteFrom('experiments').where('project_id', '=', id).execute();
    await this.db.deleteFrom('webhook_deliveries').where('project_id', '=', id).execute();
    await this.db.deleteFrom('webhook_subscriptions').where('project_id', '=', id).execute();
    await this.db.deleteFrom('webhooks').where('project_id', '=', id).execute();
    await this.db.deleteFrom('registry_events').where('project_id', '=', id).execute();
    await this.db.deleteFrom('projects').where('id', '=', id).execute();
  }

  async countProjectContents(id: number): Promise<ProjectContents> {
    const [experiments, runs, loggedModels, models, webhooks] = await Promise.all([
      this.db.selectFrom('experiments').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', id).executeTakeFirstOrThrow(),
      this.db
        .selectFrom('runs')
        .innerJoin('experiments', 'experiments.experiment_id', 'runs.experiment_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('experiments.project_id', '=', id)
        .executeTakeFirstOrThrow(),
      this.db
        .selectFrom('logged_models')
        .innerJoin('experiments', 'experiments.experiment_id', 'logged_models.experiment_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('experiments.project_id', '=', id)
        .executeTakeFirstOrThrow(),
      this.db.selectFrom('registered_models').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', id).executeTakeFirstOrThrow(),
      this.db
        .selectFrom('webhooks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', id)
        .where('deleted_timestamp', 'is', null)
        .executeTakeFirstOrThrow(),
    ]);
    return {
      experiments: Number(experiments.n),
      runs: Number(runs.n),
      loggedModels: Number(loggedModels.n),
      registeredModels: Number(models.n),
      webhooks: Number(webhooks.n),
    };
  }

  // ---------------------------------------------------------------- members

  async getMemberRole(projectId: number, userId: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  async listMembers(projectId: number): Promise<MemberRecord[]> {
    const rows = await this.db
      .selectFrom('project_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.project_id', 'm.user_id', 'u.username', 'm.role', 'm.created_at', 'm.updated_at'])
      .where('m.project_id', '=', projectId)
      .orderBy('u.username')
      .execute();
    return rows.map((r) => ({
      projectId: Number(r.project_id),
      userId: Number(r.user_id),
      username: r.username,
      role: r.role,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  async listMemberships(userId: number): Promise<Map<number, string>> {
    const rows = await this.db.selectFrom('project_members').select(['project_id', 'role']).where('user_id', '=', userId).execute();
    return new Map(rows.map((r) => [Number(r.project_id), r.role]));
  }

  async setMember(projectId: number, userId: number, role: string, now: number): Promise<void> {
    await this.db
      .insertInto('project_members')
      .values({ project_id: projectId, user_id: userId, role, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role, updated_at: now }))
      .execute();
  }

  async removeMember(projectId: number, userId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('project_members').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async countMembersWithRole(projectId: number, role: string): Promise<number> {
    const row = await this.db
      .selectFrom('project_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .where('role', '=', role)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // ---------------------------------------------------------------- tokens

  async createToken(token: {
    userId: number;
    projectId: number | null;
    name: string;
    tokenHash: string;
    hint: string;
    scope: string;
    now: number;
    expiresAt: number | null;
  }): Promise<number> {
    const row = await this.db
      .insertInto('access_tokens')
      .values({
        user_id: token.userId,
        project_id: token.projectId,
        name: token.name,
        token_hash: token.tokenHash,
        hint: token.hint,
        scope: token.scope,
        created_at: token.now,
        expires_at: token.expiresAt,
        last_used_at: null,
        revoked_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async getToken(id: number): Promise<TokenRecord | undefined> {
    const row = await this.tokenQuery().where('t.id', '=', id).executeTakeFirst();
    return row ? toToken(row) : undefined;
  }

  async getTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = await this.tokenQuery().where('t.token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toToken(row) : undefined;
  }

  async listTokens(filter: { userId?: number; projectId?: number }): Promise<TokenRecord[]> {
    let query = this.tokenQuery();
    if (filter.userId !== undefined) query = query.where('t.user_id', '=', filter.userId);
    if (filter.projectId !== undefined) query = query.where('t.project_id', '=', filter.projectId);
    const rows = await query.orderBy('t.created_at', 'desc').orderBy('t.id', 'desc').execute();
    return rows.map(toToken);
  }

  async revokeToken(id: number, now: number): Promise<boolean> {
    const result = await this.db.updateTable('access_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touchToken(id: number, now: number): Promise<void> {
    await this.db.updateTable('access_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  private tokenQuery() {
    return this.db
      .selectFrom('access_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .leftJoin('projects as p', 'p.id', 't.project_id')
      .select([
        't.id',
        't.user_id',
        'u.username',
        't.project_id',
        'p.name as project_name',
        't.name',
        't.hint',
        't.scope',
        't.created_at',
        't.expires_at',
        't.last_used_at',
        't.revoked_at',
      ]);
  }

  // ---------------------------------------------------------------- sessions

  async createSession(session: {
    userId: number;
    sessionHash: string;
    csrfToken: string;
    now: number;
    expiresAt: number;
    sourceAddress: string | null;
    userAgent: string | null;
  }): Promise<number> {
    const row = await this.db
      .insertInto('sessions')
      .values({
        user_id: session.userId,
        session_hash: session.sessionHash,
        csrf_token: session.csrfToken,
        created_at: session.now,
        expires_at: session.expiresAt,
        last_seen_at: session.now,
        source_address: session.sourceAddress,
        user_agent: session.userAgent,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async getSessionByHash(sessionHash: string): Promise<SessionRecord | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .select(['id', 'user_id', 'csrf_token', 'created_at', 'expires_at', 'last_seen_at'])
      .where('session_hash', '=', sessionHash)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: Number(row.id),
      userId: Number(row.user_id),
      csrfToken: row.csrf_token,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      lastSeenAt: Number(row.last_seen_at),
    };
  }

  async touchSession(id: number, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
  }

  async deleteSession(id: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', id).execute();
  }

  async deleteSessionsOfUser(userId: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async deleteExpiredSessions(now: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }

  // ---------------------------------------------------------------- failed logins

  async getLoginFailures(keys: string[]): Promise<LoginFailureRecord[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.selectFrom('login_failures').selectAll().where('key', 'in', keys).execute();
    return rows.map((r) => ({ key: r.key, windowStart: Number(r.window_start), failures: Number(r.failures) }));
  }

  async recordLoginFailure(key: string, now: number, windowMs: number): Promise<void> {
    // One statement, so concurrent failures in several processes all count: a window that is
    // over restarts at 1, otherwise the counter goes up.
    await this.db
      .insertInto('login_failures')
      .values({ key, window_start: now, failures: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          window_start: sql<number>`case when login_failures.window_start <= ${now - windowMs} then ${now} else login_failures.window_start end`,
          failures: sql<number>`case when login_failures.window_start <= ${now - windowMs} then 1 else login_failures.failures + 1 end`,
        }),
      )
      .execute();
  }

  async recordSignInFailure(key: string, now: number, resetAfterMs: number): Promise<void> {
    await this.db
      .insertInto('login_failures')
      .values({ key, window_start: now, failures: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          window_start: sql<number>`cast(${now} as bigint)`,
          failures: sql<number>`case when login_failures.window_start <= cast(${now - resetAfterMs} as bigint) then 1 else login_failures.failures + 1 end`,
        }),
      )
      .execute();
  }

  async markSignInKnown(key: string, now: number): Promise<void> {
    await this.db
      .insertInto('login_failures')
      .values({ key, window_start: now, failures: 0 })
      .onConflict((oc) => oc.column('key').doUpdateSet({ window_start: sql<number>`cast(${now} as bigint)`, failures: 0 }))
      .execute();
  }

  async clearLoginFailures(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }

  // ---------------------------------------------------------------- audit log

  async appendAudit(rows: NewAuditRow[]): Promise<void> {
    // SQLite: the statement text run writes use too (run-writes-sqlite.ts), one column list for both.
    if (dialectOf(this.db as unknown as Kysely<unknown>) === 'sqlite') return appendAuditSqlite(this.db, rows);
    for (const part of chunk(rows, AUDIT_CHUNK)) {
      await this.db
        .insertInto('audit_log')
        .values(
          part.map((r) => ({
            time: r.time,
            project_id: r.projectId,
            actor_user_id: r.actorUserId,
            actor: r.actor,
            actor_kind: r.actorKind,
            action: r.action,
            entity_type: r.entityType,
            entity_id: r.entityId,
            request_id: r.requestId,
            source_address: r.sourceAddress,
            details: r.details,
          })),
        )
        .execute();
    }
  }

  async queryAudit(query: AuditQuery): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.projectId !== undefined) q = q.where('project_id', '=', query.projectId);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    if (query.action !== undefined) {
      if (query.action.endsWith('.')) {
        // A prefix: compare the leading characters, so `_` or `%` in it mean themselves.
        q = q.where(sql`substr(action, 1, ${query.action.length})`, '=', query.action);
      } else {
        q = q.where('action', '=', query.action);
      }
    }
    if (query.entityType !== undefined) q = q.where('entity_type', '=', query.entityType);
    if (query.entityId !== undefined) q = q.where('entity_id', '=', query.entityId);
    if (query.since !== undefined) q = q.where('time', '>=', query.since);
    if (query.until !== undefined) q = q.where('time', '<', query.until);
    if (query.cursor !== undefined) q = q.where('id', query.order === 'newest' ? '<' : '>', query.cursor);
    const rows = await q.orderBy('id', query.order === 'newest' ? 'desc' : 'asc').limit(query.limit).execute();
    return rows.map(toAuditRow);
  }
}

function toUser(row: Selectable<UserTable>): UserRecord {
  return {
    id: Number(row.id),
    username: row.username,
    passwordHash: row.password_hash,
    isAdmin: Number(row.is_admin) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toProject(row: { id: number; name: string; description: string | null; created_at: number }): ProjectRecord {
  return { id: Number(row.id), name: row.name, description: row.description, createdAt: Number(row.created_at) };
}

type TokenRow = Pick<Selectable<AccessTokenTable>, 'id' | 'user_id' | 'project_id' | 'name' | 'hint' | 'scope' | 'created_at' | 'expires_at' | 'last_used_at' | 'revoked_at'> & {
  username: string;
  project_name: string | null;
};

function toToken(row: TokenRow): TokenRecord {
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    username: row.username,
    projectId: row.project_id === null ? null : Number(row.project_id),
    projectName: row.project_name,
    name: row.name,
    scope: row.scope,
    hint: row.hint,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

function toAuditRow(row: Selectable<AuditLogTable>): AuditRow {
  return {
    id: Number(row.id),
    time: Number(row.time),
    projectId: row.project_id === null ? null : Number(row.project_id),
    actorUserId: row.actor_user_id === null ? null : Number(row.actor_user_id),
    actor: row.actor,
    actorKind: row.actor_kind,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    requestId: row.request_id,
    sourceAddress: row.source_address,
    details: row.details,
  };
}

function isKyselyExecutor(value: unknown): value is Kysely<unknown> {
  const candidate = value as { selectFrom?: unknown; insertInto?: unknown; withTables?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.selectFrom === 'function' &&
    typeof candidate.insertInto === 'function' &&
    typeof candidate.withTables === 'function'
  );
}

/** The Kysely executor behind a store object: its public `sqlExecutor`, or the `db` field the SQL stores keep. */
function findKyselyExecutor(handle: unknown): Kysely<unknown> | undefined {
  if (isKyselyExecutor(handle)) return handle;
  if (typeof handle !== 'object' || handle === null) return undefined;
  const carrier = handle as { sqlExecutor?: unknown; db?: unknown };
  const exposed = typeof carrier.sqlExecutor === 'function' ? (carrier.sqlExecutor as () => unknown).call(handle) : carrier.sqlExecutor;
  if (isKyselyExecutor(exposed)) return exposed;
  if (isKyselyExecutor(carrier.db)) return carrier.db;
  return undefined;
}
