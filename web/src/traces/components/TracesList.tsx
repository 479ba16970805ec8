import { useMemo, useState } from 'react';
import { Link, Navigate, useSearchParams } from 'react-router';
import { errorMessage } from '../../common/api/client.ts';
import { Empty, Loading } from '../../common/components/ui.tsx';
import { VirtualTable, type VirtualColumn } from '../../common/components/VirtualTable.tsx';
import { RelativeTime } from '../../common/components/Time.tsx';
import { shortId } from '../../common/utils/format.ts';
import { formatSpanDuration } from '../utils/waterfall.ts';
import type { TraceInfo } from '../api/types.ts';
import { LIVE_POLL_MS, useTraces } from '../hooks/useTraces.ts';
import { summarise } from '../utils/assessments.ts';
import { formatTokenUsage } from '../utils/token-usage.ts';
import { previewText, traceLatency, traceName, traceRunId, traceStart, traceTokenUsageFromInfo, userTags } from '../utils/trace-info.ts';
import { composeTraceFilter, formatOrder, parseOrder, STATES, TIME_RANGES, type TraceOrder } from '../utils/trace-list.ts';
import { Thumb } from './Thumb.tsx';
import { TraceStateBadge } from './TraceStateBadge.tsx';

/**
 * The traces of an experiment (or of one run of it): quick filters (state, time range), MLflow's
 * search_traces filter grammar, server-side order by request time or latency, pages loaded as the
 * table scrolls, new traces arriving live. Filters live in the URL so a filtered list can be shared.
 */
export function TracesList({ experimentId, runId }: { experimentId: string; runId?: string | undefined }) {
  const [params, setParams] = useSearchParams();
  const text = params.get('filter') ?? '';
  const state = params.get('state') ?? '';
  const since = params.get('since') ?? '';
  const order = parseOrder(params.get('order'));
  const [draft, setDraft] = useState(text);
  const [generation, setGeneration] = useState(0);
  // The time window is fixed when the filter is applied, so polling keeps the same window.
  const now = useMemo(() => Date.now(), [text, state, since, generation]);
  const filter = composeTraceFilter({ text, state, since, runId, now });
  const traces = useTraces(experimentId, filter, order, generation);

  const update = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  const columns = useMemo(() => traceColumns(experimentId, runId === undefined), [experimentId, runId]);
  const onSort = (column: string) => {
    if (column !== 'timestamp' && column !== 'latency') return;
    const next: TraceOrder = order.column === column ? { column, desc: !order.desc } : { column, desc: true };
    update({ order: formatOrder(next) });
  };
  const hasFilter = Boolean(text || state || since);
  // MLflow's UI links a trace as the traces list with it selected: open it here.
  const selected = params.get('selectedEvaluationId') ?? params.get('selectedTraceId');
  if (selected) return <Navigate to={`/experiments/${experimentId}/traces/${encodeURIComponent(selected)}`} replace />;

  return (
    <div className="traces-list">
      <div className="toolbar">
        <form
          className="filter-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            update({ filter: draft.trim() });
            setGeneration((g) => g + 1);
          }}
        >
          <label className="sr-only" htmlFor="trace-filter">
            Filter traces (MLflow search syntax)
          </label>
          <input
            id="trace-filter"
            className="mono"
            type="search"
            placeholder="tags.user = 'u1' and trace.execution_time_ms > 100"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit" className="btn">
            Filter
          </button>
        </form>
        <label>
          <span className="sr-only">Trace state</span>
          <select aria-label="Trace state" value={state} onChange={(e) => update({ state: e.target.value })}>
            <option value="">All states</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s === 'IN_PROGRESS' ? 'In progress' : s === 'OK' ? 'OK' : 'Error'}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="sr-only">Time range</span>
          <select aria-label="Time range" value={since} onChange={(e) => update({ since: e.target.value })}>
            <option value="">All time</option>
            {TIME_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <span className="live" title={`New traces appear within ${LIVE_POLL_MS / 1000} s`}>
          <span className="live-dot" aria-hidden="true" /> live
        </span>
        <span className="muted small runs-count traces-count" aria-live="polite">
          {traces.traces.length.toLocaleString('en-US')}
          {traces.done ? '' : '+'} traces{traces.loading ? ' (loading…)' : ''}
        </span>
      </div>
      {traces.error !== undefined && (
        <div className="state state-error" role="alert">
          <strong>{hasFilter ? 'The filter was rejected.' : 'Could not load traces.'}</strong> <span className="error-text">{errorMessage(traces.error)}</span>
        </div>
      )}
      {traces.traces.length === 0 && traces.loading ? (
        <Loading label="Loading traces…" />
      ) : traces.traces.length === 0 && traces.error === undefined ? (
        <Empty>
          {hasFilter ? (
            'No trace matches this filter.'
          ) : (
            <>
              No traces {runId ? 'from this run' : 'in this experiment'} yet. Decorate a function with <code>@mlflow.trace</code> (or turn on autologging, e.g.{' '}
              <code>mlflow.openai.autolog()</code>) and call it; its traces appear here as they arrive.
            </>
          )}
        </Empty>
      ) : traces.traces.length > 0 ? (
        <VirtualTable
          label="Traces"
          className="traces-grid"
          rows={traces.traces}
          rowKey={(t) => t.trace_id}
          columns={columns}
          sort={{ column: order.column, desc: order.desc }}
          onSort={onSort}
          onEndReached={traces.loadMore}
          rowClassName={(t) => (traces.arrived.has(t.trace_id) ? 'arrived' : '')}
        />
      ) : null}
    </div>
  );
}

