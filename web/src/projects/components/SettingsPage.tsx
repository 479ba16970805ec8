import { useEffect, useState } from 'react';
import { useAccess, useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { DEFAULT_PROJECT, projectBase } from '../../common/api/project-paths.ts';
import { ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatTimestamp } from '../../common/utils/format.ts';
import { deleteProject, getProject, updateProject } from '../api/projects-api.ts';
import { ProjectFrame } from './ProjectFrame.tsx';

/**
 * Project settings (owners and admins): rename (not the default project: the bare server URL
 * names it), description, delete (only an empty project; the server says what is left).
 */
export default function SettingsPage() {
  const access = useAccess();
  const can = useCan();
  const project = useApi((signal) => getProject(signal), []);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  const p = project.data;
  useEffect(() => {
    if (p) {
      setName(p.name);
      setDescription(p.description ?? '');
    }
  }, [p]);
  const isDefault = access?.project === DEFAULT_PROJECT;

  return (
    <ProjectFrame page="settings" title="Settings">
      {project.error !== undefined ? (
        <ErrorBox error={project.error} onRetry={project.reload} />
      ) : !p ? (
        <Loading />
      ) : (
        <>
          {can('edit_project') && (
            <section className="panel" aria-label="General settings">
              <h2>General</h2>
              <form
                className="form"
                onSubmit={(e) => {
                  e.preventDefault();
                  setBusy(true);
                  setError(undefined);
                  setSaved(false);
                  const renamed = name.trim() !== p.name;
                  updateProject({ ...(renamed ? { new_name: name.trim() } : {}), description })
                    .then((updated) => {
                      // A new name is a new URL: load the settings page under it.
                      if (renamed) window.location.assign(`${projectBase(updated.name)}/settings`);
                      else {
                        setSaved(true);
                        project.reload();
                      }
                    })
                    .catch((err: unknown) => setError(errorMessage(err)))
                    .finally(() => setBusy(false));
                }}
              >
                <label className="field">
                  Project name
                  <input value={name} onChange={(e) => setName(e.target.value)} disabled={isDefault} aria-describedby="name-help" required />
                </label>
                <p id="name-help" className="muted small">
                  {isDefault
                    ? 'The default project keeps its name: the bare server URL names it.'
                    : 'Lowercase letters, digits and inner hyphens. Renaming changes the tracking URI (/projects/<name>): update MLFLOW_TRACKING_URI in scripts.'}
                </p>
                <label className="field">
                  Description
                  <textarea rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
                </label>
                {error && (
                  <p className="error-text" role="alert">
                    {error}
                  </p>
                )}
                {saved && <p role="status">Saved.</p>}
                <div className="row-actions">
                  <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
                    {busy ? 'Saving…' : 'Save'}
                  </button>
                </div>
              </form>
              <p className="muted small">Created {formatTimestamp(p.created_at)}.</p>
            </section>
          )}
          {can('delete_project') && !isDefault && <DeleteProject name={p.name} />}
        </>
      )}
    </ProjectFrame>
  );
}

function DeleteProject({ name }: { name: string }) {
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <section className="panel danger-zone" aria-label="Delete project">
      <h2>Delete project</h2>
      <p>
        Only an empty project can be deleted (no experiments — deleted ones included until garbage collection — registered models or webhooks). Its members and
        access tokens go with it.
      </p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          deleteProject()
            .then(() => window.location.assign('/'))
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <input aria-label={`Type ${name} to confirm`} placeholder={`type “${name}” to confirm`} value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        <button type="submit" className="btn btn-danger" disabled={busy || confirm !== name}>
          Delete this project
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
