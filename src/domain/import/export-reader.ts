import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.ts';
import type { ModelVersionRecord, RegisteredModelRecord, RegistryStore } from '../../store/registry-store.ts';
import type { ExperimentRecord, LoggedModelRecord, MetricHistoryQuery, MetricRecord, PagePosition, RunRecord, SortValue, TrackingStore } from '../../store/tracking-store.ts';
import type { TraceRecord, TraceStore } from '../../store/trace-store.ts';
import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import { spansFromTraceArtifact } from '../tracing/artifact-spans.ts';
import type { SpanDict } from '../tracing/spans.ts';
import { sortSpans } from '../tracing/trace-service.ts';
import { SPANS_IN_TRACKING_STORE, TRACE_TAG } from '../tracing/validation.ts';

/** A trace as it is exported: its record and its spans (roots first, then by start time). */
export interface ExportedTrace {
  info: TraceRecord;
  spans: SpanDict[];
}

const TRACE_PAGE = 200;
/** A `traces.json` larger than this is not read (its trace is exported without spans). */
const MAX_TRACE_ARTIFACT_BYTES = 64 * 1024 * 1024;

/**
 * Reads one Trove project out of its stores for `trove export`: every experiment (deleted ones
 * too), run, full metric history, logged model, registered model and version, trace, and the files
 * below each run's and logged model's artifact root. Everything is paged; nothing is held whole.
 */
export class ExportReader {
  constructor(
    private readonly stores: { tracking: TrackingStore; registry: RegistryStore; artifacts: ArtifactStore; traces: TraceStore },
    private readonly projectId: number,
  ) {}

  async *experiments(): AsyncIterable<ExperimentRecord> {
    let page: PagePosition | undefined = { offset: 0, snapshot: null };
    while (page) {
      const result = await this.stores.tracking.searchExperiments({ projectId: this.projectId, filter: [], orderBy: [], viewType: 'ALL', maxResults: 1000, page });
      yield* result.items;
      page = result.next;
    }
  }

  async *runs(experimentId: string): AsyncIterable<RunRecord> {
    let page: PagePosition | undefined = { offset: 0, snapshot: null };
    while (page) {
      const result = await this.stores.tracking.searchRuns({ experimentIds: [experimentId], filter: [], orderBy: [], viewType: 'ALL', maxResults: 1000, page });
      yield* result.items;
      page = result.next;
    }
  }

  async *metricHistory(run: RunRecord, key: string): AsyncIterable<MetricRecord> {
    const size = 25_000;
    // Keyset pages: each page seeks past the last point read, instead of an offset that walks
    // every earlier point again (quadratic over a long series).
    let after: MetricHistoryQuery['after'];
    for (;;) {
      const points = await this.stores.tracking.getMetricHistory({ runPk: run.info.pk, key, maxResults: size, offset: 0, after });
      yield* points;
      const last = points[points.length - 1];
      if (points.length < size || last === undefined) return;
      after = { step: last.step, timestamp: last.timestamp, value: last.value };
    }
  }

  /** Every point of one metric of the run with this id (none when there is no such run). */
  async historyOf(runId: string, key: string): Promise<MetricRecord[]> {
    const info = await this.stores.tracking.getRunInfo(runId);
    if (!info) return [];
    const points: MetricRecord[] = [];
    for await (const p of this.metricHistory({ info } as RunRecord, key)) points.push(p);
    return points;
  }

  /** A file below an artifact root served by Trove's proxy. */
  async open(artifactUri: string, path: string): Promise<{ stream: Readable; size: number | null } | undefined> {
    const base = proxyPathFromArtifactUri(artifactUri);
    if (base === undefined || base === '') return undefined;
    const object = await this.stores.artifacts.get(`${base}/${path}`);
    return object ? { stream: object.stream, size: object.size ?? null } : undefined;
  }

  async *loggedModels(experimentIds: string[]): AsyncIterable<LoggedModelRecord> {
    if (experimentIds.length === 0) return;
    let page: PagePosition | undefined = { offset: 0, snapshot: null };
    while (page) {
      const result = await this.stores.tracking.searchLoggedModels({ experimentIds, filter: [], orderBy: [], datasets: [], maxResults: 1000, page });
      yield* result.items;
      page = result.next;
    }
  }

  async *registeredModels(): AsyncIterable<RegisteredModelRecord> {
    let page: PagePosition | undefined = { offset: 0, snapshot: null };
    while (page) {
      const result = await this.stores.registry.searchRegisteredModels({ projectId: this.projectId, filter: [], excludePrompts: false, orderBy: [], maxResults: 1000, page });
      yield* result.items;
      page = result.next;
    }
  }

