import { useMemo } from 'react';
import { Link, useNavigate } from 'react-router';
import { RelativeTime } from '../../common/components/Time.tsx';
import { StatusBadge } from '../../common/components/ui.tsx';
import { VirtualTable, type VirtualColumn } from '../../common/components/VirtualTable.tsx';
import { cellText, columnGroup, columnLabel, columnWidth, type SortState } from '../utils/columns.ts';
import type { TreeRow } from '../utils/run-rows.ts';

export interface RunsTableProps {
  rows: TreeRow[];
  columns: string[];
  sort: SortState;
  onSort: (column: string) => void;
  selected: ReadonlySet<string>;
  onSelect: (runId: string, selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  expanded: ReadonlySet<string>;
  onToggleExpand: (runId: string) => void;
  /** Restores a deleted run (absent when the user may not). */
  onRestore?: ((runId: string) => void) | undefined;
  /** The row the keyboard is on (j/k move it, Enter opens the run, x selects it). */
  activeKey?: string | undefined;
  onActivate?: ((runId: string) => void) | undefined;
}

/** The runs grid: the shared virtualised table with the runs' columns (nested runs as a tree). */
export function RunsTable({ rows, columns, sort, onSort, selected, onSelect, onSelectAll, expanded, onToggleExpand, onRestore, activeKey, onActivate }: RunsTableProps) {
  const navigate = useNavigate();
  // Durations of running runs (and relative start times) are measured against the time the table was built.
  const now = useMemo(() => Date.now(), [rows]);
  const columnDefs = useMemo(
    () => columns.map((id): VirtualColumn<TreeRow> => runColumn(id, { now, expanded, onToggleExpand, onRestore })),
    [columns, now, expanded, onToggleExpand, onRestore],
  );
  return (
    <VirtualTable
      label="Runs"
      className="runs-grid"
      rows={rows}
      rowKey={(tree) => tree.row.runId}
      columns={columnDefs}
      sort={sort}
      onSort={onSort}
      selection={{ selected, onSelect, onSelectAll, label: (tree) => `Select ${tree.row.name}`, allLabel: 'Select all runs' }}
      rowClassName={(tree) => (tree.row.lifecycle === 'deleted' ? 'runs-row deleted' : 'runs-row')}
      activeKey={activeKey}
      onActivate={onActivate ? (tree) => onActivate(tree.row.runId) : undefined}
      onOpen={(tree) => navigate(runPath(tree.row))}
    />
  );
}

interface RunColumnContext {
  now: number;
  expanded: ReadonlySet<string>;
  onToggleExpand: (runId: string) => void;
  onRestore: ((runId: string) => void) | undefined;
}

function runPath(row: TreeRow['row']): string {
  return `/experiments/${row.experimentId}/runs/${row.runId}`;
}

function runColumn(id: string, ctx: RunColumnContext): VirtualColumn<TreeRow> {
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
      className: 'cell-name',
      pinned: true,
      render: ({ row, depth, childCount }) => {
        const isExpanded = ctx.expanded.has(row.runId);
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
            <Link to={runPath(row)} title={row.name}>
              {row.name}
            </Link>
            {childCount > 0 && <span className="muted small"> ({childCount})</span>}
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
      },
    };
  }
  if (id === 'status')
    return {
      ...base,
      render: ({ row }) => (row.lifecycle === 'deleted' ? <span className="badge badge-muted">deleted</span> : <StatusBadge status={row.status} />),
      cellTitle: ({ row }) => (row.lifecycle === 'deleted' ? `deleted (was ${row.status.toLowerCase()})` : undefined),
    };
  if (id === 'start')
    return {
      ...base,
      render: ({ row }) => <RelativeTime ms={row.startTime} now={ctx.now} />,
    };
  const numeric = group === 'metrics' || id === 'duration';
  return {
    ...base,
    className: `group-${group}${numeric ? ' num' : ''}`,
    render: ({ row }) => cellText(row, id, ctx.now),
    cellTitle: ({ row }) => cellText(row, id, ctx.now),
  };
}
