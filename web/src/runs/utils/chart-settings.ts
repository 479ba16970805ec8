import type { ChartSettings } from '../components/MetricChart.tsx';

/** Where the run page keeps its chart settings (x axis, log scale, smoothing) between visits. */
export const CHART_SETTINGS_KEY = 'trove.chart-settings';
export const DEFAULT_CHART_SETTINGS: ChartSettings = { xMode: 'step', logY: false, smoothing: 0 };

/** Stored settings as saved by this or an older UI; undefined when they do not fit. */
export function parseChartSettings(raw: unknown): ChartSettings | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!['step', 'wall', 'relative'].includes(String(r.xMode)) || typeof r.logY !== 'boolean' || typeof r.smoothing !== 'number') return undefined;
  return { xMode: r.xMode as ChartSettings['xMode'], logY: r.logY, smoothing: Math.min(0.99, Math.max(0, r.smoothing)) };
}

/** The stored settings read outside React (the run page's prefetch), defaults when there are none. */
export function storedChartSettings(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): ChartSettings {
  try {
    const raw = storage?.getItem(CHART_SETTINGS_KEY);
    return (raw ? parseChartSettings(JSON.parse(raw)) : undefined) ?? DEFAULT_CHART_SETTINGS;
  } catch {
    return DEFAULT_CHART_SETTINGS;
  }
}
