import { describe, expect, test } from 'vitest';
import { can, mayOpenProjectPage, needsLogin, projectPages, roleLabel, type Capabilities, type Role, type UiAction } from './capabilities.ts';

/** What the server answers for a role (permissions.ts: UI_ACTIONS and each permission's minimum role). */
function capabilitiesFor(role: Role | null, options: { admin?: boolean; authEnabled?: boolean; tokenScope?: string | null } = {}): Capabilities {
  const authEnabled = options.authEnabled ?? true;
  const rank = (r: Role | null) => (r ? ['guest', 'reporter', 'developer', 'maintainer', 'owner'].indexOf(r) : -1);
  const effective: Role | null = options.admin ? 'owner' : role;
  const atLeast = (min: Role) => !authEnabled || rank(effective) >= rank(min);
  const needs: Record<UiAction, Role> = {
    create_experiment: 'developer',
    edit_experiment: 'developer',
    delete_experiment: 'maintainer',
    create_run: 'developer',
    edit_run: 'developer',
    delete_run: 'maintainer',
    upload_artifact: 'developer',
    delete_artifact: 'maintainer',
    create_model: 'developer',
    edit_model: 'developer',
    delete_model: 'maintainer',
    promote: 'developer',
    register_version: 'developer',
    edit_version: 'developer',
    delete_version: 'maintainer',
    set_alias: 'maintainer',
    transition_stage: 'maintainer',
    view_webhooks: 'maintainer',
    manage_webhooks: 'maintainer',
    view_members: 'guest',
    manage_members: 'maintainer',
    view_audit: 'maintainer',
    edit_project: 'owner',
    delete_project: 'owner',
  };
  const actions = Object.fromEntries(Object.entries(needs).map(([action, min]) => [action, atLeast(min)]));
  return {
    auth_enabled: authEnabled,
    project: { id: 2, name: 'alpha' },
    user: authEnabled ? { id: 7, username: 'rita', is_admin: options.admin ?? false } : null,
    role: authEnabled ? role : 'owner',
    is_admin: options.admin ?? !authEnabled,
    token_scope: options.tokenScope ?? null,
    permissions: {},
    actions,
  };
}

describe('capabilities → visible actions', () => {
  test('a reporter reads but sees no Promote, delete, rename or alias move', () => {
    const reporter = capabilitiesFor('reporter');
    for (const action of ['promote', 'delete_model', 'edit_experiment', 'delete_experiment', 'set_alias', 'create_model', 'edit_run'] as const) {
      expect(can(reporter, action)).toBe(false);
    }
    expect(can(reporter, 'view_members')).toBe(true);
  });

  test('a developer promotes and edits but does not delete or move aliases', () => {
    const developer = capabilitiesFor('developer');
    expect(can(developer, 'promote')).toBe(true);
    expect(can(developer, 'edit_run')).toBe(true);
    expect(can(developer, 'delete_model')).toBe(false);
    expect(can(developer, 'set_alias')).toBe(false);
  });

  test('a maintainer moves aliases and deletes; only owners change settings', () => {
    const maintainer = capabilitiesFor('maintainer');
    expect(can(maintainer, 'set_alias')).toBe(true);
    expect(can(maintainer, 'delete_experiment')).toBe(true);
    expect(can(maintainer, 'edit_project')).toBe(false);
    expect(can(capabilitiesFor('owner'), 'edit_project')).toBe(true);
  });

  test('unknown while loading, and actions the server did not list, stay hidden', () => {
    expect(can(undefined, 'promote')).toBe(false);
    const partial = { ...capabilitiesFor('owner'), actions: {} };
    expect(can(partial, 'promote')).toBe(false);
  });

  test('with auth off everything is offered, as before projects existed', () => {
    const open = capabilitiesFor(null, { authEnabled: false });
    expect(can(open, 'promote')).toBe(true);
    expect(can(open, 'set_alias')).toBe(true);
    expect(roleLabel(open)).toBe('');
  });
});

describe('project pages', () => {
  test('a reporter sees members and their own tokens only', () => {
    expect(projectPages(capabilitiesFor('reporter')).map((p) => p.id)).toEqual(['members', 'tokens']);
  });

  test('a maintainer also sees webhooks and the audit log; an owner the settings', () => {
    expect(projectPages(capabilitiesFor('maintainer')).map((p) => p.id)).toEqual(['members', 'tokens', 'webhooks', 'audit']);
    expect(projectPages(capabilitiesFor('owner')).map((p) => p.id)).toEqual(['members', 'tokens', 'webhooks', 'audit', 'settings']);
    expect(projectPages(capabilitiesFor('guest', { admin: true })).map((p) => p.id)).toEqual(['members', 'tokens', 'webhooks', 'audit', 'settings']);
  });

  test('no access tokens without auth, or through a token', () => {
    expect(mayOpenProjectPage('tokens', capabilitiesFor(null, { authEnabled: false }))).toBe(false);
    expect(mayOpenProjectPage('tokens', capabilitiesFor('owner', { tokenScope: 'write' }))).toBe(false);
    expect(projectPages(undefined)).toEqual([]);
  });

  test('role labels', () => {
    expect(roleLabel(capabilitiesFor('reporter'))).toBe('reporter');
    expect(roleLabel(capabilitiesFor(null, { admin: true }))).toBe('admin');
  });
});

describe('login', () => {
  test('is needed only when the server asks and nobody is signed in', () => {
    expect(needsLogin(undefined)).toBe(false);
    expect(needsLogin({ auth_enabled: false, authenticated: true })).toBe(false);
    expect(needsLogin({ auth_enabled: true, authenticated: false })).toBe(true);
    expect(needsLogin({ auth_enabled: true, authenticated: true })).toBe(false);
  });
});
