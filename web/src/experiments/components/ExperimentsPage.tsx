import { useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import type { Experiment, ViewType } from '../../common/api/types.ts';
import { ClientSnippet } from '../../common/components/ClientSnippet.tsx';
import { Breadcrumbs, Empty, ErrorBox, Loading, Modal } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { RelativeTime } from '../../common/components/Time.tsx';
import { countRuns, experimentActions, searchExperiments } from '../api/experiments-api.ts';
import { experimentDescription, isModelExperiment, userTags } from '../utils/experiments.ts';
import '../experiments.css';

const ORDERS: Array<{ value: string; label: string }> = [
  { value: 'last_update_time DESC', label: 'Last update (newest)' },
  { value: 'creation_time DESC', label: 'Created (newest)' },
  { value: 'creation_time ASC', label: 'Created (oldest)' },
  { value: 'name ASC', label: 'Name (A–Z)' },
  { value: 'name DESC', label: 'Name (Z–A)' },
];

/** The experiments list: search, sort, lifecycle filter, [model] toggle, rename/delete/restore. */
export default function ExperimentsPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const orderBy = params.get('sort') ?? 'last_update_time DESC';
  const viewType = (params.get('view') as ViewType | null) ?? 'ACTIVE_ONLY';
  const showModels = params.get('models') === '1';
  const [draft, setDraft] = useState(q);
  const [renaming, setRenaming] = useState<Experiment | undefined>(undefined);
  const [creating, setCreating] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  // Experiments picked to see their runs in one table.
  const [picked, setPicked] = useState<string[]>([]);
  const navigate = useNavigate();
  const can = useCan();

  const update = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  const state = useApi(
    async (signal) => {
      const experiments = await searchExperiments({ viewType, nameFilter: q, orderBy }, signal);
      const counts = await countRuns(
        experiments.map((e) => e.experiment_id),
        viewType === 'DELETED_ONLY' ? 'ALL' : viewType,
        signal,
      ).catch(() => ({}) as Record<string, number>);
      return { experiments, counts };
    },
    [q, orderBy, viewType],
  );

  const shown = useMemo(() => (state.data?.experiments ?? []).filter((e) => showModels || !isModelExperiment(e.name)), [state.data, showModels]);
  const hiddenModels = (state.data?.experiments.length ?? 0) - shown.length;
  const now = Date.now();

  const act = (work: Promise<unknown>) => {
    setActionError(undefined);
    work.then(() => state.reload()).catch((err: unknown) => setActionError(errorMessage(err)));
  };

  return (
    <div className="page">
      <Breadcrumbs items={[{ label: 'Experiments' }]} />
      <div className="page-head">
        <h1>Experiments</h1>
        {can('create_experiment') && (
          <button type="button" className="btn" onClick={() => setCreating(true)}>
            New experiment
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
          <label className="sr-only" htmlFor="experiment-search">
            Search experiments by name
          </label>
          <input id="experiment-search" type="search" placeholder="Search by name" value={draft} onChange={(e) => setDraft(e.target.value)} />
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
        <label>
          Show{' '}
          <select value={viewType} onChange={(e) => update({ view: e.target.value === 'ACTIVE_ONLY' ? undefined : e.target.value })}>
            <option value="ACTIVE_ONLY">Active</option>
            <option value="DELETED_ONLY">Deleted</option>
            <option value="ALL">All</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={showModels} onChange={(e) => update({ models: e.target.checked ? '1' : undefined })} /> Show [model] experiments
        </label>
        <button
          type="button"
          className="btn btn-primary"
          disabled={picked.length < 2}
          title="Select two or more experiments"
          onClick={() => navigate(`/experiments/${picked[0]}?exps=${picked.slice(1).join(',')}`)}
        >
          Runs of selected{picked.length > 0 ? ` (${picked.length})` : ''}
        </button>
      </div>
      {actionError && (
        <p className="error-text" role="alert">
          {actionError}
        </p>
      )}
      {state.error !== undefined ? (
        <ErrorBox error={state.error} onRetry={state.reload} />
      ) : state.loading && !state.data ? (
        <Loading label="Loading experiments…" />
      ) : shown.length === 0 ? (
        <Empty>
          <p>{q ? `No experiment matches “${q}”.` : 'No experiments yet.'}</p>
          {hiddenModels > 0 && <p>{hiddenModels} [model] experiments are hidden.</p>}
          {!q && <ClientSnippet />}
        </Empty>
      ) : (
        <table className="data-table experiments-table">
          <thead>
            <tr>
              <th scope="col" className="check-col">
                <span className="sr-only">Select</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Tags</th>
              <th scope="col" className="num">
                Runs
              </th>
              <th scope="col">Created</th>
              <th scope="col">Last update</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.experiment_id} className={e.lifecycle_stage === 'deleted' ? 'deleted' : undefined}>
                <td className="check-col">
                  <input
                    type="checkbox"
                    aria-label={`Select ${e.name}`}
                    checked={picked.includes(e.experiment_id)}
                    onChange={(ev) => setPicked(ev.target.checked ? [...picked, e.experiment_id] : picked.filter((id) => id !== e.experiment_id))}
                  />
                </td>
                <td>
                  <Link to={`/experiments/${e.experiment_id}`}>{e.name}</Link>
                  {e.lifecycle_stage === 'deleted' && <span className="badge badge-muted">deleted</span>}
                  <span className="muted small"> #{e.experiment_id}</span>
                </td>
                <td className="exp-description" title={experimentDescription(e)}>
                  {experimentDescription(e)}
                </td>
                <td>
                  {userTags(e).map((t) => (
                    <span key={t.key} className="badge badge-muted tag-chip" title={`${t.key}=${t.value}`}>
                      {t.key}={t.value.length > 24 ? `${t.value.slice(0, 24)}…` : t.value}
                    </span>
                  ))}
                </td>
                <td className="num">{state.data?.counts[e.experiment_id]?.toLocaleString() ?? '—'}</td>
                <td>
                  <RelativeTime ms={e.creation_time} now={now} />
                </td>
                <td>
                  <RelativeTime ms={e.last_update_time} now={now} />
                </td>
                <td className="actions">
                  {e.lifecycle_stage === 'deleted' ? (
                    can('delete_experiment') && (
                      <button type="button" className="btn btn-small" onClick={() => act(experimentActions.restore(e.experiment_id))}>
                        Restore
                      </button>
                    )
                  ) : (
                    <>
                      {can('edit_experiment') && (
                        <button type="button" className="btn btn-small" aria-label={`Rename ${e.name}`} onClick={() => setRenaming(e)}>
                          Rename
                        </button>
                      )}
                      {e.experiment_id !== '0' && can('delete_experiment') && (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          aria-label={`Delete ${e.name}`}
                          onClick={() => {
                            if (window.confirm(`Delete experiment “${e.name}” and its runs? It can be restored later.`)) act(experimentActions.delete(e.experiment_id));
                          }}
                        >
                          Delete
                        </button>
                      )}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {hiddenModels > 0 && shown.length > 0 && <p className="muted small">{hiddenModels} [model] experiments hidden.</p>}
      {renaming && (
        <NameDialog
          title={`Rename “${renaming.name}”`}
          initial={renaming.name}
          onClose={() => setRenaming(undefined)}
          submit={async (name) => {
            await experimentActions.rename(renaming.experiment_id, name);
            setRenaming(undefined);
            state.reload();
          }}
        />
      )}
      {creating && (
        <NameDialog
          title="New experiment"
          initial=""
          onClose={() => setCreating(false)}
          submit={async (name) => {
            await experimentActions.create(name);
            setCreating(false);
            state.reload();
          }}
        />
      )}
    </div>
  );
}

export function NameDialog({ title, initial, submit, onClose }: { title: string; initial: string; submit: (name: string) => Promise<void>; onClose: () => void }) {
  const [name, setName] = useState(initial);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={title} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          submit(name.trim())
            .catch((err: unknown) => setError(errorMessage(err)))
            .finally(() => setBusy(false));
        }}
      >
        <label className="field">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} autoFocus required />
        </label>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            Save
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
