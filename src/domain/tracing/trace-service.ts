import { randomUUID } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { currentProjectId } from '../request-context.ts';
import type { TrackingService } from '../tracking/tracking-service.ts';
import type { AssessmentRecord, SpanRow, TraceCore, TraceRecord, TraceState, TraceStore } from '../../store/trace-store.ts';
import type { OtlpSpan } from './otlp.ts';
import { decodedAttribute, mlflowTraceId, nanosToMillis, SPAN_ATTRIBUTE, spanDictFrom, spanRowFrom, type SpanDict } from './spans.ts';
import { parseTraceFilter, parseTraceOrderBy } from './trace-search.ts';
import {
  SPANS_IN_TRACKING_STORE,
  SYSTEM_TRACE_TAGS,
  TRACE_LIMITS,
  TRACE_METADATA,
  TRACE_TAG,
  traceNotFound,
  truncatePreview,
  validateTraceId,
  validateTraceTag,
} from './validation.ts';
import { AssessmentRules, type AssessmentInput } from './assessments.ts';
import { spansFromTraceArtifact } from './artifact-spans.ts';

export interface Clock {
  now(): number;
}

/** What a client says about a trace at its end (StartTraceV3) or in the v2 start/end calls. */
export interface TraceInfoInput {
  traceId: string;
  experimentId: string;
  requestTime: number;
  executionDuration: number | null;
  state: TraceState;
  clientRequestId: string | null;
  requestPreview: string | null;
  responsePreview: string | null;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  assessments: AssessmentInput[];
}

export interface TraceWithSpans {
  info: TraceRecord;
  spans: SpanDict[];
}

export interface TraceServiceOptions {
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Reads a file under an artifact URI (`mlflow-artifacts:/…/traces.json`), undefined when there
   * is none: spans of traces whose client uploaded them there (MLflow 2.x) are served from it.
   */
  readArtifact?: (artifactUri: string) => Promise<string | undefined>;
}

export interface TraceSearchInput {
  experimentIds: string[];
  filter?: string | undefined;
  maxResults?: number | undefined;
  orderBy?: string[] | undefined;
  pageToken?: string | undefined;
}

/** How long `get_trace` waits for spans still being exported (MLflow's server retries 1 s, then 2 s). */
const PARTIAL_RETRY_DELAYS_MS = [1000, 2000];

/**
 * MLflow 3 tracing: trace infos from the client's StartTraceV3 (or the v2 start/end pair), spans
 * from OTLP exports, searches, tags, deletion, run links and assessments. Traces belong to an
 * experiment of the current project; a trace of another project is "not found".
 */
export class TraceService {
  readonly assessments: AssessmentRules;

  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly readArtifact: ((artifactUri: string) => Promise<string | undefined>) | undefined;

  constructor(
    private readonly store: TraceStore,
    private readonly tracking: TrackingService,
    options: TraceServiceOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.readArtifact = options.readArtifact;
    this.assessments = new AssessmentRules(store, (traceId) => this.getTraceInfo(traceId), this.clock);
  }

  /** Spans of a trace the tracking store holds none of, from its `traces.json` artifact. */
  private async artifactSpans(info: TraceRecord): Promise<SpanDict[]> {
    const location = info.tags[TRACE_TAG.artifactLocation];
    if (!this.readArtifact || !location || info.tags[TRACE_TAG.spansLocation] === SPANS_IN_TRACKING_STORE) return [];
    const text = await this.readArtifact(`${location.replace(/\/+$/, '')}/traces.json`).catch(() => undefined);
    return text === undefined ? [] : sortSpans(spansFromTraceArtifact(text));
  }

  /** The experiment, checked to be in this project: its id as stored and its artifact location. */
  private async experiment(experimentId: string): Promise<{ id: string; artifactLocation: string }> {
    const experiment = await this.tracking.getExperiment(experimentId);
    return { id: experiment.experimentId, artifactLocation: experiment.artifactLocation };
  }

  private artifactLocationTag(artifactLocation: string, traceId: string): string {
    return `${artifactLocation.replace(/\/+$/, '')}/traces/${traceId}/artifacts`;
  }

  // ------------------------------------------------------------------ writes

