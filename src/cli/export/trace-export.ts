import type { AttributeValue } from '../../domain/tracing/otlp.ts';
import { base64ToHex, decodedAttribute, type SpanDict } from '../../domain/tracing/spans.ts';
import type { AssessmentInput } from '../../domain/tracing/assessments.ts';
import type { SourceTrace } from '../../domain/import/source.ts';
import { durationJson, timestampJson } from '../../http/trace-presenters.ts';
import { TrackingApiError, type TrackingClient } from '../models/tracking-client.ts';

const TRACES = '/api/3.0/mlflow/traces';
/** MLflow's OTLP/HTTP route; the experiment goes in this header. */
const OTLP_TRACES = '/v1/traces';
const EXPERIMENT_HEADER = 'x-mlflow-experiment-id';
/** Tags the target sets for itself: Trove's artifact folder means nothing there. */
const TARGET_OWNED_TAGS = new Set(['mlflow.artifactLocation', 'mlflow.trace.spansLocation']);
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
  /** Old assessment id → the id the target gave. */
  assessments: Array<{ from: string; to: string }>;
}

/**
 * Writes one trace into an MLflow 3 server the way its own client does: the trace info
 * (StartTraceV3: times, state, previews, request metadata, tags), then the spans over OTLP/HTTP
 * (JSON encoding) to `/v1/traces` with the target experiment in `x-mlflow-experiment-id`, then
 * the assessments one by one (the target gives them new ids; an assessment that overrides another
 * follows the new id). `runIds` maps run ids in metadata (`mlflow.sourceRun`) to the target's.
 * Throws {@link TracingUnsupportedError} when the target answers 404 on the trace routes.
 */
export async function exportTrace(
  client: TrackingClient,
  retry: <T>(work: () => Promise<T>) => Promise<T>,
  trace: SourceTrace,
  experimentId: string,
  runIds: Map<string, string>,
): Promise<TraceExportResult> {
  const traceId = targetTraceId(trace);
  const { info } = trace;
  const metadata = { ...info.metadata };
  const sourceRun = metadata['mlflow.sourceRun'];
  if (sourceRun && runIds.has(sourceRun)) metadata['mlflow.sourceRun'] = runIds.get(sourceRun)!;
  const tags = Object.fromEntries(Object.entries(info.tags).filter(([key]) => !TARGET_OWNED_TAGS.has(key)));
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
    // A route the target lacks is a bare 404; MLflow's own 404s name what was missing.
    if (error instanceof TrackingApiError && error.status === 404 && error.errorCode !== 'RESOURCE_DOES_NOT_EXIST') throw new TracingUnsupportedError(error.message);
    throw error;
  }

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

  const assessments: Array<{ from: string; to: string }> = [];
  const newIds = new Map<string, string>();
  const ordered = [...info.assessments].sort((a, b) => (a.createTime ?? 0) - (b.createTime ?? 0));
  for (const a of ordered) {
    const created = await retry(() =>
      client.post<{ assessment: { assessment_id: string } }>(`${TRACES}/${encodeURIComponent(traceId)}/assessments`, { assessment: assessmentBody(a, traceId, newIds) }),
    );
    if (a.assessmentId) {
      newIds.set(a.assessmentId, created.assessment.assessment_id);
      assessments.push({ from: a.assessmentId, to: created.assessment.assessment_id });
    }
  }
  return { traceId, assessments };
}

function assessmentBody(a: AssessmentInput, traceId: string, newIds: Map<string, string>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...a.body, trace_id: traceId };
  if (typeof body.overrides === 'string' && newIds.has(body.overrides)) body.overrides = newIds.get(body.overrides);
  if (a.createTime !== undefined) body.create_time = timestampJson(a.createTime);
  if (a.lastUpdateTime !== undefined) body.last_update_time = timestampJson(a.lastUpdateTime);
  return body;
}
