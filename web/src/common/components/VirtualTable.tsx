import { memo, useCallback, useMemo, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type ReactNode } from 'react';
import './vtable.css';

/**
 * The one table of the UI's long lists (runs, traces, spans), virtualised: only the rows in view
 * (plus a margin) are in the DOM, so 10,000 rows scroll as smoothly as 10. Rows have a fixed
 * height; the header stays on top. Columns say how to render a cell; the table knows nothing of
 * what a row is.
 */

export interface VirtualColumn<Row> {
  id: string;
  /** Header content; `title` is its tooltip (the full column id when the label is shortened). */
  header: ReactNode;
  title?: string;
  /** Pixels, or a CSS grid track such as `minmax(240px, 1fr)` for a column that takes the rest. */
  width: number | string;
  /** Extra class of the header and body cells (`num` right-aligns). */
  className?: string;
  sortable?: boolean;
  render: (row: Row, index: number) => ReactNode;
  /** Tooltip of a body cell (its full text when it is cut off). */
  cellTitle?: (row: Row) => string | undefined;
  /**
   * Stays in view when the table scrolls sideways (the row's name). Only leading columns can be
   * pinned; the selection column is pinned with them.
   */
  pinned?: boolean;
}

export interface VirtualSort {
  column: string;
  desc: boolean;
}

export interface VirtualSelection<Row> {
  selected: ReadonlySet<string>;
  onSelect: (key: string, selected: boolean) => void;
  onSelectAll: (selected: boolean) => void;
  /** Accessible name of a row's checkbox ("Select trial-1"). */
  label: (row: Row) => string;
  /** Accessible name of the header checkbox. */
  allLabel: string;
}

export interface VirtualTableProps<Row> {
  /** Accessible name of the table ("Runs", "Traces", "Spans"). */
  label: string;
  rows: Row[];
  rowKey: (row: Row) => string;
  columns: Array<VirtualColumn<Row>>;
  sort?: VirtualSort | undefined;
  onSort?: ((column: string) => void) | undefined;
  selection?: VirtualSelection<Row> | undefined;
  /** The row shown as current (the open span); with onActivate, arrow keys move it. */
  activeKey?: string | undefined;
  onActivate?: ((row: Row) => void) | undefined;
  /** Enter on the active row (open it). */
  onOpen?: ((row: Row) => void) | undefined;
  /** Keys the table does not handle itself (the span tree's ←/→), for the active row. */
  onRowKey?: ((event: KeyboardEvent<HTMLDivElement>, row: Row) => void) | undefined;
  rowClassName?: ((row: Row) => string) | undefined;
  /** Extra class of the scrolling container. */
  className?: string | undefined;
  /** Called when the last rows come into view (load the next page). */
  onEndReached?: (() => void) | undefined;
  rowHeight?: number | undefined;
}

const DEFAULT_ROW_HEIGHT = 32;
const OVERSCAN = 10;
const CHECK_WIDTH = 36;

/**
 * Left offsets (px) of the pinned columns: the selection column and the leading columns marked
 * `pinned`, in order. A column after the first unpinned one is never pinned. Pure.
 */
export function pinnedOffsets(widths: Array<{ width: number | string; pinned?: boolean | undefined }>, withSelection: boolean): { offsets: Array<number | undefined>; checkPinned: boolean; lastPinned: number } {
  const offsets: Array<number | undefined> = [];
  let left = withSelection ? CHECK_WIDTH : 0;
  let open = true;
  let lastPinned = -1;
  widths.forEach((column, index) => {
    if (open && column.pinned) {
      offsets.push(left);
      left += minWidth(column.width);
      lastPinned = index;
    } else {
      open = false;
      offsets.push(undefined);
    }
  });
  return { offsets, checkPinned: withSelection && lastPinned >= 0, lastPinned };
}

function track(width: number | string): string {
  return typeof width === 'number' ? `${width}px` : width;
}

function minWidth(width: number | string): number {
  if (typeof width === 'number') return width;
  const match = /(\d+)px/.exec(width);
  return match ? Number(match[1]) : 120;
}