  /** StartTraceV3 (called by the client when the trace ends): creates or completes the trace info. */
  async startTrace(input: TraceInfoInput): Promise<TraceRecord> {
    validateTraceId(input.traceId);
    const experiment = await this.experiment(input.experimentId);
    const tags = clientTags(input.tags);
    const projectId = currentProjectId();
    await this.store.transaction(async (tx) => {
      await tx.lockTraces([input.traceId]);
      const [existing] = await tx.getTraces([input.traceId]);
      if (existing && (existing.projectId !== projectId || existing.experimentId !== experiment.id)) {
        throw MlflowError.invalidParameter(`Trace with ID '${input.traceId}' already exists in another experiment.`);
      }
      const core = {
        experimentId: experiment.id,
        requestTime: input.requestTime,
        executionDuration: input.executionDuration,
        state: input.state,
        clientRequestId: input.clientRequestId,
        requestPreview: input.requestPreview,
        responsePreview: input.responsePreview,
      };
      if (existing) await tx.updateTrace(input.traceId, core);
      else {
        await tx.insertTrace({ traceId: input.traceId, projectId, ...core });
        tags[TRACE_TAG.artifactLocation] = this.artifactLocationTag(experiment.artifactLocation, input.traceId);
      }
      await tx.setTags(input.traceId, tags);
      await tx.setMetadata(input.traceId, { ...input.metadata, [TRACE_METADATA.infoFinalized]: 'true' });
      for (const assessment of input.assessments) await this.assessments.upsertDuringStart(tx, input.traceId, assessment);
    });
    return this.getTraceInfo(input.traceId);
  }

  /**
   * Stores spans received over OTLP for `experimentId`. Spans may come in several requests; a
   * trace info is created from the first ones (times, state of the root span) and completed when
   * the client's StartTraceV3 arrives, whichever comes first.
   */
  async ingestSpans(experimentId: string, spans: OtlpSpan[]): Promise<void> {
    if (spans.length === 0) return;
    if (spans.length > TRACE_LIMITS.spansPerRequest) {
      throw new MlflowError('REQUEST_LIMIT_EXCEEDED', `An OTLP request may carry at most ${TRACE_LIMITS.spansPerRequest} spans; got ${spans.length}.`);
    }
    const experiment = await this.experiment(experimentId);
    const projectId = currentProjectId();
    const byTrace = new Map<string, OtlpSpan[]>();
    for (const span of spans) {
      const traceId = mlflowTraceId(span.traceId);
      const group = byTrace.get(traceId);
      if (group) group.push(span);
      else byTrace.set(traceId, [span]);
    }
    await this.store.transaction(async (tx) => {
      await tx.lockTraces([...byTrace.keys()]);
      const existing = new Map((await tx.getTraces([...byTrace.keys()])).map((t) => [t.traceId, t]));
      const rows: SpanRow[] = [];
      for (const [traceId, group] of byTrace) {
        const trace = existing.get(traceId);
        if (trace && (trace.projectId !== projectId || trace.experimentId !== experiment.id)) {
          throw MlflowError.invalidParameter(`Trace with ID '${traceId}' already exists in another experiment.`);
        }
        const dicts = group.map((span) => spanDictFrom(span));
        group.forEach((span, i) => rows.push(spanRowFrom(span, dicts[i])));
        await this.applySpanAggregates(tx, traceId, trace, group, dicts, experiment, projectId);
      }
      await tx.upsertSpans(rows);
    });
  }

