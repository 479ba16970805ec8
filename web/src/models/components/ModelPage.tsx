import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { errorMessage } from '../../common/api/client.ts';
import type { ModelVersion, RegisteredModel, Run } from '../../common/api/types.ts';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { Breadcrumbs, Empty, ErrorBox, Loading, PageError, StatusBadge, Tabs } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatMetric, formatTimestamp, shortId } from '../../common/utils/format.ts';
import { RelativeTime } from '../../common/components/Time.tsx';
import { wireToNumber } from '../../common/utils/series.ts';
import { getExperimentByName, searchRunsPage } from '../../experiments/api/experiments-api.ts';
import { modelExperimentName } from '../../experiments/utils/experiments.ts';
import { getRun } from '../../runs/api/runs-api.ts';
import { aliasesByVersion, getRegisteredModel, registryActions, searchModelVersions, validateAlias } from '../api/registry-api.ts';

const TABS = [
  { id: 'versions', label: 'Versions' },
  { id: 'candidates', label: 'Candidates' },
];

/** A registered model: versions with their source runs, aliases, candidates, description. */
export default function ModelPage() {
  const { modelName = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = TABS.some((t) => t.id === params.get('tab')) ? (params.get('tab') as string) : 'versions';
  const navigate = useNavigate();
  const can = useCan();
  const model = useApi((signal) => getRegisteredModel(modelName, signal), [modelName]);
  const versions = useApi((signal) => searchModelVersions(modelName, signal), [modelName]);
  const reload = () => {
    model.reload();
    versions.reload();
  };
  const crumbs = [{ label: 'Models', to: '/models' }, { label: modelName }];
  if (model.error !== undefined) {
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <PageError error={model.error} what="Model" onRetry={model.reload}>
          There is no registered model <strong>{modelName}</strong>. It may have been deleted or renamed. See <Link to="/models">the model registry</Link>.
        </PageError>
      </div>
    );
  }
  if (!model.data) return <Loading label="Loading model…" />;
  const m = model.data;
  return (
    <div className="page">
      <Breadcrumbs items={crumbs} />
      <div className="page-head">
        <h1>{m.name}</h1>
        {can('delete_model') && (
          <button
            type="button"
            className="btn btn-small btn-danger"
            onClick={() => {
              if (window.confirm(`Delete model “${m.name}” and all its versions?`))
                registryActions.deleteModel(m.name).then(() => navigate('/models')).catch((err: unknown) => window.alert(errorMessage(err)));
            }}
          >
            Delete model
          </button>
        )}
      </div>
      <p className="muted small">
        Created {formatTimestamp(m.creation_timestamp)} · updated {formatTimestamp(m.last_updated_timestamp)}
        {m.user_id ? ` · by ${m.user_id}` : ''}
      </p>
      <div className="two-col model-details">
        <section aria-label="Description">
          <h2>Description</h2>
          <DescriptionEditor
            value={m.description ?? ''}
            readOnly={!can('edit_model')}
            save={async (text) => {
              await registryActions.updateModel(m.name, text);
              model.reload();
            }}
          />
        </section>
        <section aria-label="Model tags">
          <h2>Tags</h2>
          <TagsEditor
            tags={m.tags ?? []}
            label="Model tags"
            readOnly={!can('edit_model')}
            setTag={async (k, v) => {
              await registryActions.setModelTag(m.name, k, v);
              model.reload();
            }}
            deleteTag={async (k) => {
              await registryActions.deleteModelTag(m.name, k);
              model.reload();
            }}
          />
        </section>
      </div>
      <AliasManager model={m} versions={versions.data ?? []} onChanged={reload} canSet={can('set_alias')} />
      <Tabs
        tabs={TABS}
        active={tab}
        onChange={(id) => {
          const next = new URLSearchParams(params);
          if (id === 'versions') next.delete('tab');
          else next.set('tab', id);
          setParams(next, { replace: true });
        }}
      />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'versions' &&
          (versions.error !== undefined ? (
            <ErrorBox error={versions.error} onRetry={versions.reload} />
          ) : !versions.data ? (
            <Loading />
          ) : (
            <VersionsTable model={m} versions={versions.data} />
          ))}
        {tab === 'candidates' && <Candidates modelName={m.name} />}
      </div>
    </div>
  );
}

