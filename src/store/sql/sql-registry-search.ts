import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { PagePosition, StoreFilterClause, StoreOrderBy } from '../tracking-store.ts';
import { PROMPT_TAG_KEY, type ModelVersionSearchQuery, type RegisteredModelSearchQuery } from '../registry-store.ts';
import { compareExpression } from './sql-conditions.ts';
import type { RegistryDb } from './registry-schema.ts';

/**
 * SQL for `registered-models/search` and `model-versions/search`. The domain hands over
 * validated clauses; each becomes a parameterised condition. Tag clauses are correlated EXISTS
 * subqueries, so an entity lacking the tag never matches (MLflow's rule, `!=` included); the one
 * exception, the prompt tag the 3.x client appends to every search, the domain has already turned
 * into `excludePrompts`.
 *
 * Paging: offset plus a snapshot (the highest row id when page one was read), as for the
 * tracking searches, so rows created while a client pages never shift the later pages.
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

function direction(ascending: boolean): RawBuilder<unknown> {
  return sql.raw(ascending ? 'asc' : 'desc');
}

/** A model is a prompt when it, or (as upstream checks) any of its versions, is tagged so. */
function notAPrompt(modelRef: string): RawBuilder<SqlBool> {
  const model = sql.ref(modelRef);
  return sql<SqlBool>`not exists (select 1 from registered_model_tags pt where pt.registered_model_id = ${model}
      and pt.key = ${PROMPT_TAG_KEY} and pt.value = 'true')
    and not exists (select 1 from model_version_tags pvt inner join model_versions pv on pv.id = pvt.model_version_id
      where pv.registered_model_id = ${model} and pvt.key = ${PROMPT_TAG_KEY} and pvt.value = 'true')`;
}

function page(rows: Array<{ id: number | string }>, maxResults: number, position: PagePosition, snapshot: number): { pks: number[]; next?: PagePosition } {
  const pks = rows.slice(0, maxResults).map((r) => Number(r.id));
  if (rows.length > maxResults) return { pks, next: { offset: position.offset + maxResults, snapshot } };
  return { pks };
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

  const order = query.orderBy.map((o) => sql`${column(MODEL_COLUMNS, o.key)} ${direction(o.ascending)}`);
  if (!query.orderBy.some((o) => o.key === 'name')) order.push(sql`rm.name asc`);

  const result = await sql<{ id: number }>`
    select rm.id as id from registered_models rm
    where ${sql.join(conditions, sql` and `)}
    order by ${sql.join(order)}
    limit ${query.maxResults + 1} offset ${query.page.offset}`.execute(db);
  return page(result.rows, query.maxResults, query.page, snapshot);
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
  const order = orderBy.map((o) => sql`${column(VERSION_COLUMNS, o.key)} ${direction(o.ascending)}`);
  if (!orderBy.some((o) => o.key === 'name')) order.push(sql`rm.name asc`);
  // Version numbers are integers in the database, so "10" sorts after "9".
  if (!orderBy.some((o) => o.key === 'version_number')) order.push(sql`mv.version desc`);

  const result = await sql<{ id: number }>`
    select mv.id as id from model_versions mv inner join registered_models rm on rm.id = mv.registered_model_id
    where ${sql.join(conditions, sql` and `)}
    order by ${sql.join(order)}
    limit ${query.maxResults + 1} offset ${query.page.offset}`.execute(db);
  return page(result.rows, query.maxResults, query.page, snapshot);
}

function versionClause(clause: StoreFilterClause): Expression<SqlBool> {
  if (clause.entity === 'tag') {
    return sql<SqlBool>`exists (select 1 from model_version_tags t where t.model_version_id = mv.id
      and t.key = ${clause.key} and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`;
  }
  return compareExpression(column(VERSION_COLUMNS, clause.key), clause.comparator, clause.value);
}
