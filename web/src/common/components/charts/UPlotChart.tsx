import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { formatAxisTimes, formatClock, timeAxisLabel } from '../../utils/time.ts';
import './charts.css';

export interface ChartSeries {
  label: string;
  color: string;
  /** Draw markers only (scatter) instead of a line. */
  points?: boolean;
}

export interface UPlotChartProps {
  /** uPlot's aligned data: x column first, then one column per series. */
  data: uPlot.AlignedData;
  series: ChartSeries[];
  /** Wall-clock x (seconds since epoch) gets date ticks; otherwise numbers. */
  timeX?: boolean;
  logY?: boolean;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** Called with the x range the user dragged, or null when the zoom is reset (double-click). */
  onZoom?: (range: [number, number] | null) => void;
  /** Called after every draw; the benchmark and tests wait for it. */
  onDraw?: () => void;
  ariaLabel: string;
}

/**
 * A thin wrapper around uPlot: builds the chart once per shape (series, axes, scale type), feeds
 * new data with setData, follows its container's width, and reports drag-zooms.
 */
export function UPlotChart({ data, series, timeX = false, logY = false, height = 260, xLabel, yLabel, onZoom, onDraw, ariaLabel }: UPlotChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const callbacks = useRef({ onZoom, onDraw });
  callbacks.current = { onZoom, onDraw };
  const shapeKey = JSON.stringify([series, timeX, logY, height, xLabel, yLabel]);

  useEffect(() => {
    const el = container.current;
    if (!el) return undefined;
    const width = Math.max(200, el.clientWidth);
    let zoomed = false;
    // Canvas colours follow the page's theme (CSS variables; dark when the system is).
    const theme = { axis: cssVar(el, '--axis', '#555'), grid: cssVar(el, '--grid', '#eee') };
    // The legend shows values only while the cursor is on the chart: idle, it would read "step: --".
    const setIdle = (idle: boolean) => el.classList.toggle('chart-idle', idle);
    setIdle(true);
    const options: uPlot.Options = {
      width,
      height,
      scales: {
        x: { time: timeX },
        y: logY ? { distr: 3 } : {},
      },
      axes: [
        {
          label: timeX ? timeAxisLabel(xLabel) : xLabel,
          stroke: theme.axis,
          grid: { stroke: theme.grid },
          ticks: { stroke: theme.grid },
          // Wall-clock ticks in the UI's one time format (time.ts), not uPlot's own.
          ...(timeX ? { values: (u: uPlot, splits: number[]) => formatAxisTimes(splits, (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0)) } : {}),
        },
        { label: yLabel, stroke: theme.axis, grid: { stroke: theme.grid }, ticks: { stroke: theme.grid }, size: 60 },
      ],
      legend: { show: series.length <= 12 },
      cursor: { drag: { x: true, y: false, setScale: true } },
      series: [
        timeX ? { label: xLabel ?? 'time', value: (_u: uPlot, v: number | null) => (v === null ? '' : formatClock(v * 1000)) } : { label: xLabel ?? 'x' },
        ...series.map((s) =>
          s.points
            ? { label: s.label, stroke: s.color, fill: s.color, paths: () => null, points: { show: true, size: 7, stroke: s.color, fill: s.color } }
            : { label: s.label, stroke: s.color, width: 1.5, spanGaps: true, points: { show: false } },
        ),
      ],
      hooks: {
        setScale: [
          (u, key) => {
            if (key !== 'x') return;
            const min = u.scales.x?.min;
            const max = u.scales.x?.max;
            if (u.select.width > 0 && min !== undefined && max !== undefined && min !== null && max !== null) {
              zoomed = true;
              callbacks.current.onZoom?.([min, max]);
            }
          },
        ],
        draw: [() => callbacks.current.onDraw?.()],
        setCursor: [(u) => setIdle(u.cursor.idx === null || u.cursor.idx === undefined)],
        ready: [
          (u) => {
            u.over.addEventListener('mouseleave', () => setIdle(true));
            u.over.addEventListener('dblclick', () => {
              if (zoomed) {
                zoomed = false;
                callbacks.current.onZoom?.(null);
              }
            });
          },
        ],
      },
    };
    const instance = new uPlot(options, data, el);
    chart.current = instance;
    const observer = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (Math.abs(w - instance.width) > 2) instance.setSize({ width: w, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      instance.destroy();
      chart.current = null;
    };
    // Rebuilt only when the shape changes; data flows in through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shapeKey]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={container} className="chart" role="img" aria-label={ariaLabel} />;
}

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}
