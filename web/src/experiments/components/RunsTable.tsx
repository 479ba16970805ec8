import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { StatusBadge } from '../../common/components/ui.tsx';
import { cellText, columnGroup, columnLabel, columnWidth, type SortState } from '../utils/columns.ts';
import type { TreeRow } from '../utils/run-rows.ts';

const ROW_HEIGHT = 32;
const OVERSCAN = 10;

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

/**
 * The runs grid, virtualised: only the rows in view (plus a margin) are in the DOM, so 10,000
 * runs scroll as smoothly as 10. Rows have a fixed height; the header stays on top.
 */
export function RunsTable({ experimentId, rows, columns, sort, onSort, selected, onSelect, onSelectAll, expanded, onToggleExpand }: RunsTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const [now] = useState(() => Date.now());

  useEffect(() => {
    const el = scroller.current;
    if (!el) return undefined;
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    setViewport(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (el) setScrollTop(el.scrollTop);
  }, []);

  const widths = columns.map(columnWidth);
  const template = `36px ${widths.map((w) => `${w}px`).join(' ')}`;
  const totalWidth = 36 + widths.reduce((a, b) => a + b, 0);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.row.runId));

  return (
    <div className="runs-grid" ref={scroller} onScroll={onScroll} role="table" aria-label="Runs" aria-rowcount={rows.length + 1} tabIndex={0}>
      <div className="runs-grid-inner" style={{ width: totalWidth }}>
        <div className="runs-header" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
          <div role="columnheader" className="cell cell-check">
            <input type="checkbox" aria-label="Select all runs" checked={allSelected} onChange={(e) => onSelectAll(e.target.checked)} />
          </div>
          {columns.map((id) => {
            const active = sort.column === id;
            return (
              <div
                key={id}
                role="columnheader"
                className={`cell cell-head group-${columnGroup(id)}`}
                aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                title={id}
              >
                <button type="button" className="sort-button" onClick={() => onSort(id)}>
                  {columnGroup(id) !== 'base' && <span className="col-group">{columnGroup(id)}</span>}
                  <span className="col-label">{columnLabel(id)}</span>
                  <span aria-hidden="true" className="sort-mark">
                    {active ? (sort.desc ? '▼' : '▲') : ''}
                  </span>
                </button>
              </div>
            );
          })}
        </div>
        <div className="runs-body" style={{ height: rows.length * ROW_HEIGHT }} role="rowgroup">
          {rows.slice(first, last).map((tree, i) => (
            <RunRowView
              key={tree.row.runId}
              experimentId={experimentId}
              tree={tree}
              index={first + i}
              columns={columns}
              template={template}
              now={now}
              isSelected={selected.has(tree.row.runId)}
              isExpanded={expanded.has(tree.row.runId)}
              onSelect={onSelect}
              onToggleExpand={onToggleExpand}
            />
          ))}
        </div>
      </div>
    </div>
  );
}

interface RunRowViewProps {
  experimentId: string;
  tree: TreeRow;
  index: number;
  columns: string[];
  template: string;
  now: number;
  isSelected: boolean;
  isExpanded: boolean;
  onSelect: (runId: string, selected: boolean) => void;
  onToggleExpand: (runId: string) => void;
}

/** One row; memoised so scrolling only renders the rows that come into view. */
const RunRowView = memo(function RunRowView({ experimentId, tree, index, columns, template, now, isSelected, isExpanded, onSelect, onToggleExpand }: RunRowViewProps) {
  const { row } = tree;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={isSelected}
      className={`runs-row${isSelected ? ' selected' : ''}${row.lifecycle === 'deleted' ? ' deleted' : ''}`}
      style={{ transform: `translateY(${index * ROW_HEIGHT}px)`, gridTemplateColumns: template }}
    >
      <div role="cell" className="cell cell-check">
        <input type="checkbox" aria-label={`Select ${row.name}`} checked={isSelected} onChange={(e) => onSelect(row.runId, e.target.checked)} />
      </div>
      {columns.map((id) => {
        if (id === 'name') {
          return (
            <div key={id} role="cell" className="cell cell-name" style={{ paddingLeft: 6 + tree.depth * 18 }}>
              {tree.childCount > 0 ? (
                <button
                  type="button"
                  className="tree-toggle"
                  aria-expanded={isExpanded}
                  aria-label={`${isExpanded ? 'Collapse' : 'Expand'} ${tree.childCount} child runs of ${row.name}`}
                  onClick={() => onToggleExpand(row.runId)}
                >
                  {isExpanded ? '▾' : '▸'}
                </button>
              ) : (
                <span className="tree-spacer" />
              )}
              <Link to={`/experiments/${experimentId}/runs/${row.runId}`} title={row.name}>
                {row.name}
              </Link>
              {tree.childCount > 0 && <span className="muted small"> ({tree.childCount})</span>}
            </div>
          );
        }
        if (id === 'status') {
          return (
            <div key={id} role="cell" className="cell">
              <StatusBadge status={row.status} />
            </div>
          );
        }
        const text = cellText(row, id, now);
        const numeric = columnGroup(id) === 'metrics' || id === 'duration';
        return (
          <div key={id} role="cell" className={numeric ? 'cell num' : 'cell'} title={text}>
            {text}
          </div>
        );
      })}
    </div>
  );
});
