import { useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { useApi } from '../../common/hooks/useApi.ts';
import { ErrorBox } from '../../common/components/ui.tsx';
import { UPlotChart } from '../../common/components/charts/UPlotChart.tsx';
import { alignSeries, bucketsToPoints, displayX, emaSmooth, logSafe, type XMode, type XY } from '../../common/utils/series.ts';
import { DEFAULT_MAX_BUCKETS, fetchDownsampled } from '../api/metrics-api.ts';
import { chartSeries } from '../utils/chart-series.ts';

export interface ChartSettings {
  xMode: XMode;
  logY: boolean;
  /** EMA weight, 0 = off. */
  smoothing: number;
}

export interface MetricChartProps {
  metricKey: string;
  runs: Array<{ runId: string; label: string }>;
  settings: ChartSettings;
  /** Buckets per run; fewer when many runs share a chart. */
  maxBuckets?: number;
  /** Poll for new points (a RUNNING run). */
  pollMs?: number | undefined;
  height?: number;
  /** Called once the chart is drawn, or has nothing to draw, or failed to load. */
  onSettled?: (() => void) | undefined;
}

const X_LABEL: Record<XMode, string> = { step: 'step', wall: 'time', relative: 'seconds since start' };

/**
 * One metric of one or more runs, fetched downsampled from the server. Dragging zooms and fetches
 * that range at full resolution (step and wall-time axes); double-click resets.
 */
export function MetricChart({ metricKey, runs, settings, maxBuckets = DEFAULT_MAX_BUCKETS, pollMs, height = 240, onSettled }: MetricChartProps) {
  const [range, setRange] = useState<[number, number] | null>(null);
  const [drawn, setDrawn] = useState(false);
  const runIds = runs.map((r) => r.runId);
  const xAxis = settings.xMode === 'step' ? 'step' : 'timestamp';
  // Zoom ranges come back in display units; the server wants steps or ms.
  const requestRange =
    range && settings.xMode !== 'relative'
      ? settings.xMode === 'wall'
        ? { start: range[0] * 1000, end: range[1] * 1000 }
        : { start: Math.max(0, range[0]), end: range[1] }
      : undefined;
  const state = useApi(
    (signal) => fetchDownsampled({ runIds, key: metricKey, xAxis, maxBuckets, start: requestRange?.start, end: requestRange?.end }, signal),
    [runIds.join(','), metricKey, xAxis, maxBuckets, requestRange?.start, requestRange?.end],
    { pollMs: range ? undefined : pollMs },
  );

  const prepared = useMemo(() => {
    const response = state.data;
    if (!response) return undefined;
    // Smoothed: each run's raw line is drawn faint behind its smoothed one.
    const smoothed = settings.smoothing > 0;
    const list: XY[] = response.series.flatMap((s) => {
      const points = bucketsToPoints(s);
      const t0 = points.x.length > 0 ? (points.x[0] ?? 0) : 0;
      const x = displayX(points.x, settings.xMode, t0);
      return smoothed ? [{ x, y: points.y }, { x, y: emaSmooth(points.y, settings.smoothing) }] : [{ x, y: points.y }];
    });
    const total = response.series.reduce((sum, s) => sum + s.total_points, 0);
    const bucketed = response.series.some((s) => s.bucketed);
    let data: uPlot.AlignedData;
    if (list.length === 1 && list[0]) {
      const only = list[0];
      data = [only.x, settings.logY ? logSafe(only.y) : only.y];
    } else {
      const table = alignSeries(list);
      data = settings.logY ? [table[0], ...table.slice(1).map((col) => logSafe(col as Array<number | null>))] : table;
    }
    return { data, total, bucketed };
  }, [state.data, settings.xMode, settings.logY, settings.smoothing]);

  const settled = (drawn && prepared !== undefined) || prepared?.total === 0 || (state.error !== undefined && !state.data);
  useEffect(() => {
    if (settled) onSettled?.();
  }, [settled, onSettled]);

  const smoothed = settings.smoothing > 0;
  const series = useMemo(() => chartSeries(runs, smoothed), [runs, smoothed]);

  return (
    <figure className="metric-chart" data-metric={metricKey} data-drawn={drawn && prepared ? 'true' : 'false'} data-points={prepared?.total ?? 0} data-series={series.length}>
      <figcaption>
        <span className="metric-name">{metricKey}</span>
        {prepared && (
          <span className="muted small">
            {' '}
            {prepared.total.toLocaleString()} points{prepared.bucketed ? ' (min/max downsampled)' : ''}
            {range ? ' · zoomed, double-click to reset' : ''}
          </span>
        )}
      </figcaption>
      {state.error !== undefined && !state.data ? <ErrorBox error={state.error} onRetry={state.reload} /> : null}
      {prepared ? (
        prepared.total === 0 ? (
          <p className="muted">No finite values.</p>
        ) : (
          <UPlotChart
            data={prepared.data}
            series={series}
            timeX={settings.xMode === 'wall'}
            logY={settings.logY}
            height={height}
            xLabel={X_LABEL[settings.xMode]}
            ariaLabel={`Chart of ${metricKey}`}
            onZoom={(next) => setRange(next)}
            onDraw={() => {
              if (!drawn) setDrawn(true);
            }}
          />
        )
      ) : state.loading ? (
        <div className="chart-placeholder" style={{ height }} aria-busy="true" />
      ) : null}
    </figure>
  );
}

export function ChartControls({ settings, onChange }: { settings: ChartSettings; onChange: (s: ChartSettings) => void }) {
  return (
    <div className="chart-controls" role="group" aria-label="Chart settings">
      <label>
        X axis{' '}
        <select value={settings.xMode} onChange={(e) => onChange({ ...settings, xMode: e.target.value as XMode })}>
          <option value="step">Step</option>
          <option value="wall">Wall time</option>
          <option value="relative">Relative time</option>
        </select>
      </label>
      <label>
        <input type="checkbox" checked={settings.logY} onChange={(e) => onChange({ ...settings, logY: e.target.checked })} /> Log scale
      </label>
      <label>
        Smoothing{' '}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          aria-valuetext={settings.smoothing.toFixed(2)}
          onChange={(e) => onChange({ ...settings, smoothing: Number(e.target.value) })}
        />{' '}
        <span className="mono small">{settings.smoothing.toFixed(2)}</span>
      </label>
    </div>
  );
}
