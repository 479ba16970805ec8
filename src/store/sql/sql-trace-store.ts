import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { chunk, compareExpression } from './sql-conditions.ts';
import { dialectOf } from './dialect.ts';
import { keysetQuery, type SortTerm } from './keyset.ts';
import type { SortValue } from '../tracking-store.ts';
import type {
  AssessmentRecord,
  SpanRow,
  TraceComparator,
  TraceCore,
  TraceFilterClause,
  TraceOrderBy,
  TraceRecord,
  TraceSearchQuery,
  TraceState,
  TraceStore,
} from '../trace-store.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Bind-variable budget per `IN (...)` list (SQLite allows 32766, PostgreSQL 65535). */
const ID_CHUNK = 500;

const TRACE_NAME_TAG = 'mlflow.traceName';
const SOURCE_RUN_METADATA = 'mlflow.sourceRun';

/**
 * Traces in the SQL store (SQLite and PostgreSQL). Tags, metadata and assessments are read in
 * one query per table for a whole page of traces; filter clauses on tags and metadata are
 * correlated EXISTS subqueries on the (key, value) indexes, so a trace without the key never
 * matches, MLflow's rule.
 */
export class SqlTraceStore implements TraceStore {
  constructor(
    private readonly db: Db,
    private readonly inTransaction = false,
  ) {}

