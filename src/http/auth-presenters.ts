import type { AuditRow, MemberRecord, ProjectRecord, TokenRecord, UserRecord } from '../store/auth-store.ts';
import type { VisibleProject } from '../domain/auth/auth-service.ts';

/** Wire shapes of Trove's auth API (docs/api-trove.md): snake_case, times in ms since the epoch. */

export function presentUser(user: UserRecord): Record<string, unknown> {
  return { id: user.id, username: user.username, is_admin: user.isAdmin, has_password: user.passwordHash !== null, created_at: user.createdAt, updated_at: user.updatedAt };
}

export function presentProject(project: ProjectRecord | VisibleProject): Record<string, unknown> {
  return {
    id: project.id,
    name: project.name,
    ...(project.description !== null ? { description: project.description } : {}),
    created_at: project.createdAt,
    ...('role' in project ? { role: project.role } : {}),
  };
}

export function presentMember(member: MemberRecord): Record<string, unknown> {
  return { user_id: member.userId, username: member.username, role: member.role, created_at: member.createdAt, updated_at: member.updatedAt };
}

export function presentToken(token: TokenRecord, now: number = Date.now()): Record<string, unknown> {
  const status = token.revokedAt !== null ? 'revoked' : token.expiresAt !== null && token.expiresAt <= now ? 'expired' : 'active';
  return {
    id: token.id,
    name: token.name,
    username: token.username,
    project: token.projectName,
    scope: token.scope,
    hint: token.hint,
    status,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
  };
}

export function presentAuditEntry(row: AuditRow, projectNames: Map<number, string>): Record<string, unknown> {
  let details: unknown = null;
  if (row.details !== null) {
    try {
      details = JSON.parse(row.details);
    } catch {
      details = row.details;
    }
  }
  return {
    id: row.id,
    time: row.time,
    project_id: row.projectId,
    project: row.projectId === null ? null : (projectNames.get(row.projectId) ?? null),
    actor: row.actor,
    actor_user_id: row.actorUserId,
    actor_kind: row.actorKind,
    action: row.action,
    entity_type: row.entityType,
    entity_id: row.entityId,
    request_id: row.requestId,
    source_address: row.sourceAddress,
    details,
  };
}
