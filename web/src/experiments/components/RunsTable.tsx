import { useMemo } from 'react';
import { Link } from 'react-router';
import { StatusBadge } from '../../common/components/ui.tsx';
import { VirtualTable, type VirtualColumn } from '../../common/components/VirtualTable.tsx';
import { cellText, columnGroup, columnLabel, columnWidth, type SortState } from '../utils/columns.ts';
import type { TreeRow } from '../utils/run-rows.ts';

export interface RunsTableProps {
  experimentId: string;
  rows: TreeRow[];
  columns: string[];
  sort: SortState;
  onSort: (column: string) => void;
  selected: ReadonlySet<string>;
  onSelect: (runId: string, selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  expanded: ReadonlySet<string>;
  onToggleExpand: (runId: string) => void;
}

/** The runs grid: the shared virtualised table with the runs' columns (nested runs as a tree). */
export function RunsTable({ experimentId, rows, columns, sort, onSort, selected, onSelect, onSelectAll, expanded, onToggleExpand }: RunsTableProps) {
  // Durations of running runs are measured against the time the table was built.
  const now = useMemo(() => Date.now(), [rows]);
  const columnDefs = useMemo(
    () => columns.map((id): VirtualColumn<TreeRow> => runColumn(id, { experimentId, now, expanded, onToggleExpand })),
    [columns, experimentId, now, expanded, onToggleExpand],
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
    />
  );
}

interface RunColumnContext {
  experimentId: string;
  now: number;
  expanded: ReadonlySet<string>;
  onToggleExpand: (runId: string) => void;
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
            <Link to={`/experiments/${ctx.experimentId}/runs/${row.runId}`} title={row.name}>
              {row.name}
            </Link>
            {childCount > 0 && <span className="muted small"> ({childCount})</span>}
          </>
        );
      },
    };
  }
  if (id === 'status') return { ...base, render: ({ row }) => <StatusBadge status={row.status} /> };
  const numeric = group === 'metrics' || id === 'duration';
  return {
    ...base,
    className: `group-${group}${numeric ? ' num' : ''}`,
    render: ({ row }) => cellText(row, id, ctx.now),
    cellTitle: ({ row }) => cellText(row, id, ctx.now),
  };
}
