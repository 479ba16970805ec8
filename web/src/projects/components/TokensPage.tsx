import { useState } from 'react';
import { useAccess } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { projectBase } from '../../common/api/project-paths.ts';
import { Breadcrumbs, CopyButton, Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatAge, formatTimestamp } from '../../common/utils/format.ts';
import { createToken, listTokens, revokeToken, type AccessToken } from '../api/projects-api.ts';
import { ProjectFrame } from './ProjectFrame.tsx';

const EXPIRY_CHOICES = [
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '1y', label: '1 year' },
  { value: '', label: 'Never' },
];

/**
 * The user's personal access tokens for this project (for MLFLOW_TRACKING_TOKEN): create one
 * (its secret is shown once), see when each was last used and when it expires, revoke it.
 */
export default function TokensPage() {
  const access = useAccess();
  const project = access?.project ?? 'default';
  const authOff = access?.capabilities.auth_enabled === false;
  const tokens = useApi((signal) => (authOff ? Promise.resolve([]) : listTokens(project, signal)), [project, authOff]);
  const [created, setCreated] = useState<{ token: string; record: AccessToken } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const now = Date.now();
  const list = (tokens.data ?? []).slice().sort((a, b) => (a.status === b.status ? b.created_at - a.created_at : a.status === 'active' ? -1 : 1));

  if (authOff) return <TokensNeedAuth project={project} />;
  return (
    <ProjectFrame page="tokens" title="Access tokens">
      <p className="muted">
        Personal access tokens let scripts and the MLflow client act as you in project <strong>{project}</strong> (set <code>MLFLOW_TRACKING_TOKEN</code>). A token
        never has more rights than your role here; a <em>read</em> token cannot change anything.
      </p>
      {created ? (
        <NewTokenPanel token={created.token} record={created.record} project={project} onDone={() => setCreated(undefined)} />
      ) : (
        <CreateTokenForm
          project={project}
          onCreated={(token, record) => {
            setCreated({ token, record });
            tokens.reload();
          }}
        />
      )}
      <h2>Your tokens for {project}</h2>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {tokens.error !== undefined ? (
        <ErrorBox error={tokens.error} onRetry={tokens.reload} />
      ) : !tokens.data ? (
        <Loading label="Loading tokens…" />
      ) : list.length === 0 ? (
        <Empty>You have no access tokens for this project.</Empty>
      ) : (
        <table className="data-table" aria-label="Access tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col">Token</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id} className={t.status === 'active' ? undefined : 'deleted'}>
                <td>{t.name || <span className="muted">unnamed</span>}</td>
                <td>{t.scope}</td>
                <td className="mono small">{t.hint}</td>
                <td>
                  <span className={`badge ${t.status === 'active' ? 'badge-ok' : 'badge-muted'}`}>{t.status}</span>
                </td>
                <td title={formatTimestamp(t.created_at)}>{formatAge(t.created_at, now)}</td>
                <td title={t.last_used_at ? formatTimestamp(t.last_used_at) : undefined}>{t.last_used_at ? formatAge(t.last_used_at, now) : 'never'}</td>
                <td>{t.expires_at ? formatTimestamp(t.expires_at) : 'never'}</td>
                <td className="actions">
                  {t.status === 'active' && (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      aria-label={`Revoke token ${t.name || t.hint}`}
                      onClick={() => {
                        if (!window.confirm(`Revoke token “${t.name || t.hint}”? Scripts using it stop working at once.`)) return;
                        setError(undefined);
                        revokeToken(t.id)
                          .then(() => tokens.reload())
                          .catch((err: unknown) => setError(errorMessage(err)));
                      }}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </ProjectFrame>
  );
}

function CreateTokenForm({ project, onCreated }: { project: string; onCreated: (token: string, record: AccessToken) => void }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'read' | 'write'>('write');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <section className="panel" aria-label="Create an access token">
      <h2>Create a token</h2>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          createToken({ name: name.trim(), scope, project, expires_in: expiresIn || undefined })
            .then((res) => {
              setName('');
              onCreated(res.token, res.access_token);
            })
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <input aria-label="Token name" placeholder="name, e.g. ci-training" value={name} onChange={(e) => setName(e.target.value)} required />
        <select aria-label="Scope" value={scope} onChange={(e) => setScope(e.target.value === 'read' ? 'read' : 'write')}>
          <option value="write">write (log runs, register models)</option>
          <option value="read">read only</option>
        </select>
        <select aria-label="Expires in" value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)}>
          {EXPIRY_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              expires: {c.label}
            </option>
          ))}
        </select>
        <button type="submit" className="btn btn-primary btn-small" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create token'}
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

/** The new token, shown this once, with a copy button and the client setup that uses it. */
function NewTokenPanel({ token, record, project, onDone }: { token: string; record: AccessToken; project: string; onDone: () => void }) {
  const setup = [`export MLFLOW_TRACKING_URI=${window.location.origin}${projectBase(project)}`, `export MLFLOW_TRACKING_TOKEN=${token}`].join('\n');
  return (
    <section className="panel new-token" aria-label="New access token">
      <h2>Token “{record.name || record.hint}” created</h2>
      <p className="warning" role="status">
        <strong>Copy it now: you won’t see it again.</strong> Trove keeps only a hash of it. If you lose it, revoke it and create another.
      </p>
      <div className="token-value">
        <input aria-label="New token value" className="mono" readOnly value={token} onFocus={(e) => e.target.select()} />
        <CopyButton text={token} label="Copy token" />
      </div>
      <pre className="code-block" aria-label="Client setup with this token">
        <code>{setup}</code>
      </pre>
      <div className="row-actions">
        <CopyButton text={setup} label="Copy setup" />
        <button type="button" className="btn btn-small" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </section>
  );
}

/** With authentication off there are no users, so no personal tokens: say how to turn it on. */
function TokensNeedAuth({ project }: { project: string }) {
  return (
    <div className="page">
      <Breadcrumbs items={[{ label: `Project ${project}` }, { label: 'Access tokens' }]} />
      <h1>Access tokens</h1>
      <div className="state state-empty" role="status" data-testid="tokens-need-auth">
        <p>
          <strong>Access tokens need authentication.</strong> This server runs without it, so every client may already read and write without a token.
        </p>
        <p>
          Start the server with <code>trove server --auth</code> to have users, roles and personal access tokens; a script then sets <code>MLFLOW_TRACKING_TOKEN</code> to
          act as its user.
        </p>
      </div>
    </div>
  );
}
