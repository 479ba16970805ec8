import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMemberChange, decide, PERMISSION_RULES, PERMISSIONS, UI_ACTIONS, uiActions, type Permission } from './permissions.ts';
import { ANONYMOUS, ANONYMOUS_ADMIN, ROLES, SYSTEM_PRINCIPAL, type Principal, type RequestContext, type Role } from '../request-context.ts';
import { MlflowError } from '../errors.ts';

const project = { id: 2, name: 'p' };
const user: Principal = { kind: 'user', userId: 7, username: 'u', isAdmin: false, via: 'password' };

function context(principal: Principal, role: Role | null, authEnabled = true): RequestContext {
  return { principal, role, authEnabled, project, requestId: null, sourceAddress: null };
}

function outcome(permission: Permission, ctx: RequestContext): string {
  const decision = decide(permission, ctx);
  return decision.allowed ? 'allow' : `${decision.error.status}`;
}

describe('permission rules', () => {
  test('roles grow in GitLab order, each permission held from its minimum role up', () => {
    const table: Record<string, string[]> = {};
    for (const permission of PERMISSIONS.filter((p) => PERMISSION_RULES[p].scope === 'project')) {
      table[permission] = ROLES.map((role) => outcome(permission, context(user, role)));
    }
    assert.deepEqual(table, {
      read: ['allow', 'allow', 'allow', 'allow', 'allow'],
      write: ['403', '403', 'allow', 'allow', 'allow'],
      register: ['403', '403', 'allow', 'allow', 'allow'],
      alias: ['403', '403', '403', 'allow', 'allow'],
      delete: ['403', '403', '403', 'allow', 'allow'],
      import: ['403', '403', '403', 'allow', 'allow'],
      'webhooks:read': ['403', '403', '403', 'allow', 'allow'],
      webhooks: ['403', '403', '403', 'allow', 'allow'],
      members: ['403', '403', '403', 'allow', 'allow'],
      audit: ['403', '403', '403', 'allow', 'allow'],
      settings: ['403', '403', '403', '403', 'allow'],
    });
  });

  test('no credential is 401, a project one is not in is 404, whatever the permission', () => {
    for (const permission of PERMISSIONS) {
      assert.equal(outcome(permission, context(ANONYMOUS, null)), permission === 'public' ? 'allow' : '401', permission);
      if (PERMISSION_RULES[permission].scope === 'project') assert.equal(outcome(permission, context(user, null)), '404', permission);
    }
  });

  test('with authentication off, and for the system, everything is allowed', () => {
    for (const permission of PERMISSIONS) {
      assert.equal(outcome(permission, context(ANONYMOUS_ADMIN, 'owner', false)), 'allow');
      assert.equal(outcome(permission, context(SYSTEM_PRINCIPAL, null)), 'allow');
    }
  });

  test('read tokens change nothing; no token manages credentials; a project token stays in its project', () => {
    const read: Principal = { ...user, via: 'token', token: { id: 1, scope: 'read', projectId: null } };
    assert.equal(outcome('read', context(read, 'owner')), 'allow');
    assert.equal(outcome('write', context(read, 'owner')), '403');
    assert.equal(outcome('audit', context(read, 'owner')), 'allow');
    const write: Principal = { ...user, via: 'token', token: { id: 1, scope: 'write', projectId: null } };
    assert.equal(outcome('account', context(write, null)), '403');
    assert.equal(outcome('authenticated', context(write, null)), 'allow');
    const bound: Principal = { ...user, via: 'token', token: { id: 1, scope: 'write', projectId: 99 } };
    assert.equal(outcome('read', context(bound, 'owner')), '403');
    assert.equal(outcome('read', context({ ...bound, token: { id: 1, scope: 'write', projectId: 2 } }, 'owner')), 'allow');
  });

  test('instance administration is for admins only', () => {
    assert.equal(outcome('admin:write', context(user, null)), '403');
    assert.equal(outcome('admin:write', context({ ...user, isAdmin: true }, null)), 'allow');
  });

  test('every UI action names a known permission; a reporter sees no Promote', () => {
    for (const permission of Object.values(UI_ACTIONS)) assert.ok(PERMISSIONS.includes(permission));
    const actions = uiActions(context(user, 'reporter'));
    assert.equal(actions.promote, false);
    assert.equal(actions.view_members, true);
    assert.equal(uiActions(context(user, 'developer')).promote, true);
  });

  test('maintainers manage members below owner; only owners touch the owner role', () => {
    const denied = (run: () => void) => assert.throws(run, (e: unknown) => e instanceof MlflowError && e.code === 'PERMISSION_DENIED');
    checkMemberChange('maintainer', null, 'maintainer');
    checkMemberChange('maintainer', 'developer', null);
    denied(() => checkMemberChange('maintainer', null, 'owner'));
    denied(() => checkMemberChange('maintainer', 'owner', 'developer'));
    denied(() => checkMemberChange('developer', null, 'guest'));
    checkMemberChange('owner', 'owner', 'guest');
  });
});