  private async applySpanAggregates(
    tx: TraceStore,
    traceId: string,
    trace: TraceRecord | undefined,
    group: OtlpSpan[],
    dicts: SpanDict[],
    experiment: { id: string; artifactLocation: string },
    projectId: number,
  ): Promise<void> {
    const minStart = Math.min(...group.map((s) => nanosToMillis(s.startTimeUnixNano)));
    const ends = group.flatMap((s) => (s.endTimeUnixNano === null ? [] : [nanosToMillis(s.endTimeUnixNano)]));
    const maxEnd = ends.length > 0 ? Math.max(...ends) : null;
    const rootIndex = group.findIndex((s) => s.parentSpanId === null);
    const root = rootIndex >= 0 ? group[rootIndex] : undefined;
    const rootDict = rootIndex >= 0 ? dicts[rootIndex] : undefined;
    const rootState: TraceState | null = root ? stateOfStatus(root.status.code) : null;
    const tags: Record<string, string> = { [TRACE_TAG.spansLocation]: SPANS_IN_TRACKING_STORE };

    if (!trace) {
      await tx.insertTrace({
        traceId,
        projectId,
        experimentId: experiment.id,
        requestTime: minStart,
        executionDuration: maxEnd === null ? null : maxEnd - minStart,
        state: rootState ?? 'IN_PROGRESS',
        clientRequestId: null,
        requestPreview: null,
        responsePreview: null,
      });
      tags[TRACE_TAG.artifactLocation] = this.artifactLocationTag(experiment.artifactLocation, traceId);
    } else {
      const changes: Partial<TraceCore> = {};
      // Times come from the spans until the client has finalized the trace info.
      if (trace.metadata[TRACE_METADATA.infoFinalized] !== 'true') {
        const start = Math.min(trace.requestTime, minStart);
        const previousEnd = trace.executionDuration === null ? null : trace.requestTime + trace.executionDuration;
        const end = maxEnd === null ? previousEnd : previousEnd === null ? maxEnd : Math.max(previousEnd, maxEnd);
        changes.requestTime = start;
        changes.executionDuration = end === null ? null : end - start;
      }
      if ((trace.state === 'IN_PROGRESS' || trace.state === 'STATE_UNSPECIFIED') && rootState) changes.state = rootState;
      if (Object.keys(changes).length > 0) await tx.updateTrace(traceId, changes);
    }

    if (root && rootDict) {
      // The root span names the trace and gives its previews when the client did not (plain OTel SDKs).
      const previews: Partial<TraceCore> = {};
      if (!trace?.requestPreview) previews.requestPreview = previewOf(rootDict.attributes[SPAN_ATTRIBUTE.inputs]);
      if (!trace?.responsePreview) previews.responsePreview = previewOf(rootDict.attributes[SPAN_ATTRIBUTE.outputs]);
      if (previews.requestPreview || previews.responsePreview) await tx.updateTrace(traceId, previews);
      if (!trace?.tags[TRACE_TAG.traceName]) tags[TRACE_TAG.traceName] = root.name;
      for (const [key, stored] of Object.entries(rootDict.attributes)) {
        if (!key.startsWith(SPAN_ATTRIBUTE.traceTagPrefix)) continue;
        const tagKey = key.slice(SPAN_ATTRIBUTE.traceTagPrefix.length);
        const value = decodedAttribute(stored);
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        if (SYSTEM_TRACE_TAGS.has(tagKey) || tagKey === '' || tagKey.length > TRACE_LIMITS.tagKey || text.length > TRACE_LIMITS.tagValue) continue;
        tags[tagKey] = text;
      }
    }
    await tx.setTags(traceId, tags);
  }

  /** MLflow 2.x StartTrace: a new trace in progress, with a server-made id. */
  async startTraceV2(input: { experimentId: string; timestampMs: number; metadata: Record<string, string>; tags: Record<string, string> }): Promise<TraceRecord> {
    const experiment = await this.experiment(input.experimentId);
    const traceId = `tr-${randomUUID().replace(/-/g, '')}`;
    const tags = clientTags(input.tags);
    tags[TRACE_TAG.artifactLocation] = this.artifactLocationTag(experiment.artifactLocation, traceId);
    await this.store.transaction(async (tx) => {
      await tx.insertTrace({
        traceId,
        projectId: currentProjectId(),
        experimentId: experiment.id,
        requestTime: input.timestampMs,
        executionDuration: null,
        state: 'IN_PROGRESS',
        clientRequestId: null,
        requestPreview: null,
        responsePreview: null,
      });
      await tx.setTags(traceId, tags);
      await tx.setMetadata(traceId, input.metadata);
    });
    return this.getTraceInfo(traceId);
  }

  /** MLflow 2.x EndTrace. */
  async endTraceV2(input: { traceId: string; timestampMs: number; state: TraceState; metadata: Record<string, string>; tags: Record<string, string> }): Promise<TraceRecord> {
    const trace = await this.getTraceInfo(input.traceId);
    await this.store.transaction(async (tx) => {
      await tx.updateTrace(trace.traceId, { executionDuration: Math.max(0, input.timestampMs - trace.requestTime), state: input.state });
      await tx.setTags(trace.traceId, clientTags(input.tags));
      await tx.setMetadata(trace.traceId, input.metadata);
    });
    return this.getTraceInfo(trace.traceId);
  }

