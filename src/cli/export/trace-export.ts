import type { AttributeValue } from '../../domain/tracing/otlp.ts';
import { base64ToHex, decodedAttribute, type SpanDict } from '../../domain/tracing/spans.ts';
import type { AssessmentInput } from '../../domain/tracing/assessments.ts';
import type { SourceTrace } from '../../domain/import/source.ts';
import { durationJson, timestampJson, traceInfoInputFrom } from '../../http/trace-presenters.ts';
import type { TraceInfoInput } from '../../domain/tracing/trace-service.ts';
import { TrackingApiError, type TrackingClient } from '../models/tracking-client.ts';

/**
 * Retries of transient failures for the trace calls. A trace keeps its id in the target, so
 * starting it, setting its tags and sending its spans again writes the same trace (these repeat
 * after a broken connection, as before); an assessment's create passes `repeatable: false`.
 */
export type TraceRetry = <T>(work: () => Promise<T>, repeatable?: boolean) => Promise<T>;

const TRACES = '/api/3.0/mlflow/traces';
/** MLflow's OTLP/HTTP route; the experiment goes in this header. */
const OTLP_TRACES = '/v1/traces';
const EXPERIMENT_HEADER = 'x-mlflow-experiment-id';
/** Tags the target sets for itself: Trove's artifact folder means nothing there. */
const SPANS_LOCATION_TAG = 'mlflow.trace.spansLocation';
const TARGET_OWNED_TAGS = new Set(['mlflow.artifactLocation', SPANS_LOCATION_TAG]);
/** Traces per page of the target's trace search. */
const TARGET_TRACES_PAGE = 500;
/** Spans per OTLP request. */
const SPANS_PER_REQUEST = 500;

/** The target has no tracing routes (an MLflow 2.x server, or a store without traces). */
export class TracingUnsupportedError extends Error {}

/** An attribute value as an OTLP AnyValue in the OTLP/JSON encoding (lowerCamelCase, int64 as text). */
function anyValue(value: AttributeValue | undefined): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return { kvlistValue: { values: Object.entries(value).map(([key, v]) => ({ key, value: anyValue(v) })) } };
}

