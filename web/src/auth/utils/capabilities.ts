/**
 * What the signed-in user may do, as the server reports it (GET .../trove/capabilities, computed
 * from the one permission table in src/domain/auth/permissions.ts), and what the UI shows for it.
 * Pure functions: the UI hides an action unless the server said yes, so an unknown or missing
 * action stays hidden.
 */

export const ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** The UI actions the server reports (permissions.ts, UI_ACTIONS). */
export type UiAction =
  | 'create_experiment'
  | 'edit_experiment'
  | 'delete_experiment'
  | 'create_run'
  | 'edit_run'
  | 'delete_run'
  | 'upload_artifact'
  | 'delete_artifact'
  | 'create_model'
  | 'edit_model'
  | 'delete_model'
  | 'promote'
  | 'register_version'
  | 'edit_version'
  | 'delete_version'
  | 'set_alias'
  | 'transition_stage'
  | 'view_webhooks'
  | 'manage_webhooks'
  | 'view_members'
  | 'manage_members'
  | 'view_audit'
  | 'edit_project'
  | 'delete_project';

export interface SessionUser {
  id: number | null;
  username: string;
  is_admin: boolean;
}

/** GET .../trove/auth/session. */
export interface Session {
  auth_enabled: boolean;
  authenticated: boolean;
  user?: SessionUser;
  via?: string;
  token_scope?: string;
  csrf_token?: string;
}

/** GET .../trove/capabilities, for the project the request selected. */
export interface Capabilities {
  auth_enabled: boolean;
  project: { id: number; name: string };
  user: SessionUser | null;
  role: Role | null;
  is_admin: boolean;
  token_scope: string | null;
  permissions: Record<string, boolean>;
  actions: Partial<Record<UiAction, boolean>>;
}

/** One entry of GET .../trove/projects. */
export interface ProjectSummary {
  id: number;
  name: string;
  description?: string;
  created_at?: number;
  role?: Role | null;
}

/** Whether the UI offers `action`: only when the server said so (unknown while loading: no). */
export function can(capabilities: Capabilities | undefined, action: UiAction): boolean {
  return capabilities?.actions[action] === true;
}

/** Whether the login page is needed before anything else. */
export function needsLogin(session: Session | undefined): boolean {
  return session !== undefined && session.auth_enabled && !session.authenticated;
}

export type ProjectPageId = 'members' | 'tokens' | 'webhooks' | 'audit' | 'settings';

export interface ProjectPage {
  id: ProjectPageId;
  label: string;
  /** Path inside the project. */
  path: string;
}

const PAGES: ProjectPage[] = [
  { id: 'members', label: 'Members', path: '/members' },
  { id: 'tokens', label: 'Access tokens', path: '/tokens' },
  { id: 'webhooks', label: 'Webhooks', path: '/webhooks' },
  { id: 'audit', label: 'Audit log', path: '/audit' },
  { id: 'settings', label: 'Settings', path: '/settings' },
];

/**
 * Whether one project page is open to the user. Access tokens are personal credentials: they
 * exist only with auth on, for a signed-in user (a token cannot mint tokens).
 */
export function mayOpenProjectPage(id: ProjectPageId, capabilities: Capabilities | undefined): boolean {
  if (!capabilities) return false;
  switch (id) {
    case 'members':
      return can(capabilities, 'view_members');
    case 'tokens':
      return capabilities.auth_enabled && capabilities.user !== null && capabilities.token_scope === null;
    case 'webhooks':
      return can(capabilities, 'view_webhooks');
    case 'audit':
      return can(capabilities, 'view_audit');
    case 'settings':
      return can(capabilities, 'edit_project') || can(capabilities, 'delete_project');
  }
}

/** The project pages the user may open, in menu order. */
export function projectPages(capabilities: Capabilities | undefined): ProjectPage[] {
  return PAGES.filter((page) => mayOpenProjectPage(page.id, capabilities));
}

/** "reporter", "owner (admin)", or "" with auth off (everyone may do everything). */
export function roleLabel(capabilities: Capabilities | undefined): string {
  if (!capabilities || !capabilities.auth_enabled) return '';
  if (capabilities.is_admin) return capabilities.role && capabilities.role !== 'owner' ? `${capabilities.role} (admin)` : 'admin';
  return capabilities.role ?? '';
}