  async modelVersions(name: string): Promise<ModelVersionRecord[]> {
    const versions: ModelVersionRecord[] = [];
    let page: PagePosition | undefined = { offset: 0, snapshot: null };
    while (page) {
      const result = await this.stores.registry.searchModelVersions({
        projectId: this.projectId,
        filter: [{ entity: 'attribute', key: 'name', comparator: '=', value: name }],
        excludePrompts: false,
        orderBy: [],
        maxResults: 10_000,
        page,
      });
      versions.push(...result.items.filter((v) => v.name === name));
      page = result.next;
    }
    return versions;
  }

  /** One page of the ids of an experiment's traces; `after` is the previous page's `next`. */
  async traceIdPage(experimentId: string, after?: SortValue[]): Promise<{ ids: string[]; next?: SortValue[] }> {
    return this.stores.traces.searchTracePage({
      projectId: this.projectId,
      experimentIds: [experimentId],
      clauses: [],
      orderBy: [],
      offset: 0,
      limit: TRACE_PAGE,
      ...(after ? { after } : {}),
    });
  }

  /** The info (tags, state, assessments; no spans) of these traces of this project, in the order asked. */
  async traceInfos(traceIds: string[]): Promise<TraceRecord[]> {
    if (traceIds.length === 0) return [];
    const infos = new Map((await this.stores.traces.getTraces(traceIds)).filter((t) => t.projectId === this.projectId).map((t) => [t.traceId, t]));
    return traceIds.flatMap((id) => (infos.has(id) ? [infos.get(id)!] : []));
  }

  /** These traces (of this project) with their spans, in the order asked. */
  async tracesById(traceIds: string[]): Promise<ExportedTrace[]> {
    if (traceIds.length === 0) return [];
    const infos = new Map((await this.stores.traces.getTraces(traceIds)).filter((t) => t.projectId === this.projectId).map((t) => [t.traceId, t]));
    const spans = new Map<string, SpanDict[]>();
    for (const row of await this.stores.traces.getSpans([...infos.keys()])) {
      const list = spans.get(row.traceId) ?? [];
      list.push(JSON.parse(row.content) as SpanDict);
      spans.set(row.traceId, list);
    }
    const out: ExportedTrace[] = [];
    for (const id of traceIds) {
      const info = infos.get(id);
      if (!info) continue;
      out.push({ info, spans: sortSpans(spans.get(id) ?? (await this.artifactSpans(info))) });
    }
    return out;
  }

  /** Every trace of an experiment with its spans, page by page. */
  async *traces(experimentId: string): AsyncIterable<ExportedTrace> {
    let after: SortValue[] | undefined;
    do {
      const page = await this.traceIdPage(experimentId, after);
      yield* await this.tracesById(page.ids);
      after = page.next;
    } while (after);
  }

  /** Spans an MLflow 2.x client uploaded as the trace's `traces.json` artifact (none in the store). */
  private async artifactSpans(info: TraceRecord): Promise<SpanDict[]> {
    const location = info.tags[TRACE_TAG.artifactLocation];
    if (!location || info.tags[TRACE_TAG.spansLocation] === SPANS_IN_TRACKING_STORE) return [];
    const base = proxyPathFromArtifactUri(location);
    if (base === undefined || base === '') return [];
    const object = await this.stores.artifacts.get(`${base}/traces.json`).catch(() => undefined);
    if (!object) return [];
    if ((object.size ?? 0) > MAX_TRACE_ARTIFACT_BYTES) {
      object.stream.destroy();
      return [];
    }
    const chunks: Buffer[] = [];
    for await (const chunk of object.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return spansFromTraceArtifact(Buffer.concat(chunks).toString('utf8'));
  }

  /** Every file below an artifact root served by Trove's proxy, as paths relative to it. */
  async *files(artifactUri: string): AsyncIterable<{ path: string; storePath: string; size: number }> {
    const base = proxyPathFromArtifactUri(artifactUri);
    if (base === undefined || base === '') return;
    yield* this.walk(base, '');
  }

  private async *walk(base: string, relative: string): AsyncIterable<{ path: string; storePath: string; size: number }> {
    const dir = relative === '' ? base : `${base}/${relative}`;
    for (const entry of await this.stores.artifacts.list(dir)) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDir) yield* this.walk(base, child);
      else yield { path: child, storePath: `${base}/${child}`, size: entry.size ?? 0 };
    }
  }
}

