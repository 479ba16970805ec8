import { useState } from 'react';
import { useNavigate } from 'react-router';
import { errorMessage } from '../../common/api/client.ts';
import { Modal } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { promoteRun, searchRegisteredModels, validateAlias } from '../../models/api/registry-api.ts';

const NEW_MODEL = '__new__';

/**
 * Promote a run's model to the registry: choose (or create) a registered model, the artifact
 * path of the model inside the run, a description and an optional alias; lands on the version.
 * `defaultModel` (the model of a `[model]<name>` experiment) is preselected, or offered as the new
 * model's name when it does not exist yet.
 */
export function PromoteDialog({ runId, artifactPaths, defaultModel, onClose }: { runId: string; artifactPaths: string[]; defaultModel?: string | undefined; onClose: () => void }) {
  const navigate = useNavigate();
  const models = useApi((signal) => searchRegisteredModels({ nameFilter: '', orderBy: 'name ASC' }, signal), []);
  const [choice, setChoice] = useState<string>('');
  const [newName, setNewName] = useState(defaultModel ?? '');
  const [artifactPath, setArtifactPath] = useState(artifactPaths[0] ?? 'model');
  const [description, setDescription] = useState('');
  const [alias, setAlias] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const list = models.data ?? [];
  const fallback = defaultModel && list.some((m) => m.name === defaultModel) ? defaultModel : (defaultModel && models.data) || (models.data && list.length === 0) ? NEW_MODEL : '';
  const selected = choice || fallback;
  const modelName = selected === NEW_MODEL ? newName.trim() : selected;
  const aliasProblem = alias ? validateAlias(alias) : undefined;

  return (
    <Modal title="Promote run to the model registry" onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!modelName || aliasProblem) return;
          setBusy(true);
          setError(undefined);
          promoteRun({
            run_id: runId,
            model_name: modelName,
            artifact_path: artifactPath.trim(),
            ...(description.trim() ? { description: description.trim() } : {}),
            ...(alias.trim() ? { alias: alias.trim() } : {}),
            create_model_if_missing: selected === NEW_MODEL,
          })
            .then((version) => navigate(`/models/${encodeURIComponent(version.name)}/versions/${version.version}`))
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label className="field">
          Registered model
          <select value={selected} onChange={(e) => setChoice(e.target.value)} required>
            <option value="" disabled>
              {models.loading ? 'Loading models…' : 'Choose a model'}
            </option>
            {list.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
            <option value={NEW_MODEL}>+ Create a new model…</option>
          </select>
        </label>
        {selected === NEW_MODEL && (
          <label className="field">
            New model name
            <input value={newName} onChange={(e) => setNewName(e.target.value)} required autoFocus />
          </label>
        )}
        <label className="field">
          Artifact path of the model in the run
          <input list="promote-artifact-paths" value={artifactPath} onChange={(e) => setArtifactPath(e.target.value)} required />
          <datalist id="promote-artifact-paths">
            {artifactPaths.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label className="field">
          Description (optional, Markdown)
          <textarea rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label className="field">
          Alias (optional, e.g. champion)
          <input value={alias} onChange={(e) => setAlias(e.target.value)} aria-invalid={Boolean(aliasProblem)} />
        </label>
        {aliasProblem && <p className="error-text">{aliasProblem}</p>}
        {models.error !== undefined && <p className="error-text">{errorMessage(models.error)}</p>}
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !modelName || Boolean(aliasProblem)}>
            {busy ? 'Promoting…' : 'Promote'}
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
