import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Breadcrumbs, Empty, ErrorBox, Loading } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { colorFor } from '../../common/utils/series.ts';
import { formatMetric } from '../../common/utils/format.ts';
import { collectKeys, toRunRow, type RunRow } from '../../experiments/utils/run-rows.ts';
import { ChartControls, MetricChart, type ChartSettings } from '../../runs/components/MetricChart.tsx';
import { loadRuns } from '../api/compare-api.ts';
import { buildDimension, diffTable } from '../utils/compare.ts';
import { ParallelCoordinates, Scatter } from './ParallelCoordinates.tsx';

const MAX_RUNS = 100;

/** Compare 2–100 runs: overlaid metric charts, a param diff, parallel coordinates and a scatter. */
export default function ComparePage() {
  const [params, setParams] = useSearchParams();
  const runIds = (params.get('runs') ?? '').split(',').filter(Boolean).slice(0, MAX_RUNS);
  const experimentIds = (params.get('experiments') ?? '').split(',').filter(Boolean);
  const state = useApi((signal) => loadRuns(runIds, experimentIds, signal), [runIds.join(','), experimentIds.join(',')]);
  const rows = useMemo(() => (state.data ?? []).map(toRunRow), [state.data]);
  const keys = useMemo(() => collectKeys(rows), [rows]);
  const chosenMetrics = (params.get('metrics') ?? '').split(',').filter((k) => keys.metrics.includes(k));
  const metrics = chosenMetrics.length > 0 ? chosenMetrics : keys.metrics.slice(0, 5);
  const [settings, setSettings] = useState<ChartSettings>({ xMode: 'step', logY: false, smoothing: 0 });
  const [onlyDiff, setOnlyDiff] = useState(false);
  const chartRuns = useMemo(() => rows.map((r) => ({ runId: r.runId, label: r.name })), [rows]);
  const firstExperiment = experimentIds[0] ?? rows[0]?.experimentId;

  const setMetrics = (list: string[]) => {
    const next = new URLSearchParams(params);
    next.set('metrics', list.join(','));
    setParams(next, { replace: true });
  };

  const crumbs = [
    { label: 'Experiments', to: '/experiments' },
    ...(firstExperiment ? [{ label: `Experiment ${firstExperiment}`, to: `/experiments/${firstExperiment}` }] : []),
    { label: `Compare ${runIds.length} runs` },
  ];
  if (runIds.length < 2) {
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <Empty>Select 2 to 100 runs in an experiment’s table and press Compare.</Empty>
      </div>
    );
  }
  if (state.error !== undefined) return <ErrorBox error={state.error} onRetry={state.reload} />;
  if (!state.data) return <Loading label={`Loading ${runIds.length} runs…`} />;

  // Overlaid charts with many runs ask for fewer buckets per run.
  const buckets = rows.length > 20 ? 250 : 1000;
  const paramDiff = diffTable(rows, (r) => r.params);
  const shownDiff = onlyDiff ? paramDiff.filter((d) => d.differs) : paramDiff;

  return (
    <div className="page page-wide">
      <Breadcrumbs items={crumbs} />
      <h1>Compare {rows.length} runs</h1>
      <ul className="legend-list" aria-label="Runs">
        {rows.map((r, i) => (
          <li key={r.runId}>
            <span className="swatch" style={{ background: colorFor(i) }} aria-hidden="true" />
            <Link to={`/experiments/${r.experimentId}/runs/${r.runId}`}>{r.name}</Link>
          </li>
        ))}
      </ul>

      <section>
        <h2>Metrics</h2>
        <div className="toolbar">
          <ChartControls settings={settings} onChange={setSettings} />
          <details className="metric-picker">
            <summary className="btn btn-small">Metrics ({metrics.length})</summary>
            <div className="popover-body">
              {keys.metrics.map((k) => (
                <label key={k} className="check">
                  <input
                    type="checkbox"
                    checked={metrics.includes(k)}
                    onChange={(e) => setMetrics(e.target.checked ? [...metrics, k] : metrics.filter((m) => m !== k))}
                  />{' '}
                  {k}
                </label>
              ))}
            </div>
          </details>
        </div>
        {metrics.length === 0 ? (
          <p className="muted">These runs have no metrics.</p>
        ) : (
          <div className="chart-grid">
            {metrics.map((key) => (
              <MetricChart key={key} metricKey={key} runs={chartRuns} settings={settings} maxBuckets={buckets} />
            ))}
          </div>
        )}
      </section>

      <section>
        <div className="section-head">
          <h2>Parameters</h2>
          <label>
            <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> Only differences
          </label>
        </div>
        <DiffTable rows={rows} diff={shownDiff} />
      </section>

      <section>
        <h2>Latest metric values</h2>
        <table className="data-table compact diff-table">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              {rows.map((r, i) => (
                <th key={r.runId} scope="col" style={{ borderTop: `3px solid ${colorFor(i)}` }}>
                  {r.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {keys.metrics.map((k) => (
              <tr key={k}>
                <th scope="row" className="mono">
                  {k}
                </th>
                {rows.map((r) => (
                  <td key={r.runId} className="num">
                    {formatMetric(r.metrics[k])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <PlotsSection rows={rows} keys={keys} />
    </div>
  );
}

function DiffTable({ rows, diff }: { rows: RunRow[]; diff: ReturnType<typeof diffTable> }) {
  if (diff.length === 0) return <p className="muted">No parameters to show.</p>;
  return (
    <div className="table-scroll">
      <table className="data-table compact diff-table" aria-label="Parameter differences">
        <thead>
          <tr>
            <th scope="col">Param</th>
            {rows.map((r, i) => (
              <th key={r.runId} scope="col" style={{ borderTop: `3px solid ${colorFor(i)}` }}>
                {r.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.map((d) => (
            <tr key={d.key} className={d.differs ? 'differs' : undefined}>
              <th scope="row" className="mono">
                {d.key}
                {d.differs && <span className="sr-only"> (differs)</span>}
              </th>
              {d.values.map((v, i) => (
                <td key={i}>{v ?? <span className="muted">—</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PlotsSection({ rows, keys }: { rows: RunRow[]; keys: ReturnType<typeof collectKeys> }) {
  const options = [...keys.params.map((k) => `params.${k}`), ...keys.metrics.map((k) => `metrics.${k}`)];
  const [dims, setDims] = useState<string[]>(() => [...keys.params.slice(0, 3).map((k) => `params.${k}`), ...keys.metrics.slice(0, 2).map((k) => `metrics.${k}`)]);
  const [sx, setSx] = useState(options[0] ?? '');
  const [sy, setSy] = useState(keys.metrics[0] ? `metrics.${keys.metrics[0]}` : (options[1] ?? ''));
  const labels = rows.map((r) => r.name);
  const built = useMemo(() => dims.filter((d) => options.includes(d)).map((d) => buildDimension(d, rows)), [dims, rows, options]);
  if (options.length === 0) return null;
  return (
    <>
      <section>
        <h2>Parallel coordinates</h2>
        <details className="metric-picker">
          <summary className="btn btn-small">Axes ({built.length})</summary>
          <div className="popover-body">
            {options.map((o) => (
              <label key={o} className="check">
                <input type="checkbox" checked={dims.includes(o)} onChange={(e) => setDims(e.target.checked ? [...dims, o] : dims.filter((d) => d !== o))} /> {o}
              </label>
            ))}
          </div>
        </details>
        <ParallelCoordinates dims={built} labels={labels} />
      </section>
      <section>
        <h2>Scatter</h2>
        <div className="toolbar">
          <label>
            X{' '}
            <select value={sx} onChange={(e) => setSx(e.target.value)}>
              {options.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
          <label>
            Y{' '}
            <select value={sy} onChange={(e) => setSy(e.target.value)}>
              {options.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>
        </div>
        {sx && sy && <Scatter x={buildDimension(sx, rows)} y={buildDimension(sy, rows)} labels={labels} />}
      </section>
    </>
  );
}
