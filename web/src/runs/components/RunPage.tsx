import { useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useCan } from '../../auth/hooks/access.tsx';
import type { Run } from '../../common/api/types.ts';
import { DescriptionEditor, TagsEditor } from '../../common/components/editors.tsx';
import { CopyableId } from '../../common/components/CopyableId.tsx';
import { Breadcrumbs, Empty, ErrorBox, Facts, Loading, PageError, StatusBadge, Tabs } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { useLocalStorage } from '../../common/hooks/useLocalStorage.ts';
import { formatDuration, formatMetric, formatTimestamp, runDuration, shortId } from '../../common/utils/format.ts';
import { wireToNumber } from '../../common/utils/series.ts';
import { getExperiment } from '../../experiments/api/experiments-api.ts';
import { TracesList } from '../../traces/components/TracesList.tsx';
import { getChildRuns, getLoggedModels, getRun, getRunModelVersions, proxyPathOf, runActions } from '../api/runs-api.ts';
import { ArtifactBrowser, type ArtifactRoot } from './ArtifactBrowser.tsx';
import { ChartControls, MetricChart, type ChartSettings } from './MetricChart.tsx';
import { PromoteDialog } from './PromoteDialog.tsx';
import { CHART_SETTINGS_KEY, DEFAULT_CHART_SETTINGS, parseChartSettings } from '../utils/chart-settings.ts';
import { modelOfExperiment, splitTags } from '../utils/run-tags.ts';

const NOTE_TAG = 'mlflow.note.content';
/** While a run is RUNNING its page polls this often, so new points show within ~2 s. */
const LIVE_POLL_MS = 1000;

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'metrics', label: 'Metrics' },
  { id: 'artifacts', label: 'Artifacts' },
  { id: 'traces', label: 'Traces' },
];

export default function RunPage() {
  const { experimentId = '', runId = '' } = useParams();
  return <RunView key={runId} experimentId={experimentId} runId={runId} />;
}

function RunView({ experimentId, runId }: { experimentId: string; runId: string }) {
  const [params, setParams] = useSearchParams();
  const tab = TABS.some((t) => t.id === params.get('tab')) ? (params.get('tab') as string) : 'overview';
  const [running, setRunning] = useState(false);
  const run = useApi(
    async (signal) => {
      const r = await getRun(runId, signal);
      setRunning(r.info.status === 'RUNNING');
      return r;
    },
    [runId],
    { pollMs: running ? LIVE_POLL_MS : undefined },
  );
  const experiment = useApi((signal) => getExperiment(experimentId, signal), [experimentId]);
  const [promoting, setPromoting] = useState(false);
  const can = useCan();
  const [settings, setSettings] = useLocalStorage<ChartSettings>(CHART_SETTINGS_KEY, DEFAULT_CHART_SETTINGS, parseChartSettings);

  const r = run.data;
  const setTab = (id: string) => {
    const next = new URLSearchParams(params);
    if (id === 'overview') next.delete('tab');
    else next.set('tab', id);
    setParams(next, { replace: true });
  };
  const crumbs = [
    { label: 'Experiments', to: '/experiments' },
    { label: experiment.data?.name ?? experimentId, to: `/experiments/${experimentId}` },
    { label: r?.info.run_name ?? shortId(runId) },
  ];

  if (run.error !== undefined && !r) {
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <PageError error={run.error} what="Run" onRetry={run.reload}>
          There is no run <code>{runId}</code> on this server. It may have been deleted for good, or the link is mistyped. Go to{' '}
          <Link to={`/experiments/${experimentId}`}>its experiment</Link> or <Link to="/experiments">the experiments</Link>.
        </PageError>
      </div>
    );
  }
  if (!r) return <Loading label="Loading run…" />;

  return (
    <div className="page">
      <Breadcrumbs items={crumbs} />
      <div className="page-head">
        <h1>
          {r.info.run_name ?? runId} <StatusBadge status={r.info.status} />
          {r.info.lifecycle_stage === 'deleted' && <span className="badge badge-muted">deleted</span>}
        </h1>
        <div className="row-actions">
          {r.info.status === 'RUNNING' && (
            <span className="live" aria-live="polite">
              <span className="live-dot" aria-hidden="true" /> live
            </span>
          )}
          {can('promote') && (
            <button type="button" className="btn btn-primary" onClick={() => setPromoting(true)}>
              Promote
            </button>
          )}
        </div>
      </div>
      <Tabs tabs={TABS} active={tab} onChange={setTab} />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'overview' && <Overview run={r} reload={run.reload} />}
        {tab === 'metrics' && (
          <MetricsTab run={r} settings={settings} setSettings={setSettings} />
        )}
        {tab === 'artifacts' && (
          <RunArtifacts
            run={r}
            selected={params.get('file') ?? undefined}
            onSelect={(file) => {
              const next = new URLSearchParams(params);
              next.set('file', file);
              setParams(next);
            }}
          />
        )}
        {tab === 'traces' && <TracesList experimentId={r.info.experiment_id} runId={r.info.run_id} />}
      </div>
      {promoting && <PromoteModal run={r} modelName={modelOfExperiment(experiment.data?.name)} onClose={() => setPromoting(false)} />}
    </div>
  );
}

