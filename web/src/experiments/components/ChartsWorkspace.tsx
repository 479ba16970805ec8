import { useMemo, useState, type DragEvent, type PointerEvent } from 'react';
import { UPlotChart } from '../../common/components/charts/UPlotChart.tsx';
import { Empty } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatMetric } from '../../common/utils/format.ts';
import { alignSeries, bucketsToPoints } from '../../common/utils/series.ts';
import { fetchDownsampled } from '../../runs/api/metrics-api.ts';
import { addChart, addSection, clampHeight, defaultLayout, HEIGHTS, matchesSearch, moveChart, nextHeight, removeChart, removeSection, updateChart, type ChartsLayout, type ChartSpec, type ChartType } from '../utils/charts-layout.ts';
import { runColor } from '../utils/run-colors.ts';
import type { RunRow } from '../utils/run-rows.ts';
import '../experiments.css';

/** Runs drawn per chart: the first ones in table order that are not hidden. */
const MAX_RUNS = 20;
const DRAG_TYPE = 'application/x-trove-chart';

export interface ChartsWorkspaceProps {
  /** Runs in table order. */
  rows: RunRow[];
  metricKeys: string[];
  colors: Record<string, string>;
  hidden: ReadonlySet<string>;
  layout: ChartsLayout | undefined;
  onLayout: (layout: ChartsLayout) => void;
}

/**
 * The experiment's charts: sections of line charts (history per run) and bar charts (latest value
 * per run) in the runs' colours; search by metric name, add/remove charts and sections, resize,
 * drag to reorder, fullscreen. The layout is part of the view (URL, saved views).
 */
export function ChartsWorkspace({ rows, metricKeys, colors, hidden, layout: given, onLayout }: ChartsWorkspaceProps) {
  const layout = given ?? defaultLayout(metricKeys);
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState<{ metric: string; type: ChartType; section: string } | undefined>(undefined);
  const [newSection, setNewSection] = useState('');
  const [fullscreen, setFullscreen] = useState<string | undefined>(undefined);
  const shown = useMemo(() => rows.filter((r) => !hidden.has(r.runId)).slice(0, MAX_RUNS), [rows, hidden]);

  if (metricKeys.length === 0) return <Empty>These runs have no metrics.</Empty>;

  const onDrop = (event: DragEvent, target: { beforeChart: string } | { section: string }) => {
    const chartId = event.dataTransfer.getData(DRAG_TYPE);
    if (!chartId) return;
    event.preventDefault();
    event.stopPropagation();
    onLayout(moveChart(layout, chartId, target));
  };

  return (
    <div className="charts-workspace">
      <div className="toolbar charts-toolbar">
        <input type="search" aria-label="Search charts" placeholder="Search charts by metric name" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="button" className="btn" onClick={() => setAdding({ metric: metricKeys[0] ?? '', type: 'line', section: layout.sections[0]?.id ?? '' })} disabled={layout.sections.length === 0}>
          Add chart
        </button>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!newSection.trim()) return;
            onLayout(addSection(layout, newSection.trim()));
            setNewSection('');
          }}
        >
          <input type="text" aria-label="New section name" placeholder="New section" value={newSection} onChange={(e) => setNewSection(e.target.value)} />
          <button type="submit" className="btn" disabled={!newSection.trim()}>
            Add section
          </button>
        </form>
        <span className="muted small">
          {shown.length} of {rows.length} runs drawn{rows.length - shown.length > 0 ? ` (hidden ones and those beyond the first ${MAX_RUNS} left out)` : ''} · drag a chart by its title to move it
        </span>
      </div>
      {adding && (
        <form
          className="panel add-chart"
          aria-label="Add a chart"
          onSubmit={(e) => {
            e.preventDefault();
            onLayout(addChart(layout, adding.section, { metric: adding.metric, type: adding.type }));
            setAdding(undefined);
          }}
        >
          <label>
            Metric{' '}
            <select aria-label="Chart metric" value={adding.metric} onChange={(e) => setAdding({ ...adding, metric: e.target.value })}>
              {metricKeys.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </label>
          <label>
            Type{' '}
            <select aria-label="Chart type" value={adding.type} onChange={(e) => setAdding({ ...adding, type: e.target.value as ChartType })}>
              <option value="line">Line: history per run</option>
              <option value="bar">Bar: latest value per run</option>
            </select>
          </label>
          <label>
            Section{' '}
            <select aria-label="Chart section" value={adding.section} onChange={(e) => setAdding({ ...adding, section: e.target.value })}>
              {layout.sections.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.title}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn btn-primary">
            Add
          </button>
          <button type="button" className="btn" onClick={() => setAdding(undefined)}>
            Cancel
          </button>
        </form>
      )}
      {layout.sections.map((section) => {
        const charts = section.charts.filter((c) => matchesSearch(c, search));
        if (search && charts.length === 0) return null;
        return (
          <section key={section.id} className="chart-section" aria-label={`Section ${section.title}`} onDragOver={(e) => e.preventDefault()} onDrop={(e) => onDrop(e, { section: section.id })}>
            <div className="chart-section-head">
              <h3>{section.title}</h3>
              <span className="muted small">{section.charts.length} charts</span>
              <button type="button" className="btn btn-small" aria-label={`Remove section ${section.title}`} onClick={() => onLayout(removeSection(layout, section.id))}>
                Remove section
              </button>
            </div>
            {charts.length === 0 ? (
              <p className="muted small chart-drop">No charts. Add one, or drop one here.</p>
            ) : (
              <div className="chart-grid workspace-grid">
                {charts.map((chart) => (
                  <ChartCard
                    key={chart.id}
                    chart={chart}
                    runs={shown}
                    colors={colors}
                    fullscreen={fullscreen === chart.id}
                    onFullscreen={(on) => setFullscreen(on ? chart.id : undefined)}
                    onUpdate={(patch) => onLayout(updateChart(layout, chart.id, patch))}
                    onRemove={() => onLayout(removeChart(layout, chart.id))}
                    onDrop={(e) => onDrop(e, { beforeChart: chart.id })}
                  />
                ))}
              </div>
            )}
          </section>
        );
      })}
      {search && layout.sections.every((s) => !s.charts.some((c) => matchesSearch(c, search))) && <Empty>No chart of a metric matching “{search}”.</Empty>}
    </div>
  );
}

