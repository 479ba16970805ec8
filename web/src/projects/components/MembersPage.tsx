import { useState } from 'react';
import { useAccess, useCan } from '../../auth/hooks/access.tsx';
import type { Role } from '../../auth/utils/capabilities.ts';
import { errorMessage } from '../../common/api/client.ts';
import { Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { RelativeTime } from '../../common/components/Time.tsx';
import { listMembers, memberActions, type Member } from '../api/projects-api.ts';
import { assignableRoles, byRoleThenName, canManageMember, ROLE_HELP } from '../utils/roles.ts';
import { ProjectFrame } from './ProjectFrame.tsx';

/** Members of the project and their roles; maintainers and owners add, change and remove them. */
export default function MembersPage() {
  const access = useAccess();
  const can = useCan();
  const members = useApi((signal) => listMembers(signal), []);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const capabilities = access?.capabilities;
  const manage = can('manage_members');
  const roles = manage && capabilities ? assignableRoles(capabilities.role, capabilities.is_admin) : [];
  const me = access?.session.user?.username;

  const act = (key: string, work: () => Promise<unknown>) => {
    setBusy(key);
    setError(undefined);
    work()
      .then(() => members.reload())
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(undefined));
  };

  const list = (members.data ?? []).slice().sort(byRoleThenName);
  return (
    <ProjectFrame page="members" title="Members">
      {capabilities && !capabilities.auth_enabled && (
        <p className="muted">
          Authentication is off on this server: everyone who can reach it may do everything. Roles take effect once it runs with <code>trove server --auth</code>.
        </p>
      )}
      {manage && <AddMemberForm roles={roles} onAdded={members.reload} />}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {members.error !== undefined ? (
        <ErrorBox error={members.error} onRetry={members.reload} />
      ) : !members.data ? (
        <Loading label="Loading members…" />
      ) : list.length === 0 ? (
        <Empty>This project has no members yet.</Empty>
      ) : (
        <table className="data-table" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Member since</th>
              {manage && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {list.map((m) => (
              <MemberRow key={m.user_id} member={m} isMe={m.username === me} actionsColumn={manage} manage={manage && capabilities !== undefined && canManageMember(capabilities.role, capabilities.is_admin, m.role)} roles={roles} busy={busy === m.username} act={act} />
            ))}
          </tbody>
        </table>
      )}
    </ProjectFrame>
  );
}

function MemberRow({
  member,
  isMe,
  actionsColumn,
  manage,
  roles,
  busy,
  act,
}: {
  member: Member;
  isMe: boolean;
  actionsColumn: boolean;
  manage: boolean;
  roles: Role[];
  busy: boolean;
  act: (key: string, work: () => Promise<unknown>) => void;
}) {
  const choices = roles.includes(member.role) ? roles : [member.role, ...roles];
  return (
    <tr>
      <td>
        {member.username}
        {isMe && <span className="muted small"> (you)</span>}
      </td>
      <td>
        {manage ? (
          <select
            aria-label={`Role of ${member.username}`}
            value={member.role}
            disabled={busy}
            onChange={(e) => {
              const role = e.target.value as Role;
              if (isMe && !window.confirm(`Change your own role to ${role}? You may lose access to this page.`)) return;
              act(member.username, () => memberActions.setRole(member.username, role));
            }}
          >
            {choices.map((r) => (
              <option key={r} value={r} disabled={!roles.includes(r)}>
                {r}
              </option>
            ))}
          </select>
        ) : (
          <span className="badge badge-role">{member.role}</span>
        )}
      </td>
      <td>
        <RelativeTime ms={member.created_at} now={Date.now()} />
      </td>
      {actionsColumn && (
        <td className="actions">
          {manage && (
            <button
              type="button"
              className="btn btn-small btn-danger"
              aria-label={`Remove ${member.username}`}
              disabled={busy}
              onClick={() => {
                if (window.confirm(`Remove ${member.username} from this project?`)) act(member.username, () => memberActions.remove(member.username));
              }}
            >
              Remove
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

function AddMemberForm({ roles, onAdded }: { roles: Role[]; onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <section className="panel" aria-label="Add a member">
      <h2>Add a member</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          memberActions
            .add(username.trim(), role)
            .then(() => {
              setUsername('');
              onAdded();
            })
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <input aria-label="User name" placeholder="user name" value={username} onChange={(e) => setUsername(e.target.value)} required />
        <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {r} — {ROLE_HELP[r]}
            </option>
          ))}
        </select>
        <button type="submit" className="btn btn-primary btn-small" disabled={busy || !username.trim()}>
          Add member
        </button>
      </form>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
