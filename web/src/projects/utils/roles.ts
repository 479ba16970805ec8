import { ROLES, type Role } from '../../auth/utils/capabilities.ts';

/**
 * Who may give whom which role, mirroring the server's rule (permissions.ts, checkMemberChange):
 * maintainers manage members up to maintainer and never touch owners; owners and instance
 * admins manage everyone. The server decides; the UI only avoids offering what it would refuse.
 */

function rank(role: Role | null | undefined): number {
  return role ? ROLES.indexOf(role) : -1;
}

/** The actor's effective role: admins act as owners everywhere. */
export function effectiveRole(role: Role | null | undefined, isAdmin: boolean): Role | null {
  if (isAdmin) return 'owner';
  return role ?? null;
}

/** Roles the actor may hand out (to a new member or as a change). */
export function assignableRoles(actorRole: Role | null | undefined, isAdmin: boolean): Role[] {
  const role = effectiveRole(actorRole, isAdmin);
  if (role === 'owner') return [...ROLES];
  if (role === 'maintainer') return ROLES.filter((r) => r !== 'owner');
  return [];
}

/** Whether the actor may change or remove a member who has `targetRole`. */
export function canManageMember(actorRole: Role | null | undefined, isAdmin: boolean, targetRole: Role): boolean {
  const role = effectiveRole(actorRole, isAdmin);
  if (role === 'owner') return true;
  if (role === 'maintainer') return targetRole !== 'owner';
  return false;
}

/** What each role adds, for the role picker's help text. */
export const ROLE_HELP: Record<Role, string> = {
  guest: 'read',
  reporter: 'read',
  developer: 'log runs, register and promote versions',
  maintainer: 'delete, move aliases, webhooks, members, audit log',
  owner: 'project settings, grant owner',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Sorts members strongest role first, then by name. */
export function byRoleThenName<T extends { role: string; username: string }>(a: T, b: T): number {
  const diff = rank(isRole(b.role) ? b.role : null) - rank(isRole(a.role) ? a.role : null);
  return diff !== 0 ? diff : a.username.localeCompare(b.username);
}
