import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { CopyableId } from '../../common/components/CopyableId.tsx';
import { Breadcrumbs, Empty, ErrorBox, Loading, StatusBadge } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { colorFor } from '../../common/utils/series.ts';
import { formatDuration, formatMetric, formatTimestamp, runDuration } from '../../common/utils/format.ts';
import { getExperiment } from '../../experiments/api/experiments-api.ts';
import { collectKeys, toRunRow, type RunRow } from '../../experiments/utils/run-rows.ts';
import { ChartControls, MetricChart, type ChartSettings } from '../../runs/components/MetricChart.tsx';
import { loadRuns } from '../api/compare-api.ts';
import { prefetchDownsampled } from '../../runs/api/metrics-api.ts';
import { buildDimension, diffTable, extent } from '../utils/compare.ts';
import { brushFilter, colorScale, defaultAxes, position, type Brush } from '../utils/plots.ts';
import { ColorLegend } from './Axis.tsx';
import { DimSelect, KeyPicker } from './KeyPicker.tsx';
import { ParallelCoordinates } from './ParallelCoordinates.tsx';
import { BoxPlot, ContourPlot, Scatter } from './Plots.tsx';
import { normalize } from '../utils/compare.ts';

const MAX_RUNS = 100;

/**
 * Overlaid charts with many runs ask for fewer buckets per run: 100 lines in a chart a few hundred
 * pixels wide cannot show more, and wider buckets let the server build them from its step rollups
 * (blocks of 64 steps and up) instead of grouping every raw point (10,000 steps / 125 = 80).
 */
function bucketsFor(runCount: number): number {
  return runCount > 20 ? 125 : 1000;
}
const RUN_COLORS = '';

/**
 * Compare 2–100 runs: overlaid metric charts; parallel coordinates whose brushes filter the runs
 * shown in the tables and plots below; run details, params and metrics (each with a picker); a
 * scatter, box plots and a contour plot, all with axis pickers and one colour scale.
 */