/** Set or move an alias (e.g. production → another version), or remove one; read-only without the right to (maintainers). */
function AliasManager({ model, versions, onChanged, canSet }: { model: RegisteredModel; versions: ModelVersion[]; onChanged: () => void; canSet: boolean }) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const problem = alias ? validateAlias(alias) : undefined;
  const aliases = model.aliases ?? [];
  return (
    <section className="panel alias-panel" aria-label="Aliases">
      <h2>Aliases</h2>
      <div className="alias-list">
        {aliases.length === 0 && <span className="muted">No aliases.</span>}
        {aliases.map((a) => (
          <span key={a.alias} className="badge badge-alias">
            @{a.alias} → <Link to={`/models/${encodeURIComponent(model.name)}/versions/${a.version}`}>v{a.version}</Link>
            {canSet && (
              <button
                type="button"
                className="btn-icon"
                aria-label={`Remove alias ${a.alias}`}
                onClick={() =>
                  registryActions
                    .deleteAlias(model.name, a.alias)
                    .then(onChanged)
                    .catch((err: unknown) => setError(errorMessage(err)))
                }
              >
                ×
              </button>
            )}
          </span>
        ))}
      </div>
      {canSet && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (problem || !version) return;
            setError(undefined);
            registryActions
              .setAlias(model.name, alias.trim(), version)
              .then(() => {
                setAlias('');
                onChanged();
              })
              .catch((err: unknown) => setError(errorMessage(err)));
          }}
        >
          <input aria-label="Alias" placeholder="alias, e.g. production" list="known-aliases" value={alias} onChange={(e) => setAlias(e.target.value)} />
          <datalist id="known-aliases">
            {aliases.map((a) => (
              <option key={a.alias} value={a.alias} />
            ))}
          </datalist>
          <select aria-label="Version for the alias" value={version} onChange={(e) => setVersion(e.target.value)}>
            <option value="">version…</option>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                Version {v.version}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-small btn-primary" disabled={!alias || Boolean(problem) || !version}>
            Set alias
          </button>
        </form>
      )}
      {problem && <p className="error-text">{problem}</p>}
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function VersionsTable({ model, versions }: { model: RegisteredModel; versions: ModelVersion[] }) {
  const aliasMap = aliasesByVersion(model);
  // Source runs, for their key metrics (at most 50 versions look theirs up).
  const runs = useApi(
    async (signal) => {
      const ids = Array.from(new Set(versions.slice(0, 50).map((v) => v.run_id).filter((id): id is string => Boolean(id))));
      const entries = await Promise.all(ids.map((id) => getRun(id, signal).then((r) => [id, r] as const).catch(() => undefined)));
      return new Map(entries.filter((e): e is readonly [string, Run] => e !== undefined));
    },
    [versions.map((v) => v.version).join(',')],
  );
  if (versions.length === 0) return <Empty>No versions yet. Promote a run to create one.</Empty>;
  return (
    <table className="data-table" aria-label="Versions">
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Aliases</th>
          <th scope="col">Description</th>
          <th scope="col">Status</th>
          <th scope="col">Source run</th>
          <th scope="col">Key metrics</th>
          <th scope="col">Tags</th>
          <th scope="col">Created</th>
          <th scope="col">User</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => {
          const run = v.run_id ? runs.data?.get(v.run_id) : undefined;
          const metrics = (run?.data.metrics ?? []).slice(0, 3);
          return (
            <tr key={v.version}>
              <td>
                <Link to={`/models/${encodeURIComponent(model.name)}/versions/${v.version}`}>Version {v.version}</Link>
              </td>
              <td>
                {(aliasMap.get(v.version) ?? []).map((a) => (
                  <span key={a} className="badge badge-alias">
                    @{a}
                  </span>
                ))}
              </td>
              <td className="version-description" title={v.description || undefined}>
                {v.description ? firstLine(v.description) : <span className="muted">—</span>}
              </td>
              <td>
                <StatusBadge status={v.status} />
              </td>
              <td>
                {v.run_id ? (
                  run ? (
                    <Link to={`/experiments/${run.info.experiment_id}/runs/${v.run_id}`}>{run.info.run_name ?? shortId(v.run_id)}</Link>
                  ) : (
                    <span className="mono">{shortId(v.run_id)}</span>
                  )
                ) : (
                  '—'
                )}
              </td>
              <td className="small">
                {metrics.map((m) => (
                  <span key={m.key} className="metric-chip">
                    {m.key} {formatMetric(wireToNumber(m.value))}
                  </span>
                ))}
              </td>
              <td className="small">
                {(v.tags ?? []).slice(0, 3).map((t) => (
                  <span key={t.key} className="badge badge-muted">
                    {t.key}={t.value}
                  </span>
                ))}
              </td>
              <td>
                <RelativeTime ms={v.creation_timestamp} now={Date.now()} />
              </td>
              <td>{versionUser(v, run) || <span className="muted">—</span>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A description's first line without Markdown emphasis, for a table cell. */
function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim()) ?? '').replace(/[*_`#>]/g, '').trim();
}

/** Who made a version: its creating user, else the user of its source run. */
function versionUser(v: ModelVersion, run: Run | undefined): string {
  return v.user_id || run?.info.user_id || run?.data.tags?.find((t) => t.key === 'mlflow.user')?.value || '';
}

/** Runs of the model's `[model]<name>` experiment: the candidates for its next version. */
function Candidates({ modelName }: { modelName: string }) {
  const state = useApi(
    async (signal) => {
      const experiment = await getExperimentByName(modelExperimentName(modelName), signal);
      if (!experiment) return undefined;
      const page = await searchRunsPage({ experimentIds: [experiment.experiment_id], filter: '', viewType: 'ACTIVE_ONLY', maxResults: 200 }, signal);
      return { experiment, runs: page.runs };
    },
    [modelName],
  );
  if (state.error !== undefined) return <ErrorBox error={state.error} />;
  if (state.loading && !state.data) return <Loading />;
  if (!state.data)
    return (
      <Empty>
        No experiment named <code>{modelExperimentName(modelName)}</code>. Log runs there to collect candidates for this model.
      </Empty>
    );
  const { experiment, runs } = state.data;
  if (runs.length === 0) return <Empty>No runs in {experiment.name} yet.</Empty>;
  return (
    <table className="data-table">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          <th scope="col">Metrics</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.info.run_id}>
            <td>
              <Link to={`/experiments/${experiment.experiment_id}/runs/${r.info.run_id}`}>{r.info.run_name ?? shortId(r.info.run_id)}</Link>
            </td>
            <td>
              <StatusBadge status={r.info.status} />
            </td>
            <td>
              <RelativeTime ms={r.info.start_time} now={Date.now()} />
            </td>
            <td className="small">
              {(r.data.metrics ?? []).slice(0, 4).map((m) => (
                <span key={m.key} className="metric-chip">
                  {m.key} {formatMetric(wireToNumber(m.value))}
                </span>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