export function VirtualTable<Row>(props: VirtualTableProps<Row>) {
  const { label, rows, rowKey, columns, sort, onSort, selection, activeKey, onActivate, onOpen, onRowKey, rowClassName, className, onEndReached } = props;
  const rowHeight = props.rowHeight ?? DEFAULT_ROW_HEIGHT;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

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

  // Rows arriving above the ones in view (live traces at the top) must not move what the user
  // is reading: remember the top row and keep it where it was.
  const anchor = useRef<{ key: string; index: number } | undefined>(undefined);
  useLayoutEffect(() => {
    const el = scroller.current;
    const previous = anchor.current;
    if (el && previous && el.scrollTop > 0) {
      const at = rows[previous.index] && rowKey(rows[previous.index] as Row) === previous.key ? previous.index : rows.findIndex((r) => rowKey(r) === previous.key);
      if (at >= 0 && at !== previous.index) {
        el.scrollTop += (at - previous.index) * rowHeight;
        setScrollTop(el.scrollTop);
      }
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a new row list moves the anchor
  }, [rows]);
  const topIndex = Math.min(rows.length - 1, Math.floor(scrollTop / rowHeight));
  anchor.current = topIndex >= 0 ? { key: rowKey(rows[topIndex] as Row), index: topIndex } : undefined;

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewport) / rowHeight) + OVERSCAN);

  const nearEnd = rows.length > 0 && last >= rows.length;
  const endReached = useRef(onEndReached);
  endReached.current = onEndReached;
  useEffect(() => {
    if (nearEnd) endReached.current?.();
  }, [nearEnd, rows.length]);

  const template = `${selection ? `${CHECK_WIDTH}px ` : ''}${columns.map((c) => track(c.width)).join(' ')}`;
  const totalWidth = (selection ? CHECK_WIDTH : 0) + columns.reduce((sum, c) => sum + minWidth(c.width), 0);
  const allSelected = selection !== undefined && rows.length > 0 && rows.every((r) => selection.selected.has(rowKey(r)));

  const hasSelection = selection !== undefined;
  const pins = useMemo(() => pinnedOffsets(columns, hasSelection), [columns, hasSelection]);

  const activeIndex = activeKey === undefined ? -1 : rows.findIndex((r) => rowKey(r) === activeKey);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!onActivate || rows.length === 0) return;
    // Keys typed into a field inside the table (a checkbox's space, an editor) are the field's own.
    const target = event.target as HTMLElement;
    if (target !== event.currentTarget && target.closest('input, textarea, select')) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const delta = event.key === 'ArrowDown' || event.key === 'j' ? 1 : event.key === 'ArrowUp' || event.key === 'k' ? -1 : 0;
    if (delta !== 0) {
      event.preventDefault();
      const next = Math.max(0, Math.min(rows.length - 1, (activeIndex < 0 ? -delta : activeIndex) + delta));
      onActivate(rows[next] as Row);
      const el = scroller.current;
      if (el) {
        const top = next * rowHeight;
        const header = 40;
        if (top < el.scrollTop) el.scrollTop = top;
        else if (top + rowHeight > el.scrollTop + el.clientHeight - header) el.scrollTop = top + rowHeight - el.clientHeight + header;
      }
      return;
    }
    const active = activeIndex >= 0 ? (rows[activeIndex] as Row) : undefined;
    if (active !== undefined && event.key === 'Enter' && onOpen) {
      event.preventDefault();
      onOpen(active);
      return;
    }
    if (active !== undefined && event.key === 'x' && selection) {
      event.preventDefault();
      const key = rowKey(active);
      selection.onSelect(key, !selection.selected.has(key));
      return;
    }
    if (active !== undefined) onRowKey?.(event, active);
  };

  return (
    <div
      className={`vtable${className ? ` ${className}` : ''}`}
      ref={scroller}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
      role="table"
      aria-label={label}
      aria-rowcount={rows.length + 1}
      tabIndex={0}
    >
      <div className="vtable-inner" style={{ minWidth: totalWidth }}>
        <div className="vtable-header" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
          {selection && (
            <div role="columnheader" className={`cell cell-check${pins.checkPinned ? ' cell-pinned' : ''}`} style={pins.checkPinned ? { left: 0 } : undefined}>
              <input type="checkbox" aria-label={selection.allLabel} checked={allSelected} onChange={(e) => selection.onSelectAll(e.target.checked)} />
            </div>
          )}
          {columns.map((column, index) => {
            const active = sort?.column === column.id;
            const sortable = column.sortable !== false && onSort !== undefined;
            return (
              <div
                key={column.id}
                role="columnheader"
                className={`cell cell-head${column.className ? ` ${column.className}` : ''}${pinClass(pins, index)}`}
                style={pinStyle(pins, index)}
                aria-sort={sortable ? (active ? (sort?.desc ? 'descending' : 'ascending') : 'none') : undefined}
                title={column.title}
              >
                {sortable ? (
                  <button type="button" className="sort-button" onClick={() => onSort(column.id)}>
                    {column.header}
                    <span aria-hidden="true" className="sort-mark">
                      {active ? (sort?.desc ? '▼' : '▲') : ''}
                    </span>
                  </button>
                ) : (
                  <span className="sort-button static-head">{column.header}</span>
                )}
              </div>
            );
          })}
        </div>
        <div className="vtable-body" style={{ height: rows.length * rowHeight }} role="rowgroup">
          {rows.slice(first, last).map((row, i) => {
            const key = rowKey(row);
            return (
              <RowView
                key={key}
                row={row}
                rowId={key}
                index={first + i}
                columns={columns}
                template={template}
                pins={pins}
                rowHeight={rowHeight}
                selection={selection}
                isSelected={selection?.selected.has(key) ?? false}
                isActive={key === activeKey}
                onActivate={onActivate}
                extraClass={rowClassName?.(row) ?? ''}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

type Pins = ReturnType<typeof pinnedOffsets>;

function pinClass(pins: Pins, index: number): string {
  if (pins.offsets[index] === undefined) return '';
  return index === pins.lastPinned ? ' cell-pinned cell-pinned-last' : ' cell-pinned';
}

function pinStyle(pins: Pins, index: number): CSSProperties | undefined {
  const left = pins.offsets[index];
  return left === undefined ? undefined : { left };
}

interface RowViewProps<Row> {
  row: Row;
  rowId: string;
  index: number;
  columns: Array<VirtualColumn<Row>>;
  template: string;
  pins: Pins;
  rowHeight: number;
  selection: VirtualSelection<Row> | undefined;
  isSelected: boolean;
  isActive: boolean;
  onActivate: ((row: Row) => void) | undefined;
  extraClass: string;
}

/** One row; memoised so scrolling only renders the rows that come into view. */
const RowView = memo(function RowView<Row>({ row, rowId, index, columns, template, pins, rowHeight, selection, isSelected, isActive, onActivate, extraClass }: RowViewProps<Row>) {
  const classes = ['vtable-row', extraClass, isSelected ? 'selected' : '', isActive ? 'active' : '', onActivate ? 'clickable' : ''].filter(Boolean).join(' ');
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selection || onActivate ? isSelected || isActive : undefined}
      data-key={rowId}
      className={classes}
      style={{ transform: `translateY(${index * rowHeight}px)`, gridTemplateColumns: template, height: rowHeight }}
      onClick={
        onActivate
          ? (event) => {
              // Links and buttons inside the row do their own thing.
              if ((event.target as HTMLElement).closest('a, button, input')) return;
              onActivate(row);
            }
          : undefined
      }
    >
      {selection && (
        <div role="cell" className={`cell cell-check${pins.checkPinned ? ' cell-pinned' : ''}`} style={pins.checkPinned ? { left: 0 } : undefined}>
          <input type="checkbox" aria-label={selection.label(row)} checked={isSelected} onChange={(e) => selection.onSelect(rowId, e.target.checked)} />
        </div>
      )}
      {columns.map((column, columnIndex) => (
        <div
          key={column.id}
          role="cell"
          className={`cell${column.className ? ` ${column.className}` : ''}${pinClass(pins, columnIndex)}`}
          style={pinStyle(pins, columnIndex)}
          title={column.cellTitle?.(row)}
        >
          {column.render(row, index)}
        </div>
      ))}
    </div>
  );
}) as <Row>(props: RowViewProps<Row>) => ReactNode;
