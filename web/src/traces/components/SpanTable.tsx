import { useMemo } from 'react';
import { VirtualTable, type VirtualColumn } from '../../common/components/VirtualTable.tsx';
import type { SpanRow } from '../utils/spans.ts';
import { barOf, formatOffset, formatSpanDuration, ticks, type TimeWindow } from '../utils/waterfall.ts';

export interface SpanTableProps {
  rows: SpanRow[];
  window: TimeWindow;
  now: number;
  activeId: string | undefined;
  onActivate: (spanId: string) => void;
  collapsed: ReadonlySet<string>;
  onToggle: (spanId: string, collapse: boolean) => void;
}

/**
 * The span tree beside its timeline: one row per span (the shared virtualised table, so a
 * 1,000-span trace renders only what is in view), indented under its parent, with a bar placed
 * at the span's start and as long as it ran; the name column is pinned (stays in view when the
 * table scrolls sideways). ↑/↓ move between spans, ←/→ fold and unfold.
 */
export function SpanTable({ rows, window, now, activeId, onActivate, collapsed, onToggle }: SpanTableProps) {
  const columns = useMemo(() => spanColumns(window, now, collapsed, onToggle), [window, now, collapsed, onToggle]);
  const byId = useMemo(() => new Map(rows.map((r) => [r.span.id, r])), [rows]);
  return (
    <VirtualTable
      label="Spans"
      className="span-grid"
      rows={rows}
      rowKey={(r) => r.span.id}
      columns={columns}
      activeKey={activeId}
      onActivate={(r) => onActivate(r.span.id)}
      rowHeight={30}
      rowClassName={(r) => (r.span.statusCode === 'ERROR' ? 'span-error' : r.errorBelow ? 'span-error-below' : '')}
      onRowKey={(event, r) => {
        if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
          event.preventDefault();
          const collapse = event.key === 'ArrowLeft';
          if (r.childCount > 0 && collapsed.has(r.span.id) !== collapse) onToggle(r.span.id, collapse);
          else if (collapse && r.span.parentId && byId.has(r.span.parentId)) onActivate(r.span.parentId);
        }
      }}
    />
  );
}

function spanColumns(window: TimeWindow, now: number, collapsed: ReadonlySet<string>, onToggle: (id: string, collapse: boolean) => void): Array<VirtualColumn<SpanRow>> {
  const marks = ticks(window.length);
  return [
    {
      id: 'span',
      header: 'Span',
      width: 'minmax(170px, 1fr)',
      className: 'cell-name span-name',
      // The span's name stays at the left edge when a narrow page scrolls the table sideways.
      pinned: true,
      render: ({ span, depth, childCount }) => {
        const isCollapsed = collapsed.has(span.id);
        return (
          <>
            <span className="tree-indent" style={{ width: depth * 14 }} />
            {childCount > 0 ? (
              <button
                type="button"
                className="tree-toggle"
                aria-expanded={!isCollapsed}
                aria-label={`${isCollapsed ? 'Expand' : 'Collapse'} ${span.name}`}
                onClick={() => onToggle(span.id, !isCollapsed)}
              >
                {isCollapsed ? '▸' : '▾'}
              </button>
            ) : (
              <span className="tree-spacer" />
            )}
            <span className={`span-type span-type-${span.type.toLowerCase()}`} title={span.type}>
              {typeLabel(span.type)}
            </span>
            <span className="span-label" title={span.name}>
              {span.name}
            </span>
            {span.statusCode === 'ERROR' && (
              <span className="badge badge-failed" title={span.statusMessage}>
                error
              </span>
            )}
          </>
        );
      },
    },
    {
      id: 'duration',
      header: 'Duration',
      width: 84,
      className: 'num',
      render: ({ span }) => (span.end === undefined ? 'running' : formatSpanDuration(span.end - span.start)),
    },
    {
      id: 'timeline',
      header: (
        <span className="timeline-axis" aria-label={`Timeline, 0 to ${formatOffset(window.length)}`}>
          {marks.map((t) => (
            <span key={t} className="timeline-tick" style={{ left: `${(t / window.length) * 100}%` }}>
              {formatOffset(t)}
            </span>
          ))}
        </span>
      ),
      width: 'minmax(170px, 1.3fr)',
      className: 'timeline-cell',
      render: ({ span }) => {
        const bar = barOf(span, window, now);
        return (
          <span className="timeline-track">
            <span
              className={`timeline-bar span-type-${span.type.toLowerCase()}${span.statusCode === 'ERROR' ? ' bar-error' : ''}${span.end === undefined ? ' bar-open' : ''}`}
              style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
              data-left={bar.left.toFixed(2)}
              data-width={bar.width.toFixed(2)}
            />
          </span>
        );
      },
      cellTitle: ({ span }) => {
        const bar = barOf(span, window, now);
        return `starts at +${formatOffset(bar.offset)}, ${bar.duration === undefined ? 'still running' : `runs ${formatSpanDuration(bar.duration)}`}`;
      },
    },
  ];
}

const TYPE_LABELS: Record<string, string> = {
  CHAT_MODEL: 'chat',
  LLM: 'llm',
  RETRIEVER: 'retriever',
  TOOL: 'tool',
  AGENT: 'agent',
  CHAIN: 'chain',
  EMBEDDING: 'embedding',
  PARSER: 'parser',
  RERANKER: 'reranker',
  UNKNOWN: 'span',
};

export function typeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type.toLowerCase();
}
