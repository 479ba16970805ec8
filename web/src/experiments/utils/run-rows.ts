/** The runs table's row model, built from MLflow Run JSON. Pure functions. */
import type { Run, RunStatus } from '../../common/api/types.ts';
import { wireToNumber } from '../../common/utils/series.ts';

export interface RunRow {
  runId: string;
  experimentId: string;
  name: string;
  status: RunStatus;
  lifecycle: string;
  startTime: number | undefined;
  endTime: number | undefined;
  user: string;
  /** mlflow.source.name, shortened to its last path segment for display. */
  source: string;
  gitCommit: string;
  parentId: string | undefined;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

export function toRunRow(run: Run): RunRow {
  const tags: Record<string, string> = {};
  for (const t of run.data.tags ?? []) tags[t.key] = t.value;
  const metrics: Record<string, number> = {};
  for (const m of run.data.metrics ?? []) metrics[m.key] = wireToNumber(m.value);
  const params: Record<string, string> = {};
  for (const p of run.data.params ?? []) params[p.key] = p.value;
  const source = tags['mlflow.source.name'] ?? '';
  return {
    runId: run.info.run_id,
    experimentId: run.info.experiment_id,
    name: run.info.run_name ?? tags['mlflow.runName'] ?? run.info.run_id,
    status: run.info.status,
    lifecycle: run.info.lifecycle_stage,
    startTime: run.info.start_time,
    endTime: run.info.end_time,
    user: run.info.user_id ?? tags['mlflow.user'] ?? '',
    source: source.split(/[\\/]/).pop() ?? source,
    gitCommit: tags['mlflow.source.git.commit'] ?? '',
    parentId: tags['mlflow.parentRunId'],
    metrics,
    params,
    tags,
  };
}

export interface KeySets {
  metrics: string[];
  params: string[];
  tags: string[];
}

/** Every metric, param and (non-system) tag key present in the rows, sorted. */
export function collectKeys(rows: RunRow[]): KeySets {
  const metrics = new Set<string>();
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const row of rows) {
    for (const k in row.metrics) metrics.add(k);
    for (const k in row.params) params.add(k);
    for (const k in row.tags) if (!k.startsWith('mlflow.')) tags.add(k);
  }
  const sorted = (s: Set<string>) => Array.from(s).sort((a, b) => a.localeCompare(b));
  return { metrics: sorted(metrics), params: sorted(params), tags: sorted(tags) };
}

export interface TreeRow {
  row: RunRow;
  depth: number;
  childCount: number;
}

/**
 * The rows in display order: children (by mlflow.parentRunId) follow their parent when it is
 * expanded; runs whose parent is not loaded are top level. `compare` orders siblings.
 */
export function flattenTree(rows: RunRow[], expanded: ReadonlySet<string>, compare: (a: RunRow, b: RunRow) => number): TreeRow[] {
  const ids = new Set(rows.map((r) => r.runId));
  const children = new Map<string, RunRow[]>();
  const roots: RunRow[] = [];
  for (const row of rows) {
    if (row.parentId && ids.has(row.parentId) && row.parentId !== row.runId) {
      const list = children.get(row.parentId);
      if (list) list.push(row);
      else children.set(row.parentId, [row]);
    } else {
      roots.push(row);
    }
  }
  const out: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (row: RunRow, depth: number) => {
    if (seen.has(row.runId)) return; // a parent cycle in bad data
    seen.add(row.runId);
    const kids = children.get(row.runId) ?? [];
    out.push({ row, depth, childCount: kids.length });
    if (kids.length > 0 && expanded.has(row.runId)) for (const kid of kids.sort(compare)) visit(kid, depth + 1);
  };
  for (const root of roots.sort(compare)) visit(root, 0);
  return out;
}