  async transaction<T>(work: (store: TraceStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return (this.db as Kysely<Database>).transaction().execute((trx) => work(new SqlTraceStore(trx, true)));
  }

  async lockTraces(traceIds: string[]): Promise<void> {
    // SQLite runs one write transaction at a time already. On PostgreSQL, transaction-scoped
    // advisory locks on the ids, taken in sorted order so two writers never deadlock.
    if (dialectOf(this.db as Kysely<unknown>) !== 'postgres') return;
    for (const traceId of [...new Set(traceIds)].sort()) {
      await sql`select pg_advisory_xact_lock(hashtextextended(${traceId}, 0))`.execute(this.db);
    }
  }

  async getTraces(traceIds: string[]): Promise<TraceRecord[]> {
    if (traceIds.length === 0) return [];
    const byId = new Map<string, TraceRecord>();
    for (const ids of chunk([...new Set(traceIds)], ID_CHUNK)) {
      const rows = await this.db.selectFrom('traces').selectAll().where('trace_id', 'in', ids).execute();
      for (const row of rows) {
        byId.set(row.trace_id, {
          traceId: row.trace_id,
          projectId: Number(row.project_id),
          experimentId: String(row.experiment_id),
          requestTime: Number(row.request_time),
          executionDuration: row.execution_duration === null ? null : Number(row.execution_duration),
          state: row.state as TraceState,
          clientRequestId: row.client_request_id,
          requestPreview: row.request_preview,
          responsePreview: row.response_preview,
          tags: {},
          metadata: {},
          assessments: [],
        });
      }
      if (rows.length === 0) continue;
      const found = rows.map((r) => r.trace_id);
      for (const tag of await this.db.selectFrom('trace_tags').selectAll().where('trace_id', 'in', found).execute()) {
        byId.get(tag.trace_id)!.tags[tag.key] = tag.value;
      }
      for (const entry of await this.db.selectFrom('trace_metadata').selectAll().where('trace_id', 'in', found).execute()) {
        byId.get(entry.trace_id)!.metadata[entry.key] = entry.value;
      }
      const assessments = await this.db
        .selectFrom('assessments')
        .selectAll()
        .where('trace_id', 'in', found)
        .orderBy('create_time')
        .orderBy('assessment_id')
        .execute();
      for (const row of assessments) byId.get(row.trace_id)!.assessments.push(assessmentFromRow(row));
    }
    return traceIds.flatMap((id) => {
      const record = byId.get(id);
      return record ? [record] : [];
    });
  }

  async insertTrace(core: TraceCore): Promise<void> {
    await this.db
      .insertInto('traces')
      .values({
        trace_id: core.traceId,
        project_id: core.projectId,
        experiment_id: Number(core.experimentId),
        request_time: core.requestTime,
        execution_duration: core.executionDuration,
        state: core.state,
        client_request_id: core.clientRequestId,
        request_preview: core.requestPreview,
        response_preview: core.responsePreview,
      })
      .execute();
  }

  async updateTrace(traceId: string, changes: Partial<Omit<TraceCore, 'traceId' | 'projectId'>>): Promise<void> {
    const values: Partial<Database['traces']> = {};
    if (changes.experimentId !== undefined) values.experiment_id = Number(changes.experimentId);
    if (changes.requestTime !== undefined) values.request_time = changes.requestTime;
    if (changes.executionDuration !== undefined) values.execution_duration = changes.executionDuration;
    if (changes.state !== undefined) values.state = changes.state;
    if (changes.clientRequestId !== undefined) values.client_request_id = changes.clientRequestId;
    if (changes.requestPreview !== undefined) values.request_preview = changes.requestPreview;
    if (changes.responsePreview !== undefined) values.response_preview = changes.responsePreview;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('traces').set(values).where('trace_id', '=', traceId).execute();
  }

  async setTags(traceId: string, tags: Record<string, string>): Promise<void> {
    await this.upsertKeyValues('trace_tags', traceId, tags);
  }

  async deleteTag(traceId: string, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('trace_tags').where('trace_id', '=', traceId).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async setMetadata(traceId: string, metadata: Record<string, string>): Promise<void> {
    await this.upsertKeyValues('trace_metadata', traceId, metadata);
  }

  private async upsertKeyValues(table: 'trace_tags' | 'trace_metadata', traceId: string, entries: Record<string, string>): Promise<void> {
    const rows = Object.entries(entries).map(([key, value]) => ({ trace_id: traceId, key, value }));
    for (const part of chunk(rows, 300)) {
      await this.db
        .insertInto(table)
        .values(part)
        .onConflict((oc) => oc.columns(['trace_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }))
        .execute();
    }
  }

  async upsertSpans(spans: SpanRow[]): Promise<void> {
    const rows = spans.map((s) => ({
      trace_id: s.traceId,
      span_id: s.spanId,
      parent_span_id: s.parentSpanId,
      name: s.name,
      start_time_ns: s.startTimeNs,
      content: s.content,
    }));
    for (const part of chunk(rows, 150)) {
      await this.db
        .insertInto('spans')
        .values(part)
        .onConflict((oc) =>
          oc.columns(['trace_id', 'span_id']).doUpdateSet({
            parent_span_id: (eb) => eb.ref('excluded.parent_span_id'),
            name: (eb) => eb.ref('excluded.name'),
            start_time_ns: (eb) => eb.ref('excluded.start_time_ns'),
            content: (eb) => eb.ref('excluded.content'),
          }),
        )
        .execute();
    }
  }

  async getSpans(traceIds: string[]): Promise<SpanRow[]> {
    const result: SpanRow[] = [];
    for (const ids of chunk([...new Set(traceIds)], ID_CHUNK)) {
      const rows = await this.db.selectFrom('spans').selectAll().where('trace_id', 'in', ids).execute();
      for (const r of rows) {
        result.push({ traceId: r.trace_id, spanId: r.span_id, parentSpanId: r.parent_span_id, name: r.name, startTimeNs: r.start_time_ns, content: r.content });
      }
    }
    return result;
  }

  async countSpans(traceId: string): Promise<number> {
    const row = await this.db.selectFrom('spans').select((eb) => eb.fn.countAll<number>().as('n')).where('trace_id', '=', traceId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async searchTraceIds(query: TraceSearchQuery): Promise<string[]> {
    return (await this.searchTracePage(query)).ids;
  }

  async searchTracePage(query: TraceSearchQuery): Promise<{ ids: string[]; next?: SortValue[] }> {
    if (query.experimentIds.length === 0) return { ids: [] };
    const conditions: Expression<SqlBool>[] = [
      sql<SqlBool>`traces.project_id = ${query.projectId}`,
      sql<SqlBool>`traces.experiment_id in (${sql.join(query.experimentIds.map((id) => Number(id)))})`,
      ...query.clauses.map(clauseCondition),
    ];
    const { rows, more } = await keysetQuery(this.db, {
      id: sql.ref('traces.trace_id'),
      from: sql`traces`,
      conditions,
      terms: sortTerms(query.orderBy),
      page: query.after ? { offset: 0, snapshot: null, after: query.after } : { offset: query.offset, snapshot: null },
      limit: query.limit,
    });
    const ids = rows.map((r) => String(r.id));
    const last = rows[rows.length - 1];
    return more && last ? { ids, next: last.keys } : { ids };
  }

  async findOldTraces(projectId: number, experimentId: string, maxTimestampMillis: number, maxTraces: number | null): Promise<string[]> {
    let select = this.db
      .selectFrom('traces')
      .select('trace_id')
      .where('project_id', '=', projectId)
      .where('experiment_id', '=', Number(experimentId))
      .where('request_time', '<=', maxTimestampMillis)
      .orderBy('request_time')
      .orderBy('trace_id');
    if (maxTraces !== null) select = select.limit(maxTraces);
    return (await select.execute()).map((r) => r.trace_id);
  }

  async deleteTraces(traceIds: string[]): Promise<number> {
    let deleted = 0;
    for (const ids of chunk([...new Set(traceIds)], ID_CHUNK)) {
      for (const table of ['spans', 'trace_tags', 'trace_metadata', 'assessments', 'trace_run_links'] as const) {
        await this.db.deleteFrom(table).where('trace_id', 'in', ids).execute();
      }
      const result = await this.db.deleteFrom('traces').where('trace_id', 'in', ids).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  async insertAssessment(a: AssessmentRecord): Promise<void> {
    await this.db.insertInto('assessments').values(assessmentRow(a)).execute();
  }

  async updateAssessment(a: AssessmentRecord): Promise<void> {
    const { assessment_id: _id, ...row } = assessmentRow(a);
    await this.db.updateTable('assessments').set(row).where('assessment_id', '=', a.assessmentId).execute();
  }

  async getAssessment(assessmentId: string): Promise<AssessmentRecord | undefined> {
    const row = await this.db.selectFrom('assessments').selectAll().where('assessment_id', '=', assessmentId).executeTakeFirst();
    return row ? assessmentFromRow(row) : undefined;
  }

  async deleteAssessment(assessmentId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('assessments').where('assessment_id', '=', assessmentId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async linkTracesToRun(traceIds: string[], runId: string): Promise<void> {
    const rows = [...new Set(traceIds)].map((traceId) => ({ trace_id: traceId, run_id: runId }));
    for (const part of chunk(rows, 300)) {
      await this.db.insertInto('trace_run_links').values(part).onConflict((oc) => oc.columns(['trace_id', 'run_id']).doNothing()).execute();
    }
  }

  async linkedRuns(traceId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('trace_run_links').select('run_id').where('trace_id', '=', traceId).orderBy('run_id').execute();
    return rows.map((r) => r.run_id);
  }
}

function assessmentRow(a: AssessmentRecord): Database['assessments'] {
  return {
    assessment_id: a.assessmentId,
    trace_id: a.traceId,
    name: a.name,
    create_time: a.createTime,
    last_update_time: a.lastUpdateTime,
    content: JSON.stringify(a.body),
  };
}

function assessmentFromRow(row: Database['assessments']): AssessmentRecord {
  return {
    assessmentId: row.assessment_id,
    traceId: row.trace_id,
    name: row.name,
    createTime: Number(row.create_time),
    lastUpdateTime: Number(row.last_update_time),
    body: JSON.parse(row.content) as Record<string, unknown>,
  };
}

const ATTRIBUTE_COLUMNS: Record<string, RawBuilder<unknown>> = {
  request_id: sql`traces.trace_id`,
  timestamp_ms: sql`traces.request_time`,
  execution_time_ms: sql`traces.execution_duration`,
  end_time_ms: sql`(traces.request_time + traces.execution_duration)`,
  status: sql`traces.state`,
  client_request_id: sql`traces.client_request_id`,
  experiment_id: sql`traces.experiment_id`,
};

type ValueComparator = Exclude<TraceComparator, 'IS NULL' | 'IS NOT NULL'>;

function compare(target: Expression<unknown>, comparator: TraceComparator, value: TraceFilterClause['value']): Expression<SqlBool> {
  if (comparator === 'IS NULL') return sql<SqlBool>`${target} is null`;
  if (comparator === 'IS NOT NULL') return sql<SqlBool>`${target} is not null`;
  return compareExpression(target, comparator as ValueComparator, value as string | number | string[]);
}

/** `exists (a child row with this key whose value matches)`; IS NULL asks that no such row exists. */
function keyValueCondition(table: 'trace_tags' | 'trace_metadata', key: string, comparator: TraceComparator, value: TraceFilterClause['value']): RawBuilder<SqlBool> {
  const t = sql.table(table);
  if (comparator === 'IS NULL') return sql<SqlBool>`not exists (select 1 from ${t} kv where kv.trace_id = traces.trace_id and kv.key = ${key})`;
  if (comparator === 'IS NOT NULL') return sql<SqlBool>`exists (select 1 from ${t} kv where kv.trace_id = traces.trace_id and kv.key = ${key})`;
  return sql<SqlBool>`exists (select 1 from ${t} kv where kv.trace_id = traces.trace_id and kv.key = ${key} and ${compare(sql`kv.value`, comparator, value)})`;
}

function clauseCondition(clause: TraceFilterClause): Expression<SqlBool> {
  if (clause.entity === 'tag') return keyValueCondition('trace_tags', clause.key, clause.comparator, clause.value);
  if (clause.entity === 'metadata') return keyValueCondition('trace_metadata', clause.key, clause.comparator, clause.value);
  if (clause.key === 'name') return keyValueCondition('trace_tags', TRACE_NAME_TAG, clause.comparator, clause.value);
  if (clause.key === 'run_id') {
    // A trace belongs to a run that created it (metadata mlflow.sourceRun) or one it was linked to.
    const linked = sql<SqlBool>`exists (select 1 from trace_run_links l where l.trace_id = traces.trace_id and ${compare(sql`l.run_id`, clause.comparator, clause.value)})`;
    return sql<SqlBool>`(${keyValueCondition('trace_metadata', SOURCE_RUN_METADATA, clause.comparator, clause.value)} or ${linked})`;
  }
  const column = ATTRIBUTE_COLUMNS[clause.key];
  if (!column) throw new Error(`Unsupported trace attribute '${clause.key}' reached the store`);
  return compare(column, clause.comparator, clause.value);
}

/** Order keys whose value may be missing (sorted last whatever the direction, as MLflow does). */
const NULLABLE_ORDER_KEYS = new Set(['execution_time_ms', 'client_request_id', 'name', 'run_id']);

function sortTerms(orderBy: TraceOrderBy[]): SortTerm[] {
  const terms: SortTerm[] = [];
  const seen = new Set<string>();
  const push = (key: string, ascending: boolean) => {
    if (seen.has(key)) return;
    seen.add(key);
    let expression: RawBuilder<unknown> | undefined = ATTRIBUTE_COLUMNS[key];
    // The end time counts a trace without a duration as ending when it started (MLflow's ordering).
    if (key === 'end_time_ms') expression = sql`(traces.request_time + coalesce(traces.execution_duration, 0))`;
    if (key === 'name') expression = sql`(select kv.value from trace_tags kv where kv.trace_id = traces.trace_id and kv.key = ${TRACE_NAME_TAG})`;
    if (key === 'run_id') expression = sql`(select kv.value from trace_metadata kv where kv.trace_id = traces.trace_id and kv.key = ${SOURCE_RUN_METADATA})`;
    if (!expression) throw new Error(`Unsupported trace order key '${key}' reached the store`);
    // Only nullable keys get the nulls-last term: on the default order (request time, id) the
    // index on (experiment, request_time, trace_id) then gives rows in order and LIMIT stops early.
    terms.push({ expression, ascending, nullable: NULLABLE_ORDER_KEYS.has(key) });
  };
  for (const term of orderBy) push(term.key, term.ascending);
  push('timestamp_ms', false);
  push('request_id', true);
  return terms;
}
