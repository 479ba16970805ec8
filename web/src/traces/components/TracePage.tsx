import { useCallback, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { Breadcrumbs, ErrorBox, Facts, Loading, PageError } from '../../common/components/ui.tsx';
import { useApi } from '../../common/hooks/useApi.ts';
import { formatTimestamp, shortId } from '../../common/utils/format.ts';
import { getExperiment } from '../../experiments/api/experiments-api.ts';
import { getTrace } from '../api/traces-api.ts';
import type { Trace } from '../api/types.ts';
import { buildSpanTree, flattenSpanTree, normaliseSpan, traceTokenUsage } from '../utils/spans.ts';
import { formatTokenUsage } from '../utils/token-usage.ts';
import { traceLatency, traceName, traceRunId, traceStart, traceTokenUsageFromInfo, TRACE_SESSION, TRACE_USER, userTags } from '../utils/trace-info.ts';
import { formatSpanDuration, timeWindow } from '../utils/waterfall.ts';
import { AssessmentsPanel } from './AssessmentsPanel.tsx';
import { SpanDetails } from './SpanDetails.tsx';
import { SpanTable } from './SpanTable.tsx';
import { TraceStateBadge } from './TraceStateBadge.tsx';

/** While a trace is IN_PROGRESS its page polls this often, so new spans show as they end. */
const LIVE_POLL_MS = 2000;

export default function TracePage() {
  const { experimentId = '', traceId = '' } = useParams();
  return <TraceView key={traceId} experimentId={experimentId} traceId={traceId} />;
}

function TraceView({ experimentId, traceId }: { experimentId: string; traceId: string }) {
  const [live, setLive] = useState(false);
  const trace = useApi(
    async (signal) => {
      const t = await getTrace(traceId, signal);
      setLive(t.trace_info.state === 'IN_PROGRESS');
      return t;
    },
    [traceId],
    { pollMs: live ? LIVE_POLL_MS : undefined },
  );
  const experiment = useApi((signal) => getExperiment(experimentId, signal), [experimentId]);
  const crumbs = [
    { label: 'Experiments', to: '/experiments' },
    { label: experiment.data?.name ?? experimentId, to: `/experiments/${experimentId}` },
    { label: 'Traces', to: `/experiments/${experimentId}/traces` },
    { label: trace.data ? (traceName(trace.data.trace_info) ?? traceId) : traceId },
  ];
  if (trace.error !== undefined && !trace.data) {
    return (
      <div className="page page-wide">
        <Breadcrumbs items={crumbs} />
        <PageError error={trace.error} what="Trace" onRetry={trace.reload} />
      </div>
    );
  }
  if (!trace.data) return <Loading label="Loading trace…" />;
  return (
    <div className="page page-wide trace-page">
      <Breadcrumbs items={crumbs} />
      <TraceBody experimentId={experimentId} trace={trace.data} reload={trace.reload} live={live} />
    </div>
  );
}

function TraceBody({ experimentId, trace, reload, live }: { experimentId: string; trace: Trace; reload: () => void; live: boolean }) {
  const info = trace.trace_info;
  const [params, setParams] = useSearchParams();
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const spans = useMemo(() => (trace.spans ?? []).map(normaliseSpan), [trace.spans]);
  const roots = useMemo(() => buildSpanTree(spans), [spans]);
  const rows = useMemo(() => flattenSpanTree(roots, collapsed), [roots, collapsed]);
  const now = useMemo(() => Date.now(), [spans]);
  const window = useMemo(() => timeWindow(spans, now), [spans, now]);
  const usage = traceTokenUsageFromInfo(info) ?? traceTokenUsage(roots);
  const selectedHex = params.get('span');
  const active = spans.find((s) => s.hexId === selectedHex) ?? roots[0]?.span;
  const runId = traceRunId(info);
  const meta = info.trace_metadata ?? {};
  const tags = userTags(info);

  const onActivate = useCallback(
    (spanId: string) => {
      const span = spans.find((s) => s.id === spanId);
      if (!span) return;
      const next = new URLSearchParams(params);
      next.set('span', span.hexId);
      setParams(next, { replace: true });
    },
    [spans, params, setParams],
  );
  const onToggle = useCallback((spanId: string, collapse: boolean) => {
    setCollapsed((current) => {
      const next = new Set(current);
      if (collapse) next.add(spanId);
      else next.delete(spanId);
      return next;
    });
  }, []);

  return (
    <>
      <div className="page-head">
        <h1>
          {traceName(info) ?? info.trace_id} <TraceStateBadge state={info.state} />
          {live && (
            <span className="live" aria-live="polite">
              <span className="live-dot" aria-hidden="true" /> live
            </span>
          )}
        </h1>
      </div>
      <Facts
        items={[
          ['Trace ID', <span className="mono">{info.trace_id}</span>],
          ['Request time', formatTimestamp(traceStart(info))],
          ['Latency', formatSpanDuration(traceLatency(info))],
          ['Spans', spans.length.toLocaleString('en-US')],
          ['Tokens', formatTokenUsage(usage)],
          ['Run', runId ? <Link to={`/experiments/${experimentId}/runs/${runId}`}>{shortId(runId)}</Link> : '—'],
          ['User', meta[TRACE_USER] || meta['mlflow.user'] || '—'],
          ...(meta[TRACE_SESSION] ? ([['Session', meta[TRACE_SESSION]]] as Array<[string, string]>) : []),
          [
            'Tags',
            tags.length === 0 ? (
              '—'
            ) : (
              <span className="inline-list">
                {tags.map(([k, v]) => (
                  <span key={k} className="badge badge-muted tag-chip">
                    {k}={v}
                  </span>
                ))}
              </span>
            ),
          ],
        ]}
      />
      <div className="trace-layout">
        <div className="trace-spans">
          {spans.length === 0 ? (
            <p className="state state-empty">{live ? 'No span has ended yet.' : 'This trace has no spans stored.'}</p>
          ) : (
            <SpanTable rows={rows} window={window} now={now} activeId={active?.id} onActivate={onActivate} collapsed={collapsed} onToggle={onToggle} />
          )}
        </div>
        <div className="trace-detail">{active && <SpanDetails span={active} traceStart={window.start} />}</div>
        <AssessmentsPanel traceId={info.trace_id} assessments={info.assessments ?? []} onChange={reload} />
      </div>
    </>
  );
}