  async setTag(traceId: string, key: string, value: string): Promise<void> {
    validateTraceTag(key, value);
    if (SYSTEM_TRACE_TAGS.has(key)) throw MlflowError.invalidParameter(`Trace tag '${key}' is managed by the server and cannot be set.`);
    const trace = await this.getTraceInfo(traceId);
    await this.store.setTags(trace.traceId, { [key]: value });
  }

  async deleteTag(traceId: string, key: string): Promise<void> {
    if (SYSTEM_TRACE_TAGS.has(key)) throw MlflowError.invalidParameter(`Trace tag '${key}' is managed by the server and cannot be deleted.`);
    const trace = await this.getTraceInfo(traceId);
    const deleted = await this.store.deleteTag(trace.traceId, key);
    if (!deleted) throw MlflowError.notFound(`No trace tag with key '${key}' for trace with ID '${traceId}'`);
  }

  /**
   * Deletes traces of an experiment: the ones named, or (max_timestamp_millis) those older than a
   * time, oldest first, at most max_traces. Returns how many were deleted.
   */
  async deleteTraces(input: { experimentId: string; maxTimestampMillis?: number | undefined; maxTraces?: number | undefined; traceIds?: string[] | undefined }): Promise<number> {
    const byIds = input.traceIds !== undefined && input.traceIds.length > 0;
    const byTime = input.maxTimestampMillis !== undefined;
    if (byIds === byTime) throw MlflowError.invalidParameter('Exactly one of max_timestamp_millis and request_ids must be specified.');
    if (byIds && input.maxTraces !== undefined) throw MlflowError.invalidParameter('max_traces can\'t be specified if request_ids is specified.');
    if (input.maxTraces !== undefined && input.maxTraces <= 0) {
      throw MlflowError.invalidParameter(`max_traces must be a positive integer, received ${input.maxTraces}.`);
    }
    const experiment = await this.experiment(input.experimentId);
    const projectId = currentProjectId();
    return this.store.transaction(async (tx) => {
      let ids: string[];
      if (byIds) {
        const found = await tx.getTraces(input.traceIds!);
        ids = found.filter((t) => t.projectId === projectId && t.experimentId === experiment.id).map((t) => t.traceId);
      } else {
        ids = await tx.findOldTraces(projectId, experiment.id, input.maxTimestampMillis!, input.maxTraces ?? null);
      }
      return tx.deleteTraces(ids);
    });
  }