export default function ComparePage() {
  const [params, setParams] = useSearchParams();
  const runIds = (params.get('runs') ?? '').split(',').filter(Boolean).slice(0, MAX_RUNS);
  const experimentIds = (params.get('experiments') ?? '').split(',').filter(Boolean);
  const state = useApi((signal) => loadRuns(runIds, experimentIds, signal), [runIds.join(','), experimentIds.join(',')]);
  // The URL names the runs and the charted metrics: start the charts' requests alongside
  // runs/search instead of after it (the charts take them over when they mount).
  const urlMetrics = params.get('metrics') ?? '';
  useEffect(() => {
    if (runIds.length < 2) return;
    for (const key of urlMetrics.split(',').filter(Boolean)) prefetchDownsampled({ runIds, key, xAxis: 'step', maxBuckets: bucketsFor(runIds.length) });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- runIds is derived from the URL
  }, [runIds.join(','), urlMetrics]);
  const rows = useMemo(() => (state.data ?? []).map(toRunRow), [state.data]);
  const keys = useMemo(() => collectKeys(rows), [rows]);
  const chosenMetrics = (params.get('metrics') ?? '').split(',').filter((k) => keys.metrics.includes(k));
  const metrics = chosenMetrics.length > 0 ? chosenMetrics : keys.metrics.slice(0, 5);
  const [settings, setSettings] = useState<ChartSettings>({ xMode: 'step', logY: false, smoothing: 0 });
  // The analysis below the charts (tables, parallel coordinates, plots) renders once every chart
  // is drawn (or settled), so it does not hold up the charts on the main thread.
  const [settledCharts, setSettledCharts] = useState<ReadonlySet<string>>(() => new Set());
  const [analysisShown, setAnalysisShown] = useState(false);
  const settle = useCallback((key: string) => setSettledCharts((prev) => (prev.has(key) ? prev : new Set(prev).add(key))), []);
  const settleHandlers = useMemo(() => new Map<string, () => void>(), []);
  const onSettled = (key: string) => {
    let handler = settleHandlers.get(key);
    if (!handler) {
      handler = () => settle(key);
      settleHandlers.set(key, handler);
    }
    return handler;
  };
  const chartsSettled = state.data !== undefined && metrics.every((k) => settledCharts.has(k));
  useEffect(() => {
    if (analysisShown || !chartsSettled) return undefined;
    // After the frame that shows the charts has been painted.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => setAnalysisShown(true), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [analysisShown, chartsSettled]);
  const chartRuns = useMemo(() => rows.map((r) => ({ runId: r.runId, label: r.name })), [rows]);
  const firstExperiment = experimentIds[0] ?? rows[0]?.experimentId;
  const experiment = useApi(async (signal) => (firstExperiment ? getExperiment(firstExperiment, signal) : undefined), [firstExperiment]);

  const setMetrics = (list: string[]) => {
    const next = new URLSearchParams(params);
    next.set('metrics', list.join(','));
    setParams(next, { replace: true });
  };

  const crumbs = [
    { label: 'Experiments', to: '/experiments' },
    ...(firstExperiment ? [{ label: experiment.data?.name ?? `Experiment ${firstExperiment}`, to: `/experiments/${firstExperiment}` }] : []),
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
  if (state.error !== undefined)
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <ErrorBox error={state.error} onRetry={state.reload} />
      </div>
    );
  if (!state.data) return <Loading label={`Loading ${runIds.length} runs…`} />;
  if (rows.length < 2)
    return (
      <div className="page">
        <Breadcrumbs items={crumbs} />
        <Empty>
          Only {rows.length} of the {runIds.length} runs in this link exist{experimentIds.length > 0 ? ' in its experiments' : ''}: nothing to compare.
        </Empty>
      </div>
    );

  const buckets = bucketsFor(rows.length);

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
          <KeyPicker label="Charts" keys={keys.metrics} chosen={metrics} onChange={setMetrics} />
        </div>
        {metrics.length === 0 ? (
          <p className="muted">{keys.metrics.length === 0 ? 'These runs have no metrics.' : 'No metric chosen.'}</p>
        ) : (
          <div className="chart-grid">
            {metrics.map((key) => (
              <MetricChart key={key} metricKey={key} runs={chartRuns} settings={settings} maxBuckets={buckets} onSettled={onSettled(key)} />
            ))}
          </div>
        )}
      </section>

      {analysisShown ? <Analysis rows={rows} keys={keys} /> : <Loading label="Preparing the analysis…" />}
    </div>
  );
}

/** Everything below the charts: brushing in the parallel coordinates filters the runs of every part. */
function Analysis({ rows, keys }: { rows: RunRow[]; keys: ReturnType<typeof collectKeys> }) {
  const options = useMemo(() => [...keys.params.map((k) => `params.${k}`), ...keys.metrics.map((k) => `metrics.${k}`)], [keys]);
  const metricOptions = keys.metrics.map((k) => `metrics.${k}`);
  const numericOptions = useMemo(() => options.filter((o) => buildDimension(o, rows).kind === 'numeric'), [options, rows]);
  const [axes, setAxes] = useState<string[]>(() => defaultAxes(keys.params, keys.metrics));
  const [colorBy, setColorBy] = useState<string>(() => metricOptions.find((m) => /loss/i.test(m)) ?? metricOptions[0] ?? RUN_COLORS);
  const [brushes, setBrushes] = useState<Record<string, Brush>>({});
  const labels = rows.map((r) => r.name);
  const dims = useMemo(() => axes.filter((d) => options.includes(d)).map((d) => buildDimension(d, rows)), [axes, rows, options]);
  const positions = useMemo(() => dims.map(normalize), [dims]);
  const active = brushFilter(
    positions,
    dims.map((d) => d.id),
    brushes,
    rows.length,
  );
  const colorDim = colorBy ? buildDimension(colorBy, rows) : undefined;
  const colorRange = colorDim ? extent(colorDim) : undefined;
  const colors = rows.map((_, i) => {
    const v = colorDim?.values[i];
    return colorRange && typeof v === 'number' ? colorScale(position(v, colorRange[0], colorRange[1])) : colorRange ? 'var(--inactive-line)' : colorFor(i);
  });
  const shown = rows.filter((_, i) => active[i]);
  const shownColors = colors.filter((_, i) => active[i]);
  const brushed = Object.keys(brushes).length > 0;

  return (
    <>
      {options.length > 0 && (
        <section>
          <div className="section-head">
            <h2>Parallel coordinates</h2>
            <div className="toolbar">
              <KeyPicker label="Axes" keys={options} chosen={axes.filter((a) => options.includes(a))} onChange={setAxes} />
              <label>
                Colour by{' '}
                <select aria-label="Colour by" value={colorBy} onChange={(e) => setColorBy(e.target.value)}>
                  <option value={RUN_COLORS}>run</option>
                  {numericOptions.map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              </label>
              {colorDim && colorRange && <ColorLegend label={colorDim.label} range={colorRange} />}
            </div>
          </div>
          <ParallelCoordinates
            dims={dims}
            labels={labels}
            colors={colors}
            active={active}
            brushes={brushes}
            onBrush={(id, brush) => {
              const next = { ...brushes };
              if (brush) next[id] = brush;
              else delete next[id];
              setBrushes(next);
            }}
          />
          <p className="muted small brush-status" aria-live="polite" data-testid="brush-status">
            {brushed ? (
              <>
                {shown.length} of {rows.length} runs in the brushed ranges; the tables and plots below show only these.{' '}
                <button type="button" className="btn btn-small" onClick={() => setBrushes({})}>
                  Clear brushes
                </button>
              </>
            ) : (
              'Drag along an axis to filter the runs below; click an axis to clear its brush.'
            )}
          </p>
        </section>
      )}
      <RunDetails rows={shown} />
      <ParamsSection rows={shown} keys={keys.params} />
      <MetricsSection rows={shown} keys={keys.metrics} />
      {options.length > 0 && <PlotsSection rows={shown} colors={shownColors} options={options} numericOptions={numericOptions} metricOptions={metricOptions} />}
    </>
  );
}

function RunHeader({ rows }: { rows: RunRow[] }) {
  return (
    <thead>
      <tr>
        <th scope="col" />
        {rows.map((r, i) => (
          <th key={r.runId} scope="col" style={{ borderTop: `3px solid ${colorFor(i)}` }}>
            {r.name}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** The runs' facts side by side: ids, status, times, user, source. */
function RunDetails({ rows }: { rows: RunRow[] }) {
  const now = Date.now();
  const facts: Array<[string, (r: RunRow) => React.ReactNode]> = [
    ['Run ID', (r) => <CopyableId value={r.runId} to={`/experiments/${r.experimentId}/runs/${r.runId}`} label="run ID" />],
    ['Status', (r) => <StatusBadge status={r.status} />],
    ['Started', (r) => formatTimestamp(r.startTime)],
    ['Ended', (r) => formatTimestamp(r.endTime)],
    ['Duration', (r) => formatDuration(runDuration(r.startTime, r.endTime, now))],
    ['User', (r) => r.user || '—'],
    ['Source', (r) => r.source || '—'],
    ['Parent run', (r) => (r.parentId ? <CopyableId value={r.parentId} to={`/experiments/${r.experimentId}/runs/${r.parentId}`} label="parent run ID" /> : '—')],
  ];
  return (
    <section>
      <h2>Run details</h2>
      <div className="table-scroll">
        <table className="data-table compact diff-table" aria-label="Run details">
          <RunHeader rows={rows} />
          <tbody>
            {facts.map(([label, cell]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {rows.map((r) => (
                  <td key={r.runId} className="run-detail">
                    {cell(r)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ParamsSection({ rows, keys }: { rows: RunRow[]; keys: string[] }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const [chosen, setChosen] = useState<string[]>(keys);
  const diff = diffTable(rows, (r) => r.params).filter((d) => chosen.includes(d.key) && (!onlyDiff || d.differs));
  return (
    <section>
      <div className="section-head">
        <h2>Parameters</h2>
        <div className="toolbar">
          <KeyPicker label="Params" keys={keys} chosen={chosen} onChange={setChosen} />
          <label>
            <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> Only differences
          </label>
        </div>
      </div>
      {diff.length === 0 ? (
        <p className="muted">No parameters to show.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table compact diff-table" aria-label="Parameter differences">
            <RunHeader rows={rows} />
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
      )}
    </section>
  );
}

function MetricsSection({ rows, keys }: { rows: RunRow[]; keys: string[] }) {
  const [chosen, setChosen] = useState<string[]>(keys);
  const shown = keys.filter((k) => chosen.includes(k));
  return (
    <section>
      <div className="section-head">
        <h2>Latest metric values</h2>
        <KeyPicker label="Metrics" keys={keys} chosen={chosen} onChange={setChosen} />
      </div>
      {shown.length === 0 ? (
        <p className="muted">No metrics to show.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table compact diff-table" aria-label="Latest metric values">
            <RunHeader rows={rows} />
            <tbody>
              {shown.map((k) => (
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
        </div>
      )}
    </section>
  );
}

function PlotsSection({
  rows,
  colors,
  options,
  numericOptions,
  metricOptions,
}: {
  rows: RunRow[];
  colors: string[];
  options: string[];
  numericOptions: string[];
  metricOptions: string[];
}) {
  const paramOptions = options.filter((o) => o.startsWith('params.'));
  const [sx, setSx] = useState(paramOptions[0] ?? options[0] ?? '');
  const [sy, setSy] = useState(metricOptions[0] ?? options[1] ?? options[0] ?? '');
  const [bx, setBx] = useState(paramOptions[0] ?? options[0] ?? '');
  const [by, setBy] = useState(metricOptions[0] ?? numericOptions[0] ?? '');
  const [cx, setCx] = useState(numericOptions[0] ?? options[0] ?? '');
  const [cy, setCy] = useState(numericOptions[1] ?? options[1] ?? '');
  const [cz, setCz] = useState(metricOptions[0] ?? numericOptions[0] ?? '');
  const labels = rows.map((r) => r.name);
  const has = (id: string) => options.includes(id);
  return (
    <>
      <section>
        <h2>Scatter</h2>
        <div className="toolbar">
          <DimSelect label="Scatter X" value={sx} options={options} onChange={setSx} />
          <DimSelect label="Scatter Y" value={sy} options={options} onChange={setSy} />
        </div>
        {has(sx) && has(sy) && <Scatter x={buildDimension(sx, rows)} y={buildDimension(sy, rows)} labels={labels} colors={colors} />}
      </section>
      <section>
        <h2>Box plots</h2>
        <div className="toolbar">
          <DimSelect label="Group by" value={bx} options={options} onChange={setBx} />
          <DimSelect label="Box plot value" value={by} options={numericOptions} onChange={setBy} />
        </div>
        {has(bx) && has(by) && <BoxPlot x={buildDimension(bx, rows)} y={buildDimension(by, rows)} />}
      </section>
      <section>
        <h2>Contour</h2>
        <div className="toolbar">
          <DimSelect label="Contour X" value={cx} options={options} onChange={setCx} />
          <DimSelect label="Contour Y" value={cy} options={options} onChange={setCy} />
          <DimSelect label="Contour Z" value={cz} options={numericOptions} onChange={setCz} />
        </div>
        {has(cx) && has(cy) && has(cz) && <ContourPlot x={buildDimension(cx, rows)} y={buildDimension(cy, rows)} z={buildDimension(cz, rows)} labels={labels} />}
      </section>
    </>
  );
}
