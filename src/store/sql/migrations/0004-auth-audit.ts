import type { Kysely } from 'kysely';
import { addIdColumn, BIGINT, dialectOf } from '../dialect.ts';

/**
 * Users, project members, access tokens, web sessions, failed-login counters and the audit log.
 *
 * - `users.password_hash` is scrypt with its parameters (`scrypt$N$r$p$salt$hash`); null for a
 *   user who signs in with tokens only.
 * - `access_tokens.token_hash` and `sessions.session_hash` are SHA-256 hex digests: the secrets
 *   themselves are shown once and never stored.
 * - `login_failures` counts failed password checks per user name and per client address in a
 *   time window; being a table, the limit holds across server processes.
 * - `audit_log` is append-only. It keeps the actor's name and the project id as they were (no
 *   foreign keys), so deleting a user or a project leaves its history readable.
 *
 * Booleans are integers (0/1) on both databases.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect = dialectOf(db);

  await addIdColumn(dialect, db.schema.createTable('users'), 'id')
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .addColumn('updated_at', BIGINT, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', BIGINT, (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', BIGINT, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .addColumn('updated_at', BIGINT, (c) => c.notNull())
    .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_members_user_idx').on('project_members').column('user_id').execute();

  await addIdColumn(dialect, db.schema.createTable('access_tokens'), 'id')
    .addColumn('user_id', BIGINT, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('project_id', BIGINT, (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .addColumn('expires_at', BIGINT)
    .addColumn('last_used_at', BIGINT)
    .addColumn('revoked_at', BIGINT)
    .execute();
  await db.schema.createIndex('access_tokens_user_idx').on('access_tokens').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('access_tokens_project_idx').on('access_tokens').column('project_id').execute();

  await addIdColumn(dialect, db.schema.createTable('sessions'), 'id')
    .addColumn('user_id', BIGINT, (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('session_hash', 'text', (c) => c.notNull().unique())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', BIGINT, (c) => c.notNull())
    .addColumn('expires_at', BIGINT, (c) => c.notNull())
    .addColumn('last_seen_at', BIGINT, (c) => c.notNull())
    .addColumn('source_address', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('login_failures')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', BIGINT, (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .execute();

  await addIdColumn(dialect, db.schema.createTable('audit_log'), 'id')
    .addColumn('time', BIGINT, (c) => c.notNull())
    .addColumn('project_id', BIGINT)
    .addColumn('actor_user_id', BIGINT)
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('entity_type', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('source_address', 'text')
    .addColumn('details', 'text')
    .execute();
  // A project's log newest first; the instance log by time; an entity's history.
  await db.schema.createIndex('audit_log_project_idx').on('audit_log').columns(['project_id', 'id']).execute();
  await db.schema.createIndex('audit_log_time_idx').on('audit_log').columns(['time', 'id']).execute();
  await db.schema.createIndex('audit_log_entity_idx').on('audit_log').columns(['entity_type', 'entity_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_log', 'login_failures', 'sessions', 'access_tokens', 'project_members', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