interface ChartCardProps {
  chart: ChartSpec;
  runs: RunRow[];
  colors: Record<string, string>;
  fullscreen: boolean;
  onFullscreen: (on: boolean) => void;
  onUpdate: (patch: Partial<Omit<ChartSpec, 'id'>>) => void;
  onRemove: () => void;
  onDrop: (event: DragEvent) => void;
}

function ChartCard({ chart, runs, colors, fullscreen, onFullscreen, onUpdate, onRemove, onDrop }: ChartCardProps) {
  // While the bottom edge is dragged, the height follows the pointer; it is saved on release.
  const [dragHeight, setDragHeight] = useState<number | undefined>(undefined);
  const height = fullscreen ? Math.max(300, window.innerHeight - 160) : (dragHeight ?? chart.height);
  const startResize = (event: PointerEvent<HTMLSpanElement>) => {
    event.preventDefault();
    const startY = event.clientY;
    const startHeight = chart.height;
    const target = event.currentTarget;
    target.setPointerCapture(event.pointerId);
    let latest = startHeight;
    const move = (e: globalThis.PointerEvent) => {
      latest = clampHeight(startHeight + e.clientY - startY);
      setDragHeight(latest);
    };
    const up = () => {
      target.removeEventListener('pointermove', move);
      target.removeEventListener('pointerup', up);
      setDragHeight(undefined);
      if (latest !== startHeight) onUpdate({ height: latest });
    };
    target.addEventListener('pointermove', move);
    target.addEventListener('pointerup', up);
  };
  return (
    <figure
      className={`metric-chart workspace-chart${chart.span === 2 ? ' span-2' : ''}${fullscreen ? ' chart-fullscreen' : ''}`}
      aria-label={`${chart.type === 'bar' ? 'Bar chart' : 'Chart'} of ${chart.metric}`}
      data-chart-id={chart.id}
      onDragOver={(e) => e.preventDefault()}
      onDrop={onDrop}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && fullscreen) onFullscreen(false);
      }}
    >
      <figcaption className="workspace-chart-head">
        <span
          className="drag-handle"
          draggable
          title="Drag to move"
          onDragStart={(e) => {
            e.dataTransfer.setData(DRAG_TYPE, chart.id);
            e.dataTransfer.effectAllowed = 'move';
          }}
        >
          ⠿ <strong>{chart.metric}</strong> <span className="muted small">{chart.type === 'bar' ? 'latest values' : 'history'}</span>
        </span>
        <span className="chart-actions">
          <button type="button" className="btn btn-small" aria-label={`${chart.span === 2 ? 'Narrower' : 'Wider'} chart ${chart.metric}`} onClick={() => onUpdate({ span: chart.span === 2 ? 1 : 2 })}>
            {chart.span === 2 ? 'Narrower' : 'Wider'}
          </button>
          <button type="button" className="btn btn-small" aria-label={`Change height of chart ${chart.metric}`} title={`Height ${chart.height}px (sizes: ${HEIGHTS.join(', ')})`} onClick={() => onUpdate({ height: nextHeight(chart.height) })}>
            Height
          </button>
          <button type="button" className="btn btn-small" aria-label={`${fullscreen ? 'Exit fullscreen' : 'Fullscreen'} chart ${chart.metric}`} onClick={() => onFullscreen(!fullscreen)}>
            {fullscreen ? 'Exit full screen' : 'Full screen'}
          </button>
          <button type="button" className="btn btn-small" aria-label={`Remove chart ${chart.metric}`} onClick={onRemove}>
            Remove
          </button>
        </span>
      </figcaption>
      {chart.type === 'bar' ? <BarChart metric={chart.metric} runs={runs} colors={colors} height={height} /> : <LineChart metric={chart.metric} runs={runs} colors={colors} height={height} />}
      {!fullscreen && <span className="resize-handle" role="separator" aria-orientation="horizontal" aria-label={`Resize chart ${chart.metric}`} aria-valuenow={height} onPointerDown={startResize} title="Drag to resize" />}
    </figure>
  );
}