function traceColumns(experimentId: string, withRun: boolean): Array<VirtualColumn<TraceInfo>> {
  const link = (t: TraceInfo) => `/experiments/${experimentId}/traces/${encodeURIComponent(t.trace_id)}`;
  const columns: Array<VirtualColumn<TraceInfo>> = [
    {
      id: 'trace',
      header: 'Trace',
      width: 110,
      sortable: false,
      pinned: true,
      className: 'mono',
      render: (t) => <Link to={link(t)} aria-label={`Open trace ${t.trace_id}`}>{shortId(t.trace_id.replace(/^tr-/, ''))}</Link>,
      cellTitle: (t) => t.trace_id,
    },
    { id: 'name', header: 'Name', width: 120, sortable: false, render: (t) => traceName(t) ?? '', cellTitle: (t) => traceName(t) },
    {
      id: 'request',
      header: 'Request',
      width: 'minmax(200px, 1.2fr)',
      sortable: false,
      render: (t) => <Link to={link(t)}>{previewText(t.request_preview) || '(no request)'}</Link>,
      cellTitle: (t) => t.request_preview,
    },
    { id: 'response', header: 'Response', width: 'minmax(160px, 1fr)', sortable: false, render: (t) => previewText(t.response_preview), cellTitle: (t) => t.response_preview },
    { id: 'state', header: 'State', width: 96, sortable: false, render: (t) => <TraceStateBadge state={t.state} /> },
    { id: 'timestamp', header: 'Request time', width: 170, render: (t) => <RelativeTime ms={traceStart(t)} now={Date.now()} /> },
    { id: 'latency', header: 'Latency', width: 84, className: 'num', render: (t) => formatSpanDuration(traceLatency(t)) },
    {
      id: 'tokens',
      header: 'Tokens',
      width: 76,
      className: 'num',
      sortable: false,
      render: (t) => traceTokenUsageFromInfo(t)?.total?.toLocaleString('en-US') ?? '',
      cellTitle: (t) => (traceTokenUsageFromInfo(t) ? formatTokenUsage(traceTokenUsageFromInfo(t)) : undefined),
    },
    {
      id: 'tags',
      header: 'Tags',
      width: 150,
      sortable: false,
      render: (t) =>
        userTags(t).map(([k, v]) => (
          <span key={k} className="badge badge-muted tag-chip">
            {k}={v}
          </span>
        )),
      cellTitle: (t) => userTags(t).map(([k, v]) => `${k}=${v}`).join(', ') || undefined,
    },
  ];
  if (withRun) {
    columns.push({
      id: 'run',
      header: 'Run',
      width: 96,
      sortable: false,
      className: 'mono',
      render: (t) => {
        const runId = traceRunId(t);
        return runId ? <Link to={`/experiments/${experimentId}/runs/${runId}`}>{shortId(runId)}</Link> : '';
      },
      cellTitle: traceRunId,
    });
  }
  columns.push({
    id: 'assessments',
    header: 'Feedback',
    width: 96,
    sortable: false,
    render: (t) => {
      const s = summarise(t.assessments);
      return (
        <span aria-label={`${s.up} thumbs up, ${s.down} thumbs down, ${s.other} other assessments`}>
          {s.up > 0 && (
            <span className="thumb-up">
              <Thumb up /> {s.up}
            </span>
          )}{' '}
          {s.down > 0 && (
            <span className="thumb-down">
              <Thumb up={false} /> {s.down}
            </span>
          )}{' '}
          {s.other > 0 && <span className="muted">+{s.other}</span>}
        </span>
      );
    },
  });
  return columns;
}
