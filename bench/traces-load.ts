/**
 * Trace workloads of the server benchmark, sent identically to Trove and MLflow: spans as OTLP
 * protobuf to `/v1/traces` (what MLflow 3's exporter sends) and the trace info to
 * `POST /api/3.0/mlflow/traces` (StartTraceV3), then `traces/search` with a tag filter.
 * Seeded traces have deterministic ids and times, so both servers hold the same traces and a
 * search page can be compared by hash.
 */
import { otlpTypes } from '../src/domain/tracing/otlp.ts';

/** Fixed base time (as load.ts) so both servers get identical data. */
const BASE_TS = 1_767_225_600_000;
const TEAMS = ['red', 'green', 'blue'];

export interface TraceSpec {
  /** 32 hex digits. */
  traceId: string;
  startMs: number;
  spans: number;
  team: string;
}

function hex(n: bigint, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}

function str(value: string) {
  return { stringValue: value };
}

/** The spans of one trace as OTLP objects: a root and `spans - 1` children, MLflow-style attributes. */
function otlpSpans(spec: TraceSpec): Record<string, unknown>[] {
  const traceId = Buffer.from(spec.traceId, 'hex');
  const rootId = Buffer.from(spec.traceId.slice(0, 16), 'hex');
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < spec.spans; i++) {
    const spanId = i === 0 ? rootId : Buffer.from(hex(BigInt(`0x${spec.traceId.slice(16)}`) + BigInt(i), 16).slice(-16), 'hex');
    const start = BigInt(spec.startMs + i) * 1_000_000n;
    const attributes = [
      { key: 'mlflow.spanType', value: str(JSON.stringify(i === 0 ? 'CHAIN' : 'LLM')) },
      { key: 'mlflow.spanInputs', value: str(JSON.stringify({ question: `q-${spec.traceId.slice(0, 8)}-${i}`, context: 'x'.repeat(200) })) },
      { key: 'mlflow.spanOutputs', value: str(JSON.stringify({ answer: `a-${i}` })) },
    ];
    if (i === 0) attributes.push({ key: 'mlflow.traceTag.team', value: str(JSON.stringify(spec.team)) });
    out.push({
      traceId,
      spanId,
      ...(i === 0 ? {} : { parentSpanId: rootId }),
      name: i === 0 ? 'agent' : `step-${i}`,
      kind: 1,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + 900_000n).toString(),
      attributes,
      status: { code: 1 },
    });
  }
  return out;
}

/** One ExportTraceServiceRequest carrying all spans of these traces. */
export function exportRequest(specs: TraceSpec[]): Buffer {
  const message = otlpTypes.request.fromObject({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: str('bench') }] },
        scopeSpans: [{ spans: specs.flatMap(otlpSpans) }],
      },
    ],
  });
  return Buffer.from(otlpTypes.request.encode(message).finish());
}

/** StartTraceV3's body for a trace, as the MLflow client sends it at the trace's end. */
export function startTraceBody(spec: TraceSpec, experimentId: string): string {
  return JSON.stringify({
    trace: {
      trace_info: {
        trace_id: `tr-${spec.traceId}`,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: new Date(spec.startMs).toISOString(),
        execution_duration: `${(spec.spans / 1000 + 0.0009).toFixed(3)}s`,
        state: 'OK',
        trace_metadata: {
          'mlflow.trace_schema.version': '3',
          'mlflow.trace.sizeStats': JSON.stringify({ num_spans: spec.spans }),
        },
        tags: { 'mlflow.traceName': 'agent', team: spec.team },
        request_preview: '{"question": "q"}',
        response_preview: '{"answer": "a"}',
      },
    },
  });
}

/** The g-th seeded trace: deterministic id, time and team. */
export function seededTrace(g: number, spans: number): TraceSpec {
  return { traceId: hex(0xbe_0000_0000_0000_0000_0000_0000_0000n + BigInt(g) * 0x1_0000_0001n, 32), startMs: BASE_TS + g * 10, spans, team: TEAMS[g % TEAMS.length]! };
}

let fresh = 0;
/** A trace with a fresh id for the ingest workload. */
export function freshTrace(spans: number): TraceSpec {
  fresh += 1;
  const id = hex(BigInt(Date.now()) * 0x1_0000_0000n + BigInt(fresh), 24) + hex(BigInt(process.pid) * 65_537n + BigInt(fresh), 8).slice(-8);
  return { traceId: id.slice(-32).padStart(32, 'a'), startMs: BASE_TS + 1_000_000_000 + fresh, spans, team: TEAMS[fresh % TEAMS.length]! };
}

export function searchBody(experimentId: string, filter: string, maxResults: number): string {
  return JSON.stringify({ locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }], filter, max_results: maxResults });
}
