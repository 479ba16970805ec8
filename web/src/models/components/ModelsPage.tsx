import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import { Breadcrumbs, Empty, ErrorBox, Loading, Modal } from '../../common/components/ui.tsx';
import { ClientSnippet } from '../../common/components/ClientSnippet.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatAge, formatTimestamp } from '../../common/utils/format.ts';
import { latestVersion, registryActions, searchModelVersions, searchRegisteredModels } from '../api/registry-api.ts';
import { useNavigate } from 'react-router';

const ORDERS = [
  { value: 'name ASC', label: 'Name (A–Z)' },
  { value: 'name DESC', label: 'Name (Z–A)' },
  { value: 'last_updated_timestamp DESC', label: 'Last update (newest)' },
  { value: 'creation_timestamp DESC', label: 'Created (newest)' },
];

/** The model registry: search, sort, latest version, aliases and version counts. */
export default function ModelsPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const orderBy = params.get('sort') ?? 'name ASC';
  const [draft, setDraft] = useState(q);
  const [creating, setCreating] = useState(false);
  const can = useCan();
  const state = useApi(
    async (signal) => {
      const models = await searchRegisteredModels({ nameFilter: q, orderBy }, signal);
      const versions = await searchModelVersions(undefined, signal).catch(() => []);
      return { models, versions };
    },
    [q, orderBy],
  );
  const byModel = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const v of state.data?.versions ?? []) {
      const list = map.get(v.name);
      if (list) list.push(v.version);
      else map.set(v.name, [v.version]);
    }
    return map;
  }, [state.data]);
  const now = Date.now();
  const update = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (!v) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  return (
    <div className="page">
      <Breadcrumbs items={[{ label: 'Models' }]} />
      <div className="page-head">
        <h1>Model registry</h1>
        {can('create_model') && (
          <button type="button" className="btn" onClick={() => setCreating(true)}>
            New model
          </button>
        )}
      </div>
      <div className="toolbar" role="search">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            update({ q: draft.trim() });
          }}
        >
          <label className="sr-only" htmlFor="model-search">
            Search models by name
          </label>
          <input id="model-search" type="search" placeholder="Search by name" value={draft} onChange={(e) => setDraft(e.target.value)} />
          <button type="submit" className="btn">
            Search
          </button>
        </form>
        <label>
          Sort{' '}
          <select value={orderBy} onChange={(e) => update({ sort: e.target.value })}>
            {ORDERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {state.error !== undefined ? (
        <ErrorBox error={state.error} onRetry={state.reload} />
      ) : !state.data ? (
        <Loading label="Loading models…" />
      ) : state.data.models.length === 0 ? (
        <Empty>
          <p>{q ? `No model matches “${q}”.` : 'No registered models yet. Promote a run from its page, or register one with the MLflow client:'}</p>
          {!q && <pre className="code-block">{'mlflow.sklearn.log_model(model, name="model", registered_model_name="my-model")'}</pre>}
          {!q && <ClientSnippet />}
        </Empty>
      ) : (
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest version</th>
              <th scope="col">Aliases</th>
              <th scope="col" className="num">
                Versions
              </th>
              <th scope="col">Last update</th>
            </tr>
          </thead>
          <tbody>
            {state.data.models.map((m) => {
              const versions = byModel.get(m.name) ?? (m.latest_versions ?? []).map((v) => v.version);
              const latest = latestVersion(versions.map((version) => ({ version })));
              return (
                <tr key={m.name}>
                  <td>
                    <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                  </td>
                  <td>{latest ? <Link to={`/models/${encodeURIComponent(m.name)}/versions/${latest}`}>Version {latest}</Link> : '—'}</td>
                  <td>
                    {(m.aliases ?? []).map((a) => (
                      <span key={a.alias} className="badge badge-alias">
                        @{a.alias} → v{a.version}
                      </span>
                    ))}
                  </td>
                  <td className="num">{versions.length}</td>
                  <td title={formatTimestamp(m.last_updated_timestamp)}>{formatAge(m.last_updated_timestamp, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {creating && <CreateModelDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

function CreateModelDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <Modal title="New registered model" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          registryActions
            .createModel(name.trim(), description)
            .then(() => navigate(`/models/${encodeURIComponent(name.trim())}`))
            .catch((err: unknown) => setError(errorMessage(err)));
        }}
      >
        <label className="field">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required autoFocus />
        </label>
        <label className="field">
          Description (Markdown)
          <textarea rows={4} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={!name.trim()}>
            Create
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
