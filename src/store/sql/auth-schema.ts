import type { Generated, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { RegistryTables } from './registry-schema.ts';
import type { EventsTables } from './events-schema.ts';

/**
 * Table types of users, members, tokens, sessions, failed logins and the audit log (migration
 * 0004). The auth store works on `Database & AuthTables` through Kysely's `withTables`.
 */
export type AuthTables = {
  users: UserTable;
  project_members: ProjectMemberTable;
  access_tokens: AccessTokenTable;
  sessions: SessionTable;
  login_failures: LoginFailureTable;
  audit_log: AuditLogTable;
};

/** The tables the auth store reads besides its own (to tell whether a project is empty, and to delete an empty one). */
export type AuthStoreTables = AuthTables &
  Pick<RegistryTables, 'registered_models'> &
  Pick<EventsTables, 'webhooks' | 'webhook_subscriptions' | 'webhook_deliveries' | 'registry_events'>;

export type AuthDatabase = Database & AuthStoreTables;
export type AuthDb = Kysely<AuthDatabase> | Transaction<AuthDatabase>;

export type UserTable = {
  id: Generated<number>;
  username: string;
  password_hash: string | null;
  is_admin: number;
  created_at: number;
  updated_at: number;
};

export type ProjectMemberTable = {
  project_id: number;
  user_id: number;
  role: string;
  created_at: number;
  updated_at: number;
};

export type AccessTokenTable = {
  id: Generated<number>;
  user_id: number;
  project_id: number | null;
  name: string;
  token_hash: string;
  hint: string;
  scope: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
};

export type SessionTable = {
  id: Generated<number>;
  user_id: number;
  session_hash: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  source_address: string | null;
  user_agent: string | null;
};

export type LoginFailureTable = {
  key: string;
  window_start: number;
  failures: number;
};

export type AuditLogTable = {
  id: Generated<number>;
  time: number;
  project_id: number | null;
  actor_user_id: number | null;
  actor: string;
  actor_kind: string;
  action: string;
  entity_type: string;
  entity_id: string;
  request_id: string | null;
  source_address: string | null;
  details: string | null;
};
