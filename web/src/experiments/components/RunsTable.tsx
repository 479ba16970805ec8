import { useMemo } from 'react';
import { Link, useNavigate } from 'react-router';
import { RelativeTime } from '../../common/components/Time.tsx';
import { StatusBadge } from '../../common/components/ui.tsx';
import { VirtualTable, type VirtualColumn } from '../../common/components/VirtualTable.tsx';
import { formatMetric } from '../../common/utils/format.ts';
import { cellText, columnGroup, columnLabel, columnWidth, type SortState } from '../utils/columns.ts';
import { runColor } from '../utils/run-colors.ts';
import { aggregate, isGroupRow, tableRowKey, type Aggregate, type GroupRow, type TableRow } from '../utils/run-groups.ts';
import type { RunRow, TreeRow } from '../utils/run-rows.ts';

export interface RunsTableProps {
  /** Runs (nested runs as a tree) or, grouped, group rows each followed by its runs when expanded. */
  rows: TableRow[];
  columns: string[];
  sort: SortState;
  onSort: (column: string) => void;
  selected: ReadonlySet<string>;
  onSelect: (runId: string, selected: boolean) => void;
  /** Selects or unselects several runs at once (a group's checkbox). */
  onSelectRuns: (runIds: string[], selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  /** Expanded parent runs and groups (by row key). */
  expanded: ReadonlySet<string>;
  onToggleExpand: (key: string) => void;
  /** Restores a deleted run (absent when the user may not). */
  onRestore?: ((runId: string) => void) | undefined;
  /** The row the keyboard is on (j/k move it, Enter opens the run, x selects it). */
  activeKey?: string | undefined;
  onActivate?: ((key: string) => void) | undefined;
  /** Colours chosen per run (the charts use the same). */
  colors: Record<string, string>;
  onColor: (runId: string, color: string) => void;
  /** Runs left out of the charts. */
  hidden: ReadonlySet<string>;
  onToggleHidden: (runId: string) => void;
  aggregate: Aggregate;
  /** Several experiments are shown: name each run's experiment. */
  showExperiment?: boolean;
}

/** The runs grid: the shared virtualised table with the runs' columns. */
export function RunsTable(props: RunsTableProps) {
  const { rows, columns, sort, onSort, selected, onSelect, onSelectRuns, onSelectAll, expanded, onToggleExpand, onRestore, activeKey, onActivate, colors, onColor, hidden, onToggleHidden } = props;
  const navigate = useNavigate();
  // Durations of running runs (and relative start times) are measured against the time the table was built.
  const now = useMemo(() => Date.now(), [rows]);
  const showExperiment = props.showExperiment ?? false;
  const ctx: RunColumnContext = { now, expanded, onToggleExpand, onRestore, colors, onColor, hidden, onToggleHidden, aggregate: props.aggregate, showExperiment };
  const columnDefs = useMemo(
    () => columns.map((id): VirtualColumn<TableRow> => runColumn(id, ctx)),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- ctx is rebuilt from these
    [columns, now, expanded, onToggleExpand, onRestore, colors, onColor, hidden, onToggleHidden, props.aggregate, showExperiment],
  );
  const groupSelected = (group: GroupRow) => group.runs.length > 0 && group.runs.every((r) => selected.has(r.runId));
  return (
    <VirtualTable
      label="Runs"
      className="runs-grid"
      rows={rows}
      rowKey={tableRowKey}
      columns={columnDefs}
      sort={sort}
      onSort={onSort}
      selection={{
        selected,
        onSelect: (key, on) => {
          const group = key.startsWith('group:') ? rows.find((r) => isGroupRow(r) && r.key === key) : undefined;
          if (group && isGroupRow(group)) onSelectRuns(group.runs.map((r) => r.runId), !groupSelected(group));
          else onSelect(key, on);
        },
        onSelectAll,
        label: (row) => (isGroupRow(row) ? `Select the runs of ${groupLabel(row)}` : `Select ${row.row.name}`),
        allLabel: 'Select all runs',
      }}
      rowClassName={(row) => {
        if (isGroupRow(row)) return `group-row${groupSelected(row) ? ' selected' : ''}`;
        const classes = ['runs-row'];
        if (row.row.lifecycle === 'deleted') classes.push('deleted');
        if (hidden.has(row.row.runId)) classes.push('run-hidden');
        return classes.join(' ');
      }}
      activeKey={activeKey}
      onActivate={onActivate ? (row) => onActivate(tableRowKey(row)) : undefined}
      onOpen={(row) => (isGroupRow(row) ? onToggleExpand(row.key) : navigate(runPath(row.row)))}
    />
  );
}

interface RunColumnContext {
  now: number;
  expanded: ReadonlySet<string>;
  onToggleExpand: (key: string) => void;
  onRestore: ((runId: string) => void) | undefined;
  colors: Record<string, string>;
  onColor: (runId: string, color: string) => void;
  hidden: ReadonlySet<string>;
  onToggleHidden: (runId: string) => void;
  aggregate: Aggregate;
  showExperiment: boolean;
}

function runPath(row: RunRow): string {
  return `/experiments/${row.experimentId}/runs/${row.runId}`;
}

function groupLabel(group: GroupRow): string {
  const key = group.groupBy.slice(group.groupBy.indexOf('.') + 1);
  return group.value === undefined ? `no ${key}` : `${key} = ${group.value}`;
}

function GroupNameCell({ group, ctx }: { group: GroupRow; ctx: RunColumnContext }) {
  const isExpanded = ctx.expanded.has(group.key);
  const label = groupLabel(group);
  return (
    <>
      <button type="button" className="tree-toggle" aria-expanded={isExpanded} aria-label={`${isExpanded ? 'Collapse' : 'Expand'} group ${label}`} onClick={() => ctx.onToggleExpand(group.key)}>
        {isExpanded ? '▾' : '▸'}
      </button>
      <span className="group-label" title={label}>
        {label}
      </span>
      <span className="muted small">
        {' '}
        ({group.runs.length} {group.runs.length === 1 ? 'run' : 'runs'})
      </span>
    </>
  );
}

function RunNameCell({ tree, ctx }: { tree: TreeRow; ctx: RunColumnContext }) {
  const { row, depth, childCount } = tree;
  const isExpanded = ctx.expanded.has(row.runId);
  const isHidden = ctx.hidden.has(row.runId);
  return (
    <>
      <span className="tree-indent" style={{ width: depth * 18 }} />
      {childCount > 0 ? (
        <button
          type="button"
          className="tree-toggle"
          aria-expanded={isExpanded}
          aria-label={`${isExpanded ? 'Collapse' : 'Expand'} ${childCount} child runs of ${row.name}`}
          onClick={() => ctx.onToggleExpand(row.runId)}
        >
          {isExpanded ? '▾' : '▸'}
        </button>
      ) : (
        <span className="tree-spacer" />
      )}
      <input type="color" className="run-swatch" aria-label={`Colour of ${row.name}`} value={runColor(row.runId, ctx.colors)} onChange={(e) => ctx.onColor(row.runId, e.target.value)} />
      <button
        type="button"
        className="run-eye"
        aria-pressed={!isHidden}
        aria-label={`${isHidden ? 'Show' : 'Hide'} ${row.name} in charts`}
        title={isHidden ? 'Hidden in charts: show' : 'Shown in charts: hide'}
        onClick={() => ctx.onToggleHidden(row.runId)}
      >
        {isHidden ? '◌' : '◉'}
      </button>
      <Link to={runPath(row)} title={row.name}>
        {row.name}
      </Link>
      {childCount > 0 && <span className="muted small"> ({childCount})</span>}
      {ctx.showExperiment && (
        <span className="muted small run-experiment" title={`Experiment ${row.experimentId}`}>
          {' '}
          #{row.experimentId}
        </span>
      )}
      {row.lifecycle === 'deleted' && (
        <>
          <span className="badge badge-muted run-deleted">deleted</span>
          {ctx.onRestore && (
            <button type="button" className="btn btn-small run-restore" aria-label={`Restore ${row.name}`} onClick={() => ctx.onRestore?.(row.runId)}>
              Restore
            </button>
          )}
        </>
      )}
    </>
  );
}

function runColumn(id: string, ctx: RunColumnContext): VirtualColumn<TableRow> {
  const group = columnGroup(id);
  const header = (
    <>
      {group !== 'base' && <span className="col-group">{group}</span>}
      <span className="col-label">{columnLabel(id)}</span>
    </>
  );
  const base = { id, header, title: id, width: columnWidth(id) };
  if (id === 'name') {
    return {
      ...base,
      width: 300,
      className: 'cell-name',
      pinned: true,
      render: (row) => (isGroupRow(row) ? <GroupNameCell group={row} ctx={ctx} /> : <RunNameCell tree={row} ctx={ctx} />),
    };
  }
  const numeric = group === 'metrics' || id === 'duration';
  // A group row shows the aggregate of its runs' metrics, and nothing in other columns.
  const groupCell = (row: GroupRow) => {
    if (group !== 'metrics') return null;
    const value = aggregate(row.runs, id, ctx.aggregate, ctx.now);
    return value === undefined ? null : (
      <>
        <span className="agg-mark">{ctx.aggregate}</span>
        {formatMetric(value)}
      </>
    );
  };
  if (id === 'status')
    return {
      ...base,
      render: (r) => (isGroupRow(r) ? null : r.row.lifecycle === 'deleted' ? <span className="badge badge-muted">deleted</span> : <StatusBadge status={r.row.status} />),
      cellTitle: (r) => (!isGroupRow(r) && r.row.lifecycle === 'deleted' ? `deleted (was ${r.row.status.toLowerCase()})` : undefined),
    };
  if (id === 'start') return { ...base, render: (r) => (isGroupRow(r) ? null : <RelativeTime ms={r.row.startTime} now={ctx.now} />) };
  return {
    ...base,
    className: `group-${group}${numeric ? ' num' : ''}`,
    render: (r) => (isGroupRow(r) ? groupCell(r) : cellText(r.row, id, ctx.now)),
    cellTitle: (r) => (isGroupRow(r) ? undefined : cellText(r.row, id, ctx.now)),
  };
}
