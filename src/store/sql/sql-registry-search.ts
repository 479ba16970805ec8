import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { PagePosition, StoreFilterClause, StoreOrderBy } from '../tracking-store.ts';
import { PROMPT_TAG_KEY, type ModelVersionSearchQuery, type RegisteredModelSearchQuery } from '../registry-store.ts';
import { compareExpression } from './sql-conditions.ts';
import { keysetQuery, nextPosition, type KeysetRow, type SortTerm } from './keyset.ts';
import type { RegistryDb } from './registry-schema.ts';

/**
 * SQL for `registered-models/search` and `model-versions/search`. The domain hands over
 * validated clauses; each becomes a parameterised condition. Tag clauses are correlated EXISTS
 * subqueries, so an entity lacking the tag never matches (MLflow's rule, `!=` included); the one
 * exception, the prompt tag the 3.x client appends to every search, the domain has already turned
 * into `excludePrompts`.
 *
 * Paging: keyset (keyset.ts) plus a snapshot (the highest row id when page one was read), as for
 * the tracking searches, so rows created while a client pages never shift the later pages.
 */

const MODEL_COLUMNS: Record<string, string> = {
  name: 'rm.name',
  creation_timestamp: 'rm.creation_timestamp',
  last_updated_timestamp: 'rm.last_updated_timestamp',
};

const VERSION_COLUMNS: Record<string, string> = {
  name: 'rm.name',
  version_number: 'mv.version',
  run_id: 'mv.run_id',
  source_path: 'mv.source',
  creation_timestamp: 'mv.creation_timestamp',
  last_updated_timestamp: 'mv.last_updated_timestamp',
};

function column(columns: Record<string, string>, key: string): RawBuilder<unknown> {
  const name = columns[key];
  if (!name) throw new Error(`Unsupported registry attribute '${key}' reached the store`);
  return sql.ref(name);
}

/** Columns that can hold NULL (they sort last in both directions); the others are NOT NULL. */
const NULLABLE_COLUMNS = new Set(['mv.run_id']);

function term(columns: Record<string, string>, key: string, ascending: boolean): SortTerm {
  return { expression: column(columns, key), ascending, nullable: NULLABLE_COLUMNS.has(columns[key] ?? '') };
}

/** A model is a prompt when it, or (as upstream checks) any of its versions, is tagged so. */
function notAPrompt(modelRef: string): RawBuilder<SqlBool> {
  const model = sql.ref(modelRef);
  return sql<SqlBool>`not exists (select 1 from registered_model_tags pt where pt.registered_model_id = ${model}
      and pt.key = ${PROMPT_TAG_KEY} and pt.value = 'true')
    and not exists (select 1 from model_version_tags pvt inner join model_versions pv on pv.id = pvt.model_version_id
      where pv.registered_model_id = ${model} and pvt.key = ${PROMPT_TAG_KEY} and pvt.value = 'true')`;
}

function page(rows: KeysetRow[], more: boolean, snapshot: number): { pks: number[]; next?: PagePosition } {
  const pks = rows.map((r) => Number(r.id));
  const next = nextPosition(rows, more, snapshot);
  return next ? { pks, next } : { pks };
}

async function maxId(db: RegistryDb, table: 'registered_models' | 'model_versions'): Promise<number> {
  const result = await sql<{ max_id: number | null }>`select max(id) as max_id from ${sql.table(table)}`.execute(db);
  return Number(result.rows[0]?.max_id ?? 0);
}

// -------------------------------------------------------------------- registered models

export async function searchRegisteredModelPks(db: RegistryDb, query: RegisteredModelSearchQuery): Promise<{ pks: number[]; next?: PagePosition }> {
  const snapshot = query.page.snapshot ?? (await maxId(db, 'registered_models'));
  const conditions: Expression<SqlBool>[] = [sql<SqlBool>`rm.project_id = ${query.projectId}`, sql<SqlBool>`rm.id <= ${snapshot}`];
  for (const clause of query.filter) conditions.push(modelClause(clause));
  if (query.excludePrompts) conditions.push(notAPrompt('rm.id'));

  const terms = query.orderBy.map((o) => term(MODEL_COLUMNS, o.key, o.ascending));
  if (!query.orderBy.some((o) => o.key === 'name')) terms.push(term(MODEL_COLUMNS, 'name', true));
  terms.push({ expression: sql.ref('rm.id'), ascending: true, nullable: false });

  const { rows, more } = await keysetQuery(db, {
    id: sql.ref('rm.id'),
    from: sql`registered_models rm`,
    conditions,
    terms,
    page: query.page,
    limit: query.maxResults,
  });
  return page(rows, more, snapshot);
}

function modelClause(clause: StoreFilterClause): Expression<SqlBool> {
  if (clause.entity === 'tag') {
    return sql<SqlBool>`exists (select 1 from registered_model_tags t where t.registered_model_id = rm.id
      and t.key = ${clause.key} and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`;
  }
  return compareExpression(column(MODEL_COLUMNS, clause.key), clause.comparator, clause.value);
}

// -------------------------------------------------------------------- model versions

export async function searchModelVersionPks(db: RegistryDb, query: ModelVersionSearchQuery): Promise<{ pks: number[]; next?: PagePosition }> {
  const snapshot = query.page.snapshot ?? (await maxId(db, 'model_versions'));
  const conditions: Expression<SqlBool>[] = [
    sql<SqlBool>`rm.project_id = ${query.projectId}`,
    sql<SqlBool>`mv.id <= ${snapshot}`,
    sql<SqlBool>`mv.deleted_time is null`,
  ];
  for (const clause of query.filter) conditions.push(versionClause(clause));
  if (query.excludePrompts) conditions.push(notAPrompt('rm.id'));

  const orderBy: StoreOrderBy[] =
    query.orderBy.length > 0 ? query.orderBy : [{ entity: 'attribute', key: 'last_updated_timestamp', ascending: false }];
  const terms = orderBy.map((o) => term(VERSION_COLUMNS, o.key, o.ascending));
  if (!orderBy.some((o) => o.key === 'name')) terms.push(term(VERSION_COLUMNS, 'name', true));
  // Version numbers are integers in the database, so "10" sorts after "9".
  if (!orderBy.some((o) => o.key === 'version_number')) terms.push(term(VERSION_COLUMNS, 'version_number', false));
  terms.push({ expression: sql.ref('mv.id'), ascending: true, nullable: false });

  const { rows, more } = await keysetQuery(db, {
    id: sql.ref('mv.id'),
    from: sql`model_versions mv inner join registered_models rm on rm.id = mv.registered_model_id`,
    conditions,
    terms,
    page: query.page,
    limit: query.maxResults,
  });
  return page(rows, more, snapshot);
}

function versionClause(clause: StoreFilterClause): Expression<SqlBool> {
  if (clause.entity === 'tag') {
    return sql<SqlBool>`exists (select 1 from model_version_tags t where t.model_version_id = mv.id
      and t.key = ${clause.key} and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`;
  }
  return compareExpression(column(VERSION_COLUMNS, clause.key), clause.comparator, clause.value);
}
