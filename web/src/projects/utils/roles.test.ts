import { describe, expect, test } from 'vitest';
import { assignableRoles, byRoleThenName, canManageMember } from './roles.ts';

describe('member roles the UI offers', () => {
  test('owners and admins hand out every role', () => {
    expect(assignableRoles('owner', false)).toEqual(['guest', 'reporter', 'developer', 'maintainer', 'owner']);
    expect(assignableRoles(null, true)).toEqual(['guest', 'reporter', 'developer', 'maintainer', 'owner']);
  });

  test('maintainers up to maintainer; others none', () => {
    expect(assignableRoles('maintainer', false)).toEqual(['guest', 'reporter', 'developer', 'maintainer']);
    expect(assignableRoles('developer', false)).toEqual([]);
    expect(assignableRoles(null, false)).toEqual([]);
  });

  test('maintainers never touch owners', () => {
    expect(canManageMember('maintainer', false, 'owner')).toBe(false);
    expect(canManageMember('maintainer', false, 'developer')).toBe(true);
    expect(canManageMember('owner', false, 'owner')).toBe(true);
    expect(canManageMember('reporter', false, 'guest')).toBe(false);
  });

  test('members sort strongest role first', () => {
    const members = [
      { username: 'b', role: 'reporter' },
      { username: 'a', role: 'reporter' },
      { username: 'z', role: 'owner' },
    ];
    expect(members.sort(byRoleThenName).map((m) => m.username)).toEqual(['z', 'a', 'b']);
  });
});
