import { useMemo, useState } from 'react';
import { UPlotChart } from '../../common/components/charts/UPlotChart.tsx';
import { Empty } from '../../common/components/ui.tsx';
import type { RunRow } from '../utils/run-rows.ts';

/** A chosen metric's latest value across the runs shown, against each run's start time. */
export function RunsChart({ rows, metricKeys }: { rows: RunRow[]; metricKeys: string[] }) {
  const [metric, setMetric] = useState(metricKeys[0] ?? '');
  const data = useMemo(() => {
    const points = rows
      .filter((r) => r.startTime !== undefined && Number.isFinite(r.metrics[metric]))
      .map((r) => [(r.startTime ?? 0) / 1000, r.metrics[metric] ?? 0] as const)
      .sort((a, b) => a[0] - b[0]);
    return { x: Float64Array.from(points.map((p) => p[0])), y: Float64Array.from(points.map((p) => p[1])), n: points.length };
  }, [rows, metric]);
  if (metricKeys.length === 0) return <Empty>These runs have no metrics.</Empty>;
  return (
    <div className="runs-chart">
      <label>
        Metric{' '}
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          {metricKeys.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      <p className="muted small">
        Latest value of <strong>{metric}</strong> for {data.n.toLocaleString()} runs, by start time. Drag to zoom, double-click to reset.
      </p>
      <UPlotChart data={[data.x, data.y]} series={[{ label: metric, color: '#1f77b4', points: true }]} timeX height={320} xLabel="run start" ariaLabel={`${metric} across runs`} />
    </div>
  );
}
