import { useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { api, errorMessage } from '../../common/api/client.ts';
import type { ModelVersion, RegisteredModel } from '../../common/api/types.ts';
import { CopyableId } from '../../common/components/CopyableId.tsx';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { Breadcrumbs, ErrorBox, Facts, Loading, PageError, StatusBadge, Tabs } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatMetric, formatTimestamp, shortId } from '../../common/utils/format.ts';
import { wireToNumber } from '../../common/utils/series.ts';
import { artifactUrl, getRun, joinPath, proxyPathOf } from '../../runs/api/runs-api.ts';
import { ArtifactBrowser, SignatureTable } from '../../runs/components/ArtifactBrowser.tsx';
import { parseMlmodel } from '../../runs/utils/artifact-preview.ts';
import { getDownloadUri, getModelVersion, getRegisteredModel, registryActions, validateAlias } from '../api/registry-api.ts';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'artifacts', label: 'Artifacts' },
];

/** One model version: its schema, aliases, source run's metrics and params, artifacts, tags and description. */
export default function VersionPage() {
  const { modelName = '', version = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'artifacts' ? 'artifacts' : 'overview';
  const can = useCan();
  const mv = useApi((signal) => getModelVersion(modelName, version, signal), [modelName, version]);
  const model = useApi((signal) => getRegisteredModel(modelName, signal), [modelName]);
  const uri = useApi((signal) => getDownloadUri(modelName, version, signal), [modelName, version]);
  const runId = mv.data?.run_id;
  const run = useApi(async (signal) => (runId ? getRun(runId, signal) : undefined), [runId]);
  const crumbs = [{ label: 'Models', to: '/models' }, { label: modelName, to: `/models/${encodeURIComponent(modelName)}` }, { label: `Version ${version}` }];
  if (mv.error !== undefined) {
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <PageError error={mv.error} what="Model version" onRetry={mv.reload}>
          Model <strong>{modelName}</strong> has no version {version}. See <Link to={`/models/${encodeURIComponent(modelName)}`}>its versions</Link> or{' '}
          <Link to="/models">the model registry</Link>.
        </PageError>
      </div>
    );
  }
  if (!mv.data) return <Loading label="Loading version…" />;
  const v = mv.data;
  const aliases = (model.data?.aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias);
  const r = run.data;
  const root = uri.data !== undefined ? proxyPathOf(uri.data) : undefined;
  const mlmodelLink = root !== undefined ? `?tab=artifacts&file=${encodeURIComponent(joinPath(root, 'MLmodel'))}` : '?tab=artifacts';
  const setTab = (id: string) => {
    const next = new URLSearchParams(params);
    if (id === 'overview') next.delete('tab');
    else next.set('tab', id);
    next.delete('file');
    setParams(next, { replace: true });
  };
  return (
    <div className="page">
      <Breadcrumbs items={crumbs} />
      <div className="page-head">
        <h1>
          {v.name} <span className="muted">version {v.version}</span>{' '}
          {aliases.map((a) => (
            <span key={a} className="badge badge-alias">
              @{a}
            </span>
          ))}
        </h1>
      </div>
      <Tabs tabs={TABS} active={tab} onChange={setTab} />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'artifacts' ? (
          uri.error !== undefined ? (
            <ErrorBox error={uri.error} onRetry={uri.reload} />
          ) : uri.data === undefined ? (
            <Loading />
          ) : (
            <ArtifactBrowser
              roots={root !== undefined ? [{ label: `Version ${version}`, path: root }] : []}
              selected={params.get('file') ?? undefined}
              onSelect={(file) => {
                const next = new URLSearchParams(params);
                next.set('file', file);
                setParams(next);
              }}
            />
          )
        ) : (
          <>
            <Facts
              items={[
                ['Status', <StatusBadge status={v.status} />],
                ['Created', formatTimestamp(v.creation_timestamp)],
                ['Updated', formatTimestamp(v.last_updated_timestamp)],
                ['User', v.user_id || r?.info.user_id || '—'],
                ['Source', v.source ? <CopyableId value={v.source} to={mlmodelLink} label="source" /> : '—', 'wide'],
                [
                  'Source run',
                  r ? (
                    <Link to={`/experiments/${r.info.experiment_id}/runs/${r.info.run_id}`}>{r.info.run_name ?? shortId(r.info.run_id)}</Link>
                  ) : runId ? (
                    <CopyableId value={runId} label="run ID" />
                  ) : (
                    '—'
                  ),
                ],
                ['Run ID', runId ? <CopyableId value={runId} to={r ? `/experiments/${r.info.experiment_id}/runs/${runId}` : undefined} label="run ID" /> : '—'],
                ['Logged model', v.model_id ? <CopyableId value={v.model_id} to={mlmodelLink} label="logged model ID" /> : '—'],
              ]}
            />
            {model.data && <VersionAliases model={model.data} version={v} canSet={can('set_alias')} onChanged={model.reload} />}
            <section>
              <h2>Description</h2>
              <DescriptionEditor
                value={v.description ?? ''}
                readOnly={!can('edit_version')}
                save={async (text) => {
                  await registryActions.updateVersion(v.name, v.version, text);
                  mv.reload();
                }}
              />
            </section>
            <ModelSchema root={root} loading={uri.loading && uri.data === undefined} />
            <section>
              <h2>Tags</h2>
              <TagsEditor
                tags={v.tags ?? []}
                readOnly={!can('edit_version')}
                setTag={async (k, value) => {
                  await registryActions.setVersionTag(v.name, v.version, k, value);
                  mv.reload();
                }}
                deleteTag={async (k) => {
                  await registryActions.deleteVersionTag(v.name, v.version, k);
                  mv.reload();
                }}
              />
            </section>
            {r && (
              <div className="two-col">
                <section>
                  <h2>Source run metrics</h2>
                  <table className="kv-table">
                    <tbody>
                      {(r.data.metrics ?? []).map((m) => (
                        <tr key={m.key}>
                          <th scope="row" className="mono">
                            {m.key}
                          </th>
                          <td className="num">{formatMetric(wireToNumber(m.value))}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </section>
                <section>
                  <h2>Source run params</h2>
                  <table className="kv-table">
                    <tbody>
                      {(r.data.params ?? []).map((p) => (
                        <tr key={p.key}>
                          <th scope="row" className="mono">
                            {p.key}
                          </th>
                          <td className="wrap">{p.value}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </section>
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}

/** The version's aliases, edited in place: remove one, or point a new (or moved) alias at this version. */
function VersionAliases({ model, version, canSet, onChanged }: { model: RegisteredModel; version: ModelVersion; canSet: boolean; onChanged: () => void }) {
  const [alias, setAlias] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const mine = (model.aliases ?? []).filter((a) => a.version === version.version).map((a) => a.alias).sort();
  const elsewhere = new Map((model.aliases ?? []).filter((a) => a.version !== version.version).map((a) => [a.alias, a.version]));
  const problem = alias ? validateAlias(alias.trim()) : undefined;
  const act = (work: Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(undefined);
    work
      .then(() => {
        after?.();
        onChanged();
      })
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };
  return (
    <section aria-label="Version aliases">
      <h2>Aliases</h2>
      <div className="alias-list">
        {mine.length === 0 && <span className="muted">No alias points at this version.</span>}
        {mine.map((a) => (
          <span key={a} className="badge badge-alias">
            @{a}
            {canSet && (
              <button type="button" className="btn-icon" aria-label={`Remove alias ${a}`} disabled={busy} onClick={() => act(registryActions.deleteAlias(model.name, a))}>
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
            const name = alias.trim();
            if (!name || problem) return;
            act(registryActions.setAlias(model.name, name, version.version), () => setAlias(''));
          }}
        >
          <input aria-label="Add alias" placeholder="alias, e.g. champion" value={alias} onChange={(e) => setAlias(e.target.value)} aria-invalid={Boolean(problem)} />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy || !alias.trim() || Boolean(problem)}>
            {elsewhere.has(alias.trim()) ? `Move from v${elsewhere.get(alias.trim()) ?? ''}` : 'Add alias'}
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

/** The model's input/output schema (its signature), read from the version's MLmodel file. */
function ModelSchema({ root, loading }: { root: string | undefined; loading: boolean }) {
  const mlmodel = useApi(async (signal) => (root === undefined ? undefined : parseMlmodel(await api.text(artifactUrl(joinPath(root, 'MLmodel')), signal))), [root]);
  return (
    <section aria-label="Schema" data-testid="version-schema">
      <h2>Schema</h2>
      {loading || (root !== undefined && mlmodel.loading && !mlmodel.data) ? (
        <Loading label="Reading the MLmodel file…" />
      ) : root === undefined ? (
        <p className="muted">The model's files are not behind this server's artifact proxy, so its schema cannot be read here.</p>
      ) : mlmodel.error !== undefined ? (
        <p className="muted">No schema: the MLmodel file could not be read ({errorMessage(mlmodel.error)}).</p>
      ) : !mlmodel.data || (mlmodel.data.inputs.length === 0 && mlmodel.data.outputs.length === 0) ? (
        <p className="muted">This model was logged without a signature.</p>
      ) : (
        <div className="two-col signature">
          <div>
            <SignatureTable title="Inputs" columns={mlmodel.data.inputs} />
            <SignatureTable title="Params" columns={mlmodel.data.params} />
          </div>
          <div>
            <SignatureTable title="Outputs" columns={mlmodel.data.outputs} />
          </div>
        </div>
      )}
    </section>
  );
}
