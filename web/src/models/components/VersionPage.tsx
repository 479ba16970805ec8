import { Link, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { Breadcrumbs, ErrorBox, Facts, Loading, StatusBadge, Tabs } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatMetric, formatTimestamp, shortId } from '../../common/utils/format.ts';
import { wireToNumber } from '../../common/utils/series.ts';
import { getRun, proxyPathOf } from '../../runs/api/runs-api.ts';
import { ArtifactBrowser } from '../../runs/components/ArtifactBrowser.tsx';
import { getDownloadUri, getModelVersion, getRegisteredModel, registryActions } from '../api/registry-api.ts';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'artifacts', label: 'Artifacts' },
];

/** One model version: its source run's metrics and params, artifacts, tags and description. */
export default function VersionPage() {
  const { modelName = '', version = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'artifacts' ? 'artifacts' : 'overview';
  const can = useCan();
  const mv = useApi((signal) => getModelVersion(modelName, version, signal), [modelName, version]);
  const model = useApi((signal) => getRegisteredModel(modelName, signal), [modelName]);
  const runId = mv.data?.run_id;
  const run = useApi(async (signal) => (runId ? getRun(runId, signal) : undefined), [runId]);
  const crumbs = [{ label: 'Models', to: '/models' }, { label: modelName, to: `/models/${encodeURIComponent(modelName)}` }, { label: `Version ${version}` }];
  if (mv.error !== undefined) {
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <ErrorBox error={mv.error} onRetry={mv.reload} />
      </div>
    );
  }
  if (!mv.data) return <Loading label="Loading version…" />;
  const v = mv.data;
  const aliases = (model.data?.aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias);
  const r = run.data;
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
      <Tabs
        tabs={TABS}
        active={tab}
        onChange={(id) => {
          const next = new URLSearchParams(params);
          if (id === 'overview') next.delete('tab');
          else next.set('tab', id);
          setParams(next, { replace: true });
        }}
      />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'artifacts' ? (
          <VersionArtifacts name={v.name} version={v.version} />
        ) : (
          <>
            <Facts
              items={[
                ['Status', <StatusBadge status={v.status} />],
                ['Created', formatTimestamp(v.creation_timestamp)],
                ['Updated', formatTimestamp(v.last_updated_timestamp)],
                ['User', v.user_id || '—'],
                ['Source', <span className="mono small">{v.source ?? '—'}</span>],
                ['Source run', r ? <Link to={`/experiments/${r.info.experiment_id}/runs/${r.info.run_id}`}>{r.info.run_name ?? shortId(r.info.run_id)}</Link> : runId ? <span className="mono">{runId}</span> : '—'],
                ['Logged model', v.model_id ? <span className="mono">{v.model_id}</span> : '—'],
              ]}
            />
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

function VersionArtifacts({ name, version }: { name: string; version: string }) {
  const uri = useApi((signal) => getDownloadUri(name, version, signal), [name, version]);
  if (uri.error !== undefined) return <ErrorBox error={uri.error} />;
  if (uri.data === undefined) return <Loading />;
  const path = proxyPathOf(uri.data);
  return <ArtifactBrowser roots={path !== undefined ? [{ label: `Version ${version}`, path }] : []} />;
}