function PromoteModal({ run, modelName, onClose }: { run: Run; modelName: string | undefined; onClose: () => void }) {
  const models = useApi((signal) => getLoggedModels(run.info.experiment_id, run.info.run_id, signal).catch(() => []), [run.info.run_id]);
  const paths = Array.from(new Set([...(models.data ?? []).map((m) => m.info.name), 'model']));
  return <PromoteDialog runId={run.info.run_id} artifactPaths={paths} defaultModel={modelName} onClose={onClose} />;
}

function Overview({ run, reload }: { run: Run; reload: () => void }) {
  const can = useCan();
  const tags = run.data.tags ?? [];
  const tag = (key: string) => tags.find((t) => t.key === key)?.value;
  const tagGroups = splitTags(tags, [NOTE_TAG]);
  const parentId = tag('mlflow.parentRunId');
  const children = useApi((signal) => getChildRuns(run.info.experiment_id, run.info.run_id, signal), [run.info.run_id]);
  const loggedModels = useApi((signal) => getLoggedModels(run.info.experiment_id, run.info.run_id, signal), [run.info.run_id]);
  const versions = useApi((signal) => getRunModelVersions(run.info.run_id, signal), [run.info.run_id]);
  const [paramFilter, setParamFilter] = useState('');
  const params = (run.data.params ?? []).filter((p) => p.key.toLowerCase().includes(paramFilter.toLowerCase())).sort((a, b) => a.key.localeCompare(b.key));
  const metrics = (run.data.metrics ?? []).slice().sort((a, b) => a.key.localeCompare(b.key));
  const exp = run.info.experiment_id;
  const datasets = run.inputs?.dataset_inputs ?? [];
  const setTag = async (key: string, value: string) => {
    await runActions.setTag(run.info.run_id, key, value);
    reload();
  };

  return (
    <div className="overview">
      <Facts
        items={[
          ['Run ID', <CopyableId value={run.info.run_id} label="run ID" />],
          ['Status', <StatusBadge status={run.info.status} />],
          ['Started', formatTimestamp(run.info.start_time)],
          ['Ended', formatTimestamp(run.info.end_time)],
          ['Duration', formatDuration(runDuration(run.info.start_time, run.info.end_time, Date.now()))],
          ['User', run.info.user_id || tag('mlflow.user') || '—'],
          ['Source', tag('mlflow.source.name') ? <CopyableId value={tag('mlflow.source.name') ?? ''} label="source" /> : '—', 'wide'],
          ['Git commit', tag('mlflow.source.git.commit') ? <CopyableId value={tag('mlflow.source.git.commit') ?? ''} label="git commit" /> : '—'],
          ['Parent run', parentId ? <CopyableId value={parentId} to={`/experiments/${exp}/runs/${parentId}`} label="parent run ID" /> : '—'],
          [
            'Child runs',
            children.data && children.data.length > 0 ? (
              <span className="inline-list">
                {children.data.slice(0, 20).map((c) => (
                  <Link key={c.info.run_id} to={`/experiments/${exp}/runs/${c.info.run_id}`}>
                    {c.info.run_name ?? shortId(c.info.run_id)}
                  </Link>
                ))}
                {children.data.length > 20 && <span className="muted"> +{children.data.length - 20} more</span>}
              </span>
            ) : (
              '—'
            ),
          ],
          ['Artifact URI', run.info.artifact_uri ? <CopyableId value={run.info.artifact_uri} to="?tab=artifacts" label="artifact URI" /> : '—', 'wide'],
        ]}
      />
      <section>
        <h2>Description</h2>
        <DescriptionEditor value={tag(NOTE_TAG) ?? ''} save={(text) => setTag(NOTE_TAG, text)} readOnly={!can('edit_run')} />
      </section>
      <div className="two-col">
        <section>
          <h2>Parameters ({run.data.params?.length ?? 0})</h2>
          {(run.data.params?.length ?? 0) > 10 && (
            <input type="search" placeholder="Filter parameters" aria-label="Filter parameters" value={paramFilter} onChange={(e) => setParamFilter(e.target.value)} />
          )}
          {params.length === 0 ? (
            <p className="muted">No parameters.</p>
          ) : (
            <table className="kv-table" aria-label="Parameters">
              <tbody>
                {params.map((p) => (
                  <tr key={p.key}>
                    <th scope="row" className="mono">
                      {p.key}
                    </th>
                    <td className="wrap">{p.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section>
          <h2>Metrics ({metrics.length})</h2>
          {metrics.length === 0 ? (
            <p className="muted">No metrics.</p>
          ) : (
            <table className="kv-table" aria-label="Latest metric values">
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" className="num">
                    Latest
                  </th>
                  <th scope="col" className="num">
                    Step
                  </th>
                </tr>
              </thead>
              <tbody>
                {metrics.map((m) => (
                  <tr key={m.key}>
                    <th scope="row" className="mono">
                      <Link to={`?tab=metrics#metric-${encodeURIComponent(m.key)}`}>{m.key}</Link>
                    </th>
                    <td className="num">{formatMetric(wireToNumber(m.value))}</td>
                    <td className="num">{m.step}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section>
        <h2>Tags</h2>
        <TagsEditor
          tags={tagGroups.user}
          readOnly={!can('edit_run')}
          setTag={setTag}
          deleteTag={async (key) => {
            await runActions.deleteTag(run.info.run_id, key);
            reload();
          }}
        />
        <h3>System tags ({tagGroups.system.length})</h3>
        <p className="muted small">Set by MLflow; read-only.</p>
        <table className="kv-table" aria-label="System tags">
          <tbody>
            {tagGroups.system.map((t) => (
              <tr key={t.key}>
                <th scope="row" className="mono">
                  {t.key}
                </th>
                <td className="wrap">{t.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <div className="two-col">
        <section>
          <h2>Datasets ({datasets.length})</h2>
          {datasets.length === 0 ? (
            <p className="muted">No datasets logged.</p>
          ) : (
            <table className="data-table compact" aria-label="Datasets">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Context</th>
                  <th scope="col">Digest</th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d) => (
                  <tr key={`${d.dataset.name}-${d.dataset.digest}`}>
                    <td>{d.dataset.name}</td>
                    <td>{d.tags?.find((t) => t.key === 'mlflow.data.context')?.value ?? ''}</td>
                    <td>
                      <CopyableId value={d.dataset.digest} label="dataset digest" />
                    </td>
                    <td className="mono small wrap">{d.dataset.source_type}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section>
          <h2>Logged models</h2>
          {loggedModels.error !== undefined ? (
            <ErrorBox error={loggedModels.error} />
          ) : (loggedModels.data ?? []).length === 0 ? (
            <p className="muted">{loggedModels.loading ? 'Loading…' : 'No logged models.'}</p>
          ) : (
            <ul className="plain-list">
              {(loggedModels.data ?? []).map((m) => (
                <li key={m.info.model_id}>
                  <Link to={loggedModelLink(m.info.artifact_uri)}>{m.info.name}</Link> <CopyableId value={m.info.model_id} to={loggedModelLink(m.info.artifact_uri)} label="logged model ID" />{' '}
                  <StatusBadge status={m.info.status?.replace('LOGGED_MODEL_', '')} />
                </li>
              ))}
            </ul>
          )}
          {(versions.data ?? []).length > 0 && (
            <>
              <h3>Registered versions</h3>
              <ul className="plain-list">
                {(versions.data ?? []).map((v) => (
                  <li key={`${v.name}-${v.version}`}>
                    <Link to={`/models/${encodeURIComponent(v.name)}/versions/${v.version}`}>
                      {v.name} v{v.version}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function MetricsTab({ run, settings, setSettings }: { run: Run; settings: ChartSettings; setSettings: (s: ChartSettings) => void }) {
  const keys = useMemo(() => Array.from(new Set((run.data.metrics ?? []).map((m) => m.key))).sort(), [run.data.metrics]);
  const [filter, setFilter] = useState('');
  const shown = keys.filter((k) => k.toLowerCase().includes(filter.toLowerCase()));
  const runs = useMemo(() => [{ runId: run.info.run_id, label: run.info.run_name ?? run.info.run_id }], [run.info.run_id, run.info.run_name]);
  const live = run.info.status === 'RUNNING';
  if (keys.length === 0) return <Empty>This run has no metrics{live ? ' yet; they appear here as they are logged' : ''}.</Empty>;
  return (
    <div>
      <div className="toolbar">
        <ChartControls settings={settings} onChange={setSettings} />
        {keys.length > 6 && <input type="search" placeholder="Filter metrics" aria-label="Filter metrics" value={filter} onChange={(e) => setFilter(e.target.value)} />}
      </div>
      <div className="chart-grid">
        {shown.map((key) => (
          <div key={key} id={`metric-${encodeURIComponent(key)}`}>
            <MetricChart metricKey={key} runs={runs} settings={settings} pollMs={live ? (shown.length > 12 ? 3 * LIVE_POLL_MS : LIVE_POLL_MS) : undefined} />
          </div>
        ))}
      </div>
    </div>
  );
}

/** A logged model's page on the run: its MLmodel in the artifacts tab. */
function loggedModelLink(artifactUri: string): string {
  return `?tab=artifacts&file=${encodeURIComponent(`${proxyPathOf(artifactUri) ?? ''}/MLmodel`)}`;
}

function RunArtifacts({ run, selected, onSelect }: { run: Run; selected: string | undefined; onSelect: (file: string) => void }) {
  const models = useApi((signal) => getLoggedModels(run.info.experiment_id, run.info.run_id, signal).catch(() => []), [run.info.run_id]);
  const roots: ArtifactRoot[] = [];
  const runRoot = proxyPathOf(run.info.artifact_uri);
  if (runRoot !== undefined) roots.push({ label: 'Run artifacts', path: runRoot });
  for (const m of models.data ?? []) {
    const path = proxyPathOf(m.info.artifact_uri);
    if (path !== undefined) roots.push({ label: `Model “${m.info.name}”`, path });
  }
  if (models.loading && !models.data) return <Loading />;
  return <ArtifactBrowser roots={roots} selected={selected} onSelect={onSelect} />;
}
