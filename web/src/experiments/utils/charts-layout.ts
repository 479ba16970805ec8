/**
 * The charts workspace of the experiment page: sections of charts (a metric's history per run as
 * lines, or its latest value per run as bars), each chart one or two columns wide and of a chosen
 * height. Kept in the URL with the rest of the view. Pure functions.
 */

export type ChartType = 'line' | 'bar';

export interface ChartSpec {
  id: string;
  metric: string;
  type: ChartType;
  /** Grid columns taken: 1 or 2. */
  span: 1 | 2;
  /** Plot height in pixels. */
  height: number;
}

export interface ChartSection {
  id: string;
  title: string;
  charts: ChartSpec[];
}

export interface ChartsLayout {
  sections: ChartSection[];
}

export const HEIGHTS = [180, 260, 380];
/** Heights a chart can be dragged to. */
export const MIN_HEIGHT = 120;
export const MAX_HEIGHT = 900;

/** A dragged height, kept within bounds and rounded to 10 px. */
export function clampHeight(height: number): number {
  return Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, height)) / 10) * 10;
}
const DEFAULT_HEIGHT = 260;
const DEFAULT_CHARTS = 12;

let counter = 0;
/** A new id, unique within the page's lifetime (and unlikely to repeat one in a stored layout). */
export function newId(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}`;
}

/** First visit: one section with a line chart for each of the first 12 metrics. */
export function defaultLayout(metrics: string[]): ChartsLayout {
  return {
    sections: [{ id: 's0', title: 'Metrics', charts: metrics.slice(0, DEFAULT_CHARTS).map((metric, i) => ({ id: `c${i}`, metric, type: 'line', span: 1, height: DEFAULT_HEIGHT })) }],
  };
}

/** Validates a layout read from the URL; undefined when it is not one. */
export function parseLayout(raw: unknown): ChartsLayout | undefined {
  if (!raw || typeof raw !== 'object' || !Array.isArray((raw as ChartsLayout).sections)) return undefined;
  const sections: ChartSection[] = [];
  for (const s of (raw as ChartsLayout).sections as unknown[]) {
    if (!s || typeof s !== 'object') return undefined;
    const section = s as Record<string, unknown>;
    if (typeof section.id !== 'string' || typeof section.title !== 'string' || !Array.isArray(section.charts)) return undefined;
    const charts: ChartSpec[] = [];
    for (const c of section.charts as unknown[]) {
      const chart = c as Record<string, unknown>;
      if (!chart || typeof chart.id !== 'string' || typeof chart.metric !== 'string') return undefined;
      charts.push({
        id: chart.id,
        metric: chart.metric,
        type: chart.type === 'bar' ? 'bar' : 'line',
        span: chart.span === 2 ? 2 : 1,
        height: typeof chart.height === 'number' && Number.isFinite(chart.height) ? clampHeight(chart.height) : DEFAULT_HEIGHT,
      });
    }
    sections.push({ id: section.id, title: section.title, charts });
  }
  return { sections };
}

function mapCharts(layout: ChartsLayout, fn: (chart: ChartSpec) => ChartSpec): ChartsLayout {
  return { sections: layout.sections.map((s) => ({ ...s, charts: s.charts.map(fn) })) };
}

export function addSection(layout: ChartsLayout, title: string, id = newId('s')): ChartsLayout {
  return { sections: [...layout.sections, { id, title, charts: [] }] };
}

export function removeSection(layout: ChartsLayout, sectionId: string): ChartsLayout {
  return { sections: layout.sections.filter((s) => s.id !== sectionId) };
}

export function addChart(layout: ChartsLayout, sectionId: string, chart: Omit<ChartSpec, 'id' | 'span' | 'height'> & Partial<ChartSpec>): ChartsLayout {
  const spec: ChartSpec = { id: chart.id ?? newId('c'), metric: chart.metric, type: chart.type, span: chart.span ?? 1, height: chart.height ?? DEFAULT_HEIGHT };
  return { sections: layout.sections.map((s) => (s.id === sectionId ? { ...s, charts: [...s.charts, spec] } : s)) };
}

export function removeChart(layout: ChartsLayout, chartId: string): ChartsLayout {
  return { sections: layout.sections.map((s) => ({ ...s, charts: s.charts.filter((c) => c.id !== chartId) })) };
}

export function updateChart(layout: ChartsLayout, chartId: string, patch: Partial<Omit<ChartSpec, 'id'>>): ChartsLayout {
  return mapCharts(layout, (c) => (c.id === chartId ? { ...c, ...patch } : c));
}

/** The next larger of the preset heights, back to the smallest after the largest. */
export function nextHeight(height: number): number {
  return HEIGHTS.find((h) => h > height) ?? (HEIGHTS[0] as number);
}

/**
 * Moves a chart (dragged) before another chart, or to the end of a section when `target` is a
 * section id. Moving onto itself changes nothing.
 */
export function moveChart(layout: ChartsLayout, chartId: string, target: { beforeChart: string } | { section: string }): ChartsLayout {
  if ('beforeChart' in target && target.beforeChart === chartId) return layout;
  let moving: ChartSpec | undefined;
  for (const s of layout.sections) moving ??= s.charts.find((c) => c.id === chartId);
  if (!moving) return layout;
  const chart = moving;
  const without = removeChart(layout, chartId);
  return {
    sections: without.sections.map((s) => {
      if ('section' in target) return s.id === target.section ? { ...s, charts: [...s.charts, chart] } : s;
      const at = s.charts.findIndex((c) => c.id === target.beforeChart);
      if (at < 0) return s;
      return { ...s, charts: [...s.charts.slice(0, at), chart, ...s.charts.slice(at)] };
    }),
  };
}

/** Charts whose metric name contains the search text (case-insensitive). */
export function matchesSearch(chart: ChartSpec, search: string): boolean {
  return chart.metric.toLowerCase().includes(search.trim().toLowerCase());
}
