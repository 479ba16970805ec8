import type { SortValue } from './tracking-store.ts';
/**
 * The persistence contract for MLflow 3 traces: trace infos with tags and request metadata,
 * spans, assessments and run links. The SQL implementation serves SQLite and PostgreSQL; the
 * tracing service (src/domain/tracing) holds the rules and calls these methods, inside
 * `transaction()` when several must succeed or fail together.
 */

export type TraceState = 'OK' | 'ERROR' | 'IN_PROGRESS' | 'STATE_UNSPECIFIED';

/** The columns of one trace, without its key/value children. */
export interface TraceCore {
  traceId: string;
  projectId: number;
  experimentId: string;
  /** Start of the trace, ms since the epoch. */
  requestTime: number;
  /** ms; null while unknown (no end seen yet). */
  executionDuration: number | null;
  state: TraceState;
  clientRequestId: string | null;
  requestPreview: string | null;
  responsePreview: string | null;
}

export interface AssessmentRecord {
  assessmentId: string;
  traceId: string;
  name: string;
  createTime: number;
  lastUpdateTime: number;
  /** The assessment as MLflow's wire shape (snake_case), ids and times included. */
  body: Record<string, unknown>;
}

export interface TraceRecord extends TraceCore {
  tags: Record<string, string>;
  metadata: Record<string, string>;
  assessments: AssessmentRecord[];
}

/** One stored span: MLflow's span dict, plus the columns lookups need. */
export interface SpanRow {
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  parentSpanId: string | null;
  name: string;
  /** Decimal nanoseconds (beyond 2^53, so text). */
  startTimeNs: string;
  /** JSON of the span dict. */
  content: string;
}

export type TraceComparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

/** A validated search clause (src/domain/tracing/trace-search.ts makes them). */
export type TraceFilterClause =
  | {
      entity: 'attribute';
      /** A trace column, or `name` / `run_id` which the store maps to a tag / metadata / link. */
      key: 'request_id' | 'timestamp_ms' | 'execution_time_ms' | 'end_time_ms' | 'status' | 'client_request_id' | 'name' | 'run_id';
      comparator: TraceComparator;
      value: string | number | string[] | null;
    }
  | { entity: 'tag' | 'metadata'; key: string; comparator: TraceComparator; value: string | null };

export interface TraceOrderBy {
  key: 'timestamp_ms' | 'execution_time_ms' | 'end_time_ms' | 'status' | 'request_id' | 'experiment_id' | 'name' | 'run_id';
  ascending: boolean;
}

export interface TraceSearchQuery {
  projectId: number;
  experimentIds: string[];
  clauses: TraceFilterClause[];
  orderBy: TraceOrderBy[];
  /** Rows to skip: only for page tokens written before keyset paging. */
  offset: number;
  limit: number;
  /** Keyset position: the sort key values of the previous page's last trace (ending with its id). */
  after?: SortValue[];
}

export interface TraceStore {
  transaction<T>(work: (store: TraceStore) => Promise<T>): Promise<T>;

  /**
   * Inside a transaction: waits until no other transaction writes these traces, and keeps them
   * until this one ends. The spans of a trace and its StartTraceV3 may reach different server
   * processes at the same moment; without this both would see "no trace yet" and insert it.
   */
  lockTraces(traceIds: string[]): Promise<void>;
  /** Trace rows (with children) for the ids that exist, in the order asked. */
  getTraces(traceIds: string[]): Promise<TraceRecord[]>;
  insertTrace(core: TraceCore): Promise<void>;
  updateTrace(traceId: string, changes: Partial<Omit<TraceCore, 'traceId' | 'projectId'>>): Promise<void>;
  setTags(traceId: string, tags: Record<string, string>): Promise<void>;
  /** Whether the tag existed. */
  deleteTag(traceId: string, key: string): Promise<boolean>;
  setMetadata(traceId: string, metadata: Record<string, string>): Promise<void>;

  /** Inserts spans; a span already stored (same trace and span id) is replaced. */
  upsertSpans(spans: SpanRow[]): Promise<void>;
  getSpans(traceIds: string[]): Promise<SpanRow[]>;
  countSpans(traceId: string): Promise<number>;

  /** Trace ids of one page, in order. */
  searchTraceIds(query: TraceSearchQuery): Promise<string[]>;
  /** One page of `limit` trace ids and, when more follow, the sort key values to continue after. */
  searchTracePage(query: TraceSearchQuery): Promise<{ ids: string[]; next?: SortValue[] }>;
  /** Ids of traces of an experiment older than `maxTimestampMillis`, oldest first, at most `maxTraces`. */
  findOldTraces(projectId: number, experimentId: string, maxTimestampMillis: number, maxTraces: number | null): Promise<string[]>;
  /** Deletes traces with their spans, tags, metadata, assessments and links; returns how many existed. */
  deleteTraces(traceIds: string[]): Promise<number>;

  insertAssessment(assessment: AssessmentRecord): Promise<void>;
  updateAssessment(assessment: AssessmentRecord): Promise<void>;
  getAssessment(assessmentId: string): Promise<AssessmentRecord | undefined>;
  deleteAssessment(assessmentId: string): Promise<boolean>;

  linkTracesToRun(traceIds: string[], runId: string): Promise<void>;
  linkedRuns(traceId: string): Promise<string[]>;
}