/** The latest value of a metric per run, as horizontal bars in the runs' colours. */
function BarChart({ metric, runs, colors, height }: { metric: string; runs: RunRow[]; colors: Record<string, string>; height: number }) {
  const bars = runs.filter((r) => Number.isFinite(r.metrics[metric])).map((r) => ({ run: r, value: r.metrics[metric] as number }));
  if (bars.length === 0) return <p className="muted">No run shown has {metric}.</p>;
  const max = Math.max(...bars.map((b) => Math.abs(b.value)), Number.MIN_VALUE);
  return (
    <ul className="bar-chart" style={{ maxHeight: height }} aria-label={`Latest ${metric} per run`}>
      {bars.map(({ run, value }) => (
        <li key={run.runId} title={`${run.name}: ${value}`}>
          <span className="bar-label">{run.name}</span>
          <span className="bar-track">
            <span className="bar" style={{ width: `${(Math.abs(value) / max) * 100}%`, background: runColor(run.runId, colors) }} />
          </span>
          <span className="bar-value mono">{formatMetric(value)}</span>
        </li>
      ))}
    </ul>
  );
}

/** A metric's history (min/max downsampled by the server), one line per run in its colour. */
function LineChart({ metric, runs, colors, height }: { metric: string; runs: RunRow[]; colors: Record<string, string>; height: number }) {
  const withMetric = useMemo(() => runs.filter((r) => r.metrics[metric] !== undefined), [runs, metric]);
  const runIds = withMetric.map((r) => r.runId).join(',');
  const state = useApi((signal) => (runIds ? fetchDownsampled({ runIds: runIds.split(','), key: metric, xAxis: 'step', maxBuckets: 400 }, signal) : Promise.resolve(undefined)), [runIds, metric]);
  const prepared = useMemo(() => {
    const response = state.data;
    if (!response) return undefined;
    const byId = new Map(response.series.map((s) => [s.run_id, s]));
    const present = withMetric.filter((r) => byId.has(r.runId));
    const data = alignSeries(present.map((r) => bucketsToPoints(byId.get(r.runId) as NonNullable<ReturnType<typeof byId.get>>)));
    return { data, series: present.map((r) => ({ label: r.name, color: runColor(r.runId, colors) })) };
  }, [state.data, withMetric, colors]);
  if (withMetric.length === 0) return <p className="muted">No run shown has {metric}.</p>;
  // A metric logged once per run has no history to draw: its values as bars say more.
  if (state.data && state.data.series.every((s) => s.total_points <= 1)) return <BarChart metric={metric} runs={runs} colors={colors} height={height} />;
  if (!prepared) return <div className="chart-placeholder" style={{ height }} aria-busy="true" />;
  return <UPlotChart data={prepared.data as unknown as uPlotData} series={prepared.series} height={height} xLabel="step" ariaLabel={`History of ${metric}`} />;
}

type uPlotData = Parameters<typeof UPlotChart>[0]['data'];