function keyValues(record: Record<string, AttributeValue>): Array<{ key: string; value: Record<string, unknown> }> {
  return Object.entries(record).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/**
 * A stored span as an OTLP/JSON span: ids in hex as the OTLP/JSON encoding has them (MLflow's
 * server reads them so), attribute values decoded from their stored JSON text so the target stores
 * them exactly as Trove does.
 */
export function otlpJsonSpan(span: SpanDict): Record<string, unknown> {
  return {
    traceId: base64ToHex(span.trace_id),
    spanId: base64ToHex(span.span_id),
    ...(span.trace_state ? { traceState: span.trace_state } : {}),
    ...(span.parent_span_id ? { parentSpanId: base64ToHex(span.parent_span_id) } : {}),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: span.start_time_unix_nano,
    ...(span.end_time_unix_nano !== null ? { endTimeUnixNano: span.end_time_unix_nano } : {}),
    attributes: Object.entries(span.attributes).map(([key, stored]) => ({ key, value: anyValue(decodedAttribute(stored)) })),
    events: span.events.map((e) => ({ timeUnixNano: e.time_unix_nano, name: e.name, attributes: keyValues(e.attributes) })),
    links: span.links.map((l) => ({
      traceId: base64ToHex(l.trace_id),
      spanId: base64ToHex(l.span_id),
      ...(l.trace_state ? { traceState: l.trace_state } : {}),
      attributes: keyValues(l.attributes),
    })),
    status: { ...(span.status.message ? { message: span.status.message } : {}), code: span.status.code },
  };
}

/**
 * The id a trace gets in MLflow: the server derives it from the OTLP trace id of the spans
 * (`tr-<32 hex>`), so that is the id the trace info is created under; a trace without spans keeps
 * its id.
 */
export function targetTraceId(trace: SourceTrace): string {
  const first = trace.spans[0];
  return first ? `tr-${base64ToHex(first.trace_id)}` : trace.info.traceId;
}

export interface TraceExportResult {
  traceId: string;
  /** Old assessment id → the id it has in the target (new or found from an earlier export). */
  assessments: Array<{ from: string; to: string }>;
  /** Assessments created by this export. */
  createdAssessments: number;
  /** Whether anything was written (false: an earlier export had brought everything). */
  wrote: boolean;
}

/** What the target holds of a trace (an earlier export), or undefined when it has none. */
async function traceThere(client: TrackingClient, retry: TraceRetry, traceId: string): Promise<TraceInfoInput | undefined> {
  try {
    const found = await retry(() => client.get<Record<string, unknown>>(`${TRACES}/${encodeURIComponent(traceId)}`));
    return traceInfoInputFrom(found);
  } catch (error) {
    if (error instanceof TrackingApiError && error.status === 404) {
      // A route the target lacks is a bare 404; MLflow's own 404s name what was missing.
      if (error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw new TracingUnsupportedError(error.message);
    }
    throw error;
  }
}

/**
 * Whether the target's copy of a trace (from its search listing) already has everything an export
 * would bring from Trove's `info`: same experiment and state, every tag with the same value, its
 * spans, and every assessment. Such a trace is left out without reading its spans from Trove.
 * @returns the target's ids of its assessments (for the printed mapping), or undefined when something is missing
 */
export function traceUpToDate(info: TraceInfoInput, there: TraceInfoInput, experimentId: string): { assessments: Array<{ from: string; to: string }> } | undefined {
  if (there.experimentId !== experimentId || there.state !== info.state) return undefined;
  if (there.tags[SPANS_LOCATION_TAG] === undefined) return undefined;
  for (const [key, value] of Object.entries(info.tags)) if (!TARGET_OWNED_TAGS.has(key) && there.tags[key] !== value) return undefined;
  const held = new Map(there.assessments.map((a) => [assessmentKey(a), a.assessmentId]));
  const assessments: Array<{ from: string; to: string }> = [];
  for (const a of info.assessments) {
    const id = held.get(assessmentKey(a));
    if (id === undefined) return undefined;
    if (a.assessmentId) assessments.push({ from: a.assessmentId, to: id });
  }
  return { assessments };
}

/**
 * The infos of the traces a target experiment holds, by trace id, from its trace search (which
 * carries tags and assessments); empty when the target has no tracing routes.
 */
export async function targetTraceInfos(client: TrackingClient, retry: TraceRetry, experimentId: string): Promise<Map<string, TraceInfoInput>> {
  const found = new Map<string, TraceInfoInput>();
  let pageToken: string | undefined;
  try {
    do {
      const page = await retry(() =>
        client.post<{ traces?: Array<Record<string, unknown>>; next_page_token?: string }>(`${TRACES}/search`, {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }],
          max_results: TARGET_TRACES_PAGE,
          ...(pageToken ? { page_token: pageToken } : {}),
        }),
      );
      for (const t of page.traces ?? []) {
        try {
          const info = traceInfoInputFrom({ trace: { trace_info: t } });
          found.set(info.traceId, info);
        } catch {
          // A listing entry the parser refuses is simply not known: that trace takes the full path.
        }
      }
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  } catch (error) {
    if (error instanceof TrackingApiError && error.status === 404) return new Map();
    throw error;
  }
  return found;
}

/** How an assessment is recognised in the target, whose ids differ: name, source and creation time (kept). */
function assessmentKey(a: AssessmentInput): string {
  const source = (a.body.source ?? {}) as { source_type?: unknown; source_id?: unknown };
  return [a.body.assessment_name, source.source_type, source.source_id, a.createTime].map((v) => String(v ?? '')).join('\n');
}

/**
 * Writes one trace into an MLflow 3 server the way its own client does: the trace info
 * (StartTraceV3: times, state, previews, request metadata, tags), then the spans over OTLP/HTTP
 * (JSON encoding) to `/v1/traces` with the target experiment in `x-mlflow-experiment-id`, then
 * the assessments one by one (the target gives them new ids; an assessment that overrides another
 * follows the new id). A trace the target already has (an earlier or interrupted export) gets only
 * what it lacks: its info again if its state changed, its spans if it has none, the
 * tags that differ, and the assessments it does not hold (recognised by name, source and creation
 * time). `runIds` maps run ids in metadata (`mlflow.sourceRun`) to the target's.
 * Throws {@link TracingUnsupportedError} when the target answers 404 on the trace routes.
 */
export async function exportTrace(
  client: TrackingClient,
  retry: TraceRetry,
  trace: SourceTrace,
  experimentId: string,
  runIds: Map<string, string>,
): Promise<TraceExportResult> {
  const traceId = targetTraceId(trace);
  const { info } = trace;
  const there = await traceThere(client, retry, traceId);
  if (there && there.experimentId !== experimentId) throw new Error(`the target holds trace ${traceId} in another experiment (${there.experimentId})`);
  let wrote = false;
  const tags = Object.fromEntries(Object.entries(info.tags).filter(([key]) => !TARGET_OWNED_TAGS.has(key)));
  // The state tells a trace that has ended since (the duration is the target's own, from the spans).
  if (!there || there.state !== info.state) {
    await startTrace(client, retry, trace, traceId, experimentId, runIds, tags);
    wrote = true;
  } else {
    for (const [key, value] of Object.entries(tags)) {
      if (there.tags[key] === value) continue;
      await retry(() => patch(client, `${TRACES}/${encodeURIComponent(traceId)}/tags`, { key, value }));
      wrote = true;
    }
  }
  if (trace.spans.length > 0 && there?.tags[SPANS_LOCATION_TAG] === undefined) {
    await sendSpans(client, retry, trace, experimentId);
    wrote = true;
  }

  const assessments: Array<{ from: string; to: string }> = [];
  const newIds = new Map<string, string>();
  const held = new Map((there?.assessments ?? []).map((a) => [assessmentKey(a), a.assessmentId]));
  let createdAssessments = 0;
  const ordered = [...info.assessments].sort((a, b) => (a.createTime ?? 0) - (b.createTime ?? 0));
  for (const a of ordered) {
    let id = held.get(assessmentKey(a));
    if (id === undefined) {
      // A create: not repeated after a broken connection (a second one would be a second assessment).
      const created = await retry(
        () => client.post<{ assessment: { assessment_id: string } }>(`${TRACES}/${encodeURIComponent(traceId)}/assessments`, { assessment: assessmentBody(a, traceId, newIds) }),
        false,
      );
      id = created.assessment.assessment_id;
      createdAssessments++;
      wrote = true;
    }
    if (a.assessmentId) {
      newIds.set(a.assessmentId, id);
      assessments.push({ from: a.assessmentId, to: id });
    }
  }
  return { traceId, assessments, createdAssessments, wrote };
}

async function patch(client: TrackingClient, path: string, body: Record<string, unknown>): Promise<void> {
  const response = await client.request(client.url(path), { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new TrackingApiError(`PATCH ${path} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
}

async function startTrace(
  client: TrackingClient,
  retry: TraceRetry,
  trace: SourceTrace,
  traceId: string,
  experimentId: string,
  runIds: Map<string, string>,
  tags: Record<string, string>,
): Promise<void> {
  const { info } = trace;
  const metadata = { ...info.metadata };
  const sourceRun = metadata['mlflow.sourceRun'];
  if (sourceRun && runIds.has(sourceRun)) metadata['mlflow.sourceRun'] = runIds.get(sourceRun)!;
  try {
    await retry(() =>
      client.post(TRACES, {
        trace: {
          trace_info: {
            trace_id: traceId,
            ...(info.clientRequestId ? { client_request_id: info.clientRequestId } : {}),
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: timestampJson(info.requestTime),
            ...(info.executionDuration !== null ? { execution_duration: durationJson(info.executionDuration) } : {}),
            state: info.state,
            trace_metadata: metadata,
            tags,
            ...(info.requestPreview !== null ? { request_preview: info.requestPreview } : {}),
            ...(info.responsePreview !== null ? { response_preview: info.responsePreview } : {}),
          },
        },
      }),
    );
  } catch (error) {
    if (error instanceof TrackingApiError && error.status === 404 && error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw new TracingUnsupportedError(error.message);
    throw error;
  }
}

async function sendSpans(client: TrackingClient, retry: TraceRetry, trace: SourceTrace, experimentId: string): Promise<void> {
  for (let i = 0; i < trace.spans.length; i += SPANS_PER_REQUEST) {
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: trace.spans.slice(i, i + SPANS_PER_REQUEST).map(otlpJsonSpan) }] }] });
    await retry(async () => {
      const response = await client.request(client.url(OTLP_TRACES), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [EXPERIMENT_HEADER]: experimentId },
        body,
      });
      const text = await response.text();
      if (response.status === 404) throw new TracingUnsupportedError(`POST ${OTLP_TRACES} answered 404`);
      if (!response.ok) throw new TrackingApiError(`POST ${OTLP_TRACES} failed with HTTP ${response.status}: ${text.slice(0, 200)}`, response.status, undefined);
    });
  }
}

function assessmentBody(a: AssessmentInput, traceId: string, newIds: Map<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...a.body, trace_id: traceId };
  if (typeof body.overrides === 'string' && newIds.has(body.overrides)) body.overrides = newIds.get(body.overrides);
  if (a.createTime !== undefined) body.create_time = timestampJson(a.createTime);
  if (a.lastUpdateTime !== undefined) body.last_update_time = timestampJson(a.lastUpdateTime);
  return body;
}