  async linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    if (traceIds.length > TRACE_LIMITS.linkToRunMaxTraces) {
      throw MlflowError.invalidParameter(`Cannot link more than ${TRACE_LIMITS.linkToRunMaxTraces} traces to a run in a single request. Provided ${traceIds.length} traces.`);
    }
    if (traceIds.length === 0) return;
    const run = await this.tracking.getRun(runId);
    const found = await this.store.getTraces(traceIds);
    const projectId = currentProjectId();
    for (const id of traceIds) {
      const trace = found.find((t) => t.traceId === id && t.projectId === projectId);
      if (!trace) throw traceNotFound(id);
      if (trace.experimentId !== run.info.experimentId) {
        throw MlflowError.invalidParameter(`Trace '${id}' belongs to experiment ${trace.experimentId} but run '${runId}' belongs to experiment ${run.info.experimentId}.`);
      }
    }
    await this.store.linkTracesToRun(traceIds, run.info.runId);
  }

  // ------------------------------------------------------------------ reads

  async getTraceInfo(traceId: string): Promise<TraceRecord> {
    const [trace] = await this.store.getTraces([traceId]);
    if (!trace || trace.projectId !== currentProjectId()) throw traceNotFound(traceId);
    return trace;
  }

  /** Trace infos of those ids that exist in this project (optionally in these experiments), in the order asked. */
  async batchGetTraceInfos(traceIds: string[], experimentIds?: string[]): Promise<TraceRecord[]> {
    const projectId = currentProjectId();
    const allowed = experimentIds && experimentIds.length > 0 ? new Set(experimentIds) : null;
    return (await this.store.getTraces(traceIds)).filter((t) => t.projectId === projectId && (allowed === null || allowed.has(t.experimentId)));
  }

  async batchGetTraces(traceIds: string[], experimentIds?: string[]): Promise<TraceWithSpans[]> {
    const infos = await this.batchGetTraceInfos(traceIds, experimentIds);
    const rows = await this.store.getSpans(infos.map((t) => t.traceId));
    return Promise.all(
      infos.map(async (info) => {
        const own = rows.filter((s) => s.traceId === info.traceId);
        return { info, spans: own.length > 0 ? orderedSpans(own) : await this.artifactSpans(info) };
      }),
    );
  }

  /**
   * A trace with its spans. Unless `allowPartial`, a trace whose spans are still arriving (fewer
   * than its size stats announce) is waited for briefly, then reported as not fully exported.
   */
  async getTrace(traceId: string, allowPartial: boolean): Promise<TraceWithSpans> {
    for (let attempt = 0; ; attempt += 1) {
      const info = await this.getTraceInfo(traceId);
      const rows = await this.store.getSpans([traceId]);
      const spans = rows.length > 0 ? orderedSpans(rows) : await this.artifactSpans(info);
      const expected = expectedSpanCount(info);
      if (allowPartial || expected === null || spans.length >= expected) return { info, spans };
      const delay = PARTIAL_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw MlflowError.notFound(`Trace with ID ${traceId} is not fully exported yet, please try again later.`);
      await this.sleep(delay);
    }
  }

  async searchTraces(input: TraceSearchInput): Promise<{ traces: TraceRecord[]; nextPageToken?: string }> {
    const maxResults = input.maxResults ?? TRACE_LIMITS.searchMaxResultsDefault;
    if (!Number.isInteger(maxResults) || maxResults <= 0) {
      throw MlflowError.invalidParameter(`Invalid value for request parameter max_results. It must be a positive integer, but got ${maxResults}`);
    }
    if (maxResults > TRACE_LIMITS.searchMaxResults) {
      throw MlflowError.invalidParameter(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be at most ${TRACE_LIMITS.searchMaxResults}.`);
    }
    const clauses = parseTraceFilter(input.filter);
    const orderBy = parseTraceOrderBy(input.orderBy);
    const position = decodePageToken(input.pageToken);
    const experimentIds: string[] = [];
    for (const id of input.experimentIds) {
      try {
        experimentIds.push((await this.experiment(id)).id);
      } catch (error) {
        // Experiments of other projects (or none) hold no traces for this caller.
        if (!(error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST')) throw error;
      }
    }
    const page = await this.store.searchTracePage({
      projectId: currentProjectId(),
      experimentIds,
      clauses,
      orderBy,
      offset: position.offset,
      limit: maxResults,
      ...(position.after ? { after: position.after } : {}),
    });
    const traces = await this.store.getTraces(page.ids);
    return page.next ? { traces, nextPageToken: encodePageToken({ offset: 0, snapshot: null, after: page.next }) } : { traces };
  }
}

function clientTags(tags: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (SYSTEM_TRACE_TAGS.has(key)) continue;
    validateTraceTag(key, value);
    kept[key] = value;
  }
  return kept;
}

function stateOfStatus(code: string): TraceState | null {
  if (code === 'STATUS_CODE_OK') return 'OK';
  if (code === 'STATUS_CODE_ERROR') return 'ERROR';
  // An unset root status (plain OTel SDKs) still means the root span ended.
  return 'OK';
}

/** The JSON text of a root span's inputs or outputs, as MLflow's previews hold it. */
function previewOf(stored: string | undefined): string | null {
  if (stored === undefined) return null;
  return truncatePreview(stored);
}

function expectedSpanCount(info: TraceRecord): number | null {
  const stats = info.metadata[TRACE_METADATA.sizeStats];
  if (!stats) return null;
  try {
    const parsed = JSON.parse(stats) as { num_spans?: unknown };
    return typeof parsed.num_spans === 'number' ? parsed.num_spans : null;
  } catch {
    return null;
  }
}

/** Root spans first, then by start time, as MLflow returns them. */
export function sortSpans(spans: SpanDict[]): SpanDict[] {
  return [...spans].sort((a, b) => {
    const rootA = a.parent_span_id === null ? 0 : 1;
    const rootB = b.parent_span_id === null ? 0 : 1;
    if (rootA !== rootB) return rootA - rootB;
    const ta = BigInt(a.start_time_unix_nano);
    const tb = BigInt(b.start_time_unix_nano);
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}

function orderedSpans(rows: SpanRow[]): SpanDict[] {
  return sortSpans(rows.map((row) => JSON.parse(row.content) as SpanDict));
}
