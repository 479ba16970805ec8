import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type {
  ExperimentSearchQuery,
  LoggedModelSearchQuery,
  PagePosition,
  RunSearchQuery,
  StoreFilterClause,
  StoreOrderBy,
  ViewType,
} from '../tracking-store.ts';
import { compareExpression } from './sql-conditions.ts';
import { keysetQuery, nextPosition, type KeysetRow, type SortTerm } from './keyset.ts';
import { InvalidPageTokenError } from '../store-errors.ts';
import { prepared } from './prepared.ts';
import { dialectOf } from './dialect.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * SQL for the three tracking searches. The domain hands over validated clauses; this module
 * turns each into a parameterised condition or sort expression. Metric, param and tag clauses
 * are correlated EXISTS subqueries on narrow, indexed tables, so a run lacking the key never
 * matches — MLflow's rule, including for `!=`.
 *
 * Paging: keyset (keyset.ts) plus a snapshot (the highest id when page one was read); rows
 * inserted while a client is paging never shift the later pages.
 */

const RUN_ATTRIBUTE_COLUMNS: Record<string, string> = {
  run_id: 'runs.run_uuid',
  run_name: 'runs.name',
  status: 'runs.status',
  user_id: 'runs.user_id',
  artifact_uri: 'runs.artifact_uri',
  start_time: 'runs.start_time',
  end_time: 'runs.end_time',
  lifecycle_stage: 'runs.lifecycle_stage',
  experiment_id: 'runs.experiment_id',
};

const EXPERIMENT_ATTRIBUTE_COLUMNS: Record<string, string> = {
  name: 'experiments.name',
  experiment_id: 'experiments.experiment_id',
  creation_time: 'experiments.creation_time',
  last_update_time: 'experiments.last_update_time',
};

const LOGGED_MODEL_ATTRIBUTE_COLUMNS: Record<string, string> = {
  name: 'logged_models.name',
  model_id: 'logged_models.model_id',
  model_type: 'logged_models.model_type',
  status: 'logged_models.status',
  source_run_id: 'logged_models.source_run_id',
  creation_timestamp: 'logged_models.creation_timestamp',
  creation_time: 'logged_models.creation_timestamp',
  last_updated_timestamp: 'logged_models.last_updated_timestamp',
  last_updated_time: 'logged_models.last_updated_timestamp',
  experiment_id: 'logged_models.experiment_id',
};

function column(columns: Record<string, string>, key: string): RawBuilder<unknown> {
  const name = columns[key];
  if (!name) throw new Error(`Unsupported attribute '${key}' reached the store`);
  return sql.ref(name);
}

function lifecycleCondition(ref: string, viewType: ViewType): RawBuilder<SqlBool> | undefined {
  if (viewType === 'ACTIVE_ONLY') return sql<SqlBool>`${sql.ref(ref)} = 'active'`;
  if (viewType === 'DELETED_ONLY') return sql<SqlBool>`${sql.ref(ref)} = 'deleted'`;
  return undefined;
}

/** Attribute columns that can hold NULL; every other attribute sort term is NOT NULL. */
const NULLABLE_ATTRIBUTES = new Set(['runs.end_time', 'experiments.last_update_time', 'logged_models.model_type', 'logged_models.source_run_id']);

function attributeTerm(columns: Record<string, string>, key: string, ascending: boolean): SortTerm {
  return { expression: column(columns, key), ascending, nullable: NULLABLE_ATTRIBUTES.has(columns[key] ?? '') };
}

/** The ids of a page's rows and the position of the next page. */
function pageResult(rows: KeysetRow[], more: boolean, snapshot: number): { ids: number[]; next?: PagePosition } {
  const ids = rows.map((r) => Number(r.id));
  const next = nextPosition(rows, more, snapshot);
  return next ? { ids, next } : { ids };
}

// -------------------------------------------------------------------- runs

/**
 * Runs of the experiments matching the filter, in the requested order (then start time, run id).
 *
 * When the first sort term is a metric, the page is read in two parts, each walking an index in
 * the order requested and stopping after the page: first the runs that have the metric, driven by
 * latest_metrics (experiment, key, value) joined to runs, the other filters checked per row as
 * semi-joins; then, once those are exhausted, the runs without it (NULLs sort last), in the
 * remaining order. A page token's first value tells which part it is in (NULL: the second).
 */
export async function searchRunPks(
  db: Db,
  query: RunSearchQuery,
  lookupKeyId: (key: string) => Promise<number | undefined>,
): Promise<{ pks: number[]; next?: PagePosition }> {
  const experimentIds = query.experimentIds.filter((id) => /^\d{1,15}$/.test(id)).map(Number);
  if (experimentIds.length === 0) return { pks: [] };
  const snapshot = query.page.snapshot ?? (await maxId(db, 'runs', 'id'));

  // Conditions on the run row itself (the experiment and snapshot bounds are added per query shape).
  const runConditions: Expression<SqlBool>[] = [];
  const lifecycle = lifecycleCondition('runs.lifecycle_stage', query.viewType);
  if (lifecycle) runConditions.push(lifecycle);
  const conditions: Expression<SqlBool>[] = [
    sql<SqlBool>`runs.experiment_id in (${sql.join(experimentIds)})`,
    sql<SqlBool>`runs.id <= ${snapshot}`,
    ...runConditions,
  ];

  const terms: SortTerm[] = [];
  for (const orderBy of query.orderBy) terms.push(await runOrderTerm(orderBy, lookupKeyId));
  terms.push(
    { expression: sql.ref('runs.start_time'), ascending: false, nullable: false },
    { expression: sql.ref('runs.run_uuid'), ascending: true, nullable: false },
    { expression: sql.ref('runs.id'), ascending: true, nullable: false },
  );

  const [firstOrder] = query.orderBy;
  const metricKeyId = firstOrder?.entity === 'metric' ? await lookupKeyId(firstOrder.key) : undefined;
  const walkable = firstOrder !== undefined && metricKeyId !== undefined;

  const filters: Array<{ clause: StoreFilterClause; condition: Expression<SqlBool> }> = [];
  for (const clause of query.filter) {
    const condition = await runClauseCondition(clause, lookupKeyId);
    if (condition === 'never') return { pks: [] };
    filters.push({ clause, condition });
  }

  if (!walkable) {
    const { rows, more } = await keysetQuery(db, {
      id: sql.ref('runs.id'),
      from: sql`runs`,
      conditions: [...conditions, ...filters.map((f) => f.condition)],
      terms,
      page: query.page,
      limit: query.maxResults,
    });
    const { ids, next } = pageResult(rows, more, snapshot);
    return next ? { pks: ids, next } : { pks: ids };
  }

  const rest = terms.slice(1);
  const after = query.page.after;
  if (after && after.length !== terms.length) throw new InvalidPageTokenError();
  // An old offset token: the offset counts into part one, then into part two.
  const offset = after ? 0 : query.page.offset;
  let partTwoOffset = 0;
  const rows: KeysetRow[] = [];
  let more = false;
  // Part one: runs with the metric, walking latest_metrics (experiment, key, is_nan, value).
  if (!after || after[0] !== null) {
    const value = sql.ref('lm.value');
    const walk: Expression<SqlBool>[] = [
      sql<SqlBool>`lm.experiment_id in (${sql.join(experimentIds)})`,
      sql<SqlBool>`lm.key_id = ${metricKeyId}`,
      sql<SqlBool>`lm.is_nan = 0`,
    ];
    // Conditions on each walked entry's run: the other filters (semi-joins) and the lifecycle.
    // (SQLite's statement keeps them in the filter's order among the walk's, as before.)
    const perRun: Expression<SqlBool>[] = [...runConditions];
    const inFilterOrder: Expression<SqlBool>[] = [...walk];
    for (const { clause, condition } of filters) {
      // A filter on the ordering metric narrows the walked index range itself.
      if (clause.entity === 'metric' && clause.key === firstOrder.key && RANGE_COMPARATORS.has(clause.comparator)) {
        const range = compareExpression(value, clause.comparator, clause.value);
        walk.push(range);
        inFilterOrder.push(range);
      } else {
        perRun.push(condition);
        inFilterOrder.push(condition);
      }
    }
    let from: RawBuilder<unknown>;
    let walkConditions: Expression<SqlBool>[];
    if (dialectOf(db as Kysely<unknown>) === 'postgres') {
      // PostgreSQL: each walked entry's run is a LATERAL subquery by primary key that the planner
      // cannot flatten (OFFSET 0), so the only join is a nested loop driven by the index walk, and
      // the rows it expects are the walked range's (latest_metrics' own statistics, accurate)
      // rather than that range times the runs and params selectivities. Those are estimated over
      // every experiment's runs: once another experiment held most runs (the bench's write rounds:
      // runs without metrics or params), and through the default third for `+runs.id <= …`, a
      // deep keyset page expected ~200 matches where 1,464 followed, and PostgreSQL read and
      // sorted them all (a merge join over runs' primary key, 9–19 ms) instead of walking the index
      // and stopping after the page (docs/benchmarks.md, "The PostgreSQL deep page between bench
      // rounds"). The snapshot bound is on the plain column lm.run_id (= runs.id).
      const byRun = sql.join([sql<SqlBool>`runs.id = lm.run_id`, ...perRun], sql` and `);
      from = sql`latest_metrics lm cross join lateral (select runs.* from runs where ${byRun} offset 0) runs`;
      walkConditions = [...walk, sql<SqlBool>`lm.run_id <= ${snapshot}`];
    } else {
      // CROSS JOIN fixes the join order on SQLite (latest_metrics outside, runs by primary key
      // inside). The runs conditions repeat the experiment (already implied by lm.experiment_id)
      // and the snapshot bound only as filters: the unary plus keeps SQLite from driving the
      // query by the primary key range `id <= snapshot` instead.
      from = sql`latest_metrics lm cross join runs`;
      walkConditions = [sql<SqlBool>`runs.id = lm.run_id`, ...inFilterOrder, sql<SqlBool>`+runs.id <= ${snapshot}`, ...runConditions];
    }
    const part = await keysetQuery(db, {
      id: sql.ref('runs.id'),
      from,
      conditions: walkConditions,
      terms: [{ expression: value, ascending: firstOrder.ascending, nullable: false }, ...rest],
      page: after ? { offset: 0, snapshot, after } : { offset, snapshot },
      limit: query.maxResults,
    });
    rows.push(...part.rows);
    more = part.more;
    if (offset > 0 && part.rows.length === 0) {
      const counted = await sql<{ n: number | string }>`select count(*) as n from ${from} where ${sql.join(walkConditions, sql` and `)}`.execute(db);
      partTwoOffset = Math.max(0, offset - Number(counted.rows[0]?.n ?? 0));
    }
  }
  // Part two: runs without a (non-NaN) value of the metric, once part one is exhausted.
  if (!more && rows.length <= query.maxResults) {
    const part = await keysetQuery(db, {
      id: sql.ref('runs.id'),
      from: sql`runs`,
      conditions: [
        ...conditions,
        ...filters.map((f) => f.condition),
        sql<SqlBool>`not exists (select 1 from latest_metrics lm where lm.run_id = runs.id and lm.key_id = ${metricKeyId} and lm.is_nan = 0)`,
      ],
      terms: rest,
      page: after && after[0] === null ? { offset: 0, snapshot, after: after.slice(1) } : { offset: partTwoOffset, snapshot },
      limit: query.maxResults - rows.length,
    });
    rows.push(...part.rows.map((r) => ({ id: r.id, keys: [null, ...r.keys] })));
    more = part.more;
  }
  const { ids, next } = pageResult(rows, more, snapshot);
  return next ? { pks: ids, next } : { pks: ids };
}

const RANGE_COMPARATORS = new Set<StoreFilterClause['comparator']>(['=', '<', '<=', '>', '>=']);

async function runClauseCondition(
  clause: StoreFilterClause,
  lookupKeyId: (key: string) => Promise<number | undefined>,
): Promise<Expression<SqlBool> | 'never'> {
  switch (clause.entity) {
    case 'attribute':
      return compareExpression(column(RUN_ATTRIBUTE_COLUMNS, clause.key), clause.comparator, clause.value);
    case 'metric': {
      const keyId = await lookupKeyId(clause.key);
      if (keyId === undefined) return 'never';
      return sql<SqlBool>`exists (select 1 from latest_metrics lm where lm.run_id = runs.id and lm.key_id = ${keyId}
        and lm.is_nan = 0 and ${compareExpression(sql.ref('lm.value'), clause.comparator, clause.value)})`;
    }
    case 'param':
      return sql<SqlBool>`exists (select 1 from params p where p.run_id = runs.id and p.key = ${clause.key}
        and ${compareExpression(sql.ref('p.value'), clause.comparator, clause.value)})`;
    case 'tag':
      return sql<SqlBool>`exists (select 1 from run_tags t where t.run_id = runs.id and t.key = ${clause.key}
        and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`;
    case 'dataset': {
      if (clause.key === 'context') {
        return sql<SqlBool>`exists (select 1 from run_input_tags it where it.run_id = runs.id and it.key = 'mlflow.data.context'
          and ${compareExpression(sql.ref('it.value'), clause.comparator, clause.value)})`;
      }
      const field = clause.key === 'digest' ? 'd.digest' : 'd.name';
      return sql<SqlBool>`exists (select 1 from run_inputs ri inner join datasets d on d.id = ri.dataset_id
        where ri.run_id = runs.id and ${compareExpression(sql.ref(field), clause.comparator, clause.value)})`;
    }
  }
}

async function runOrderTerm(
  orderBy: StoreOrderBy,
  lookupKeyId: (key: string) => Promise<number | undefined>,
): Promise<SortTerm> {
  const term = (expression: Expression<unknown>): SortTerm => ({ expression, ascending: orderBy.ascending, nullable: true });
  switch (orderBy.entity) {
    case 'attribute':
      return attributeTerm(RUN_ATTRIBUTE_COLUMNS, orderBy.key, orderBy.ascending);
    case 'metric': {
      const keyId = await lookupKeyId(orderBy.key);
      if (keyId === undefined) return term(sql`cast(null as double precision)`);
      return term(sql`(select lm.value from latest_metrics lm where lm.run_id = runs.id and lm.key_id = ${keyId} and lm.is_nan = 0)`);
    }
    case 'param':
      return term(sql`(select p.value from params p where p.run_id = runs.id and p.key = ${orderBy.key})`);
    case 'tag':
      return term(sql`(select t.value from run_tags t where t.run_id = runs.id and t.key = ${orderBy.key})`);
    case 'dataset':
      return term(sql`cast(null as text)`);
  }
}

// -------------------------------------------------------------------- experiments

export async function searchExperimentIds(db: Db, query: ExperimentSearchQuery): Promise<{ ids: number[]; next?: PagePosition }> {
  const snapshot = query.page.snapshot ?? (await maxId(db, 'experiments', 'experiment_id'));
  const conditions: Expression<SqlBool>[] = [
    sql<SqlBool>`experiments.project_id = ${query.projectId}`,
    sql<SqlBool>`experiments.experiment_id <= ${snapshot}`,
  ];
  const lifecycle = lifecycleCondition('experiments.lifecycle_stage', query.viewType);
  if (lifecycle) conditions.push(lifecycle);
  for (const clause of query.filter) {
    if (clause.entity === 'tag') {
      conditions.push(sql<SqlBool>`exists (select 1 from experiment_tags t where t.experiment_id = experiments.experiment_id
        and t.key = ${clause.key} and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`);
    } else {
      conditions.push(compareExpression(column(EXPERIMENT_ATTRIBUTE_COLUMNS, clause.key), clause.comparator, clause.value));
    }
  }
  const terms: SortTerm[] = query.orderBy.map((o) => attributeTerm(EXPERIMENT_ATTRIBUTE_COLUMNS, o.key, o.ascending));
  if (query.orderBy.length === 0) {
    terms.push(
      { expression: sql.ref('experiments.creation_time'), ascending: false, nullable: false },
      { expression: sql.ref('experiments.experiment_id'), ascending: true, nullable: false },
    );
  } else if (!query.orderBy.some((o) => o.key === 'experiment_id')) {
    terms.push({ expression: sql.ref('experiments.experiment_id'), ascending: false, nullable: false });
  }
  const { rows, more } = await keysetQuery(db, {
    id: sql.ref('experiments.experiment_id'),
    from: sql`experiments`,
    conditions,
    terms,
    page: query.page,
    limit: query.maxResults,
  });
  return pageResult(rows, more, snapshot);
}

// -------------------------------------------------------------------- logged models

export async function searchLoggedModelPks(db: Db, query: LoggedModelSearchQuery): Promise<{ pks: number[]; next?: PagePosition }> {
  const experimentIds = query.experimentIds.filter((id) => /^\d{1,15}$/.test(id)).map(Number);
  if (experimentIds.length === 0) return { pks: [] };
  const snapshot = query.page.snapshot ?? (await maxId(db, 'logged_models', 'id'));
  const conditions: Expression<SqlBool>[] = [
    sql<SqlBool>`logged_models.experiment_id in (${sql.join(experimentIds)})`,
    sql<SqlBool>`logged_models.id <= ${snapshot}`,
    sql<SqlBool>`logged_models.lifecycle_stage = 'active'`,
  ];
  // A metric counts when it was logged on any of the datasets (name, and digest when given).
  const datasetCondition = (alias: string): RawBuilder<SqlBool> =>
    query.datasets.length === 0
      ? sql<SqlBool>`1 = 1`
      : sql<SqlBool>`(${sql.join(
          query.datasets.map((d) =>
            d.digest === undefined
              ? sql<SqlBool>`${sql.ref(`${alias}.dataset_name`)} = ${d.name}`
              : sql<SqlBool>`(${sql.ref(`${alias}.dataset_name`)} = ${d.name} and ${sql.ref(`${alias}.dataset_digest`)} = ${d.digest})`,
          ),
          sql` or `,
        )})`;
  // Datasets without a metric filter still narrow the search: to models with a metric on one of them.
  if (query.datasets.length > 0 && !query.filter.some((clause) => clause.entity === 'metric')) {
    conditions.push(sql<SqlBool>`exists (select 1 from logged_model_metrics m where m.model_pk = logged_models.id and ${datasetCondition('m')})`);
  }

  for (const clause of query.filter) {
    switch (clause.entity) {
      case 'metric':
        conditions.push(sql<SqlBool>`exists (select 1 from logged_model_metrics m where m.model_pk = logged_models.id
          and m.key = ${clause.key} and m.is_nan = 0 and ${datasetCondition('m')}
          and ${compareExpression(sql.ref('m.value'), clause.comparator, clause.value)})`);
        break;
      case 'param':
        conditions.push(sql<SqlBool>`exists (select 1 from logged_model_params p where p.model_pk = logged_models.id
          and p.key = ${clause.key} and ${compareExpression(sql.ref('p.value'), clause.comparator, clause.value)})`);
        break;
      case 'tag':
        conditions.push(sql<SqlBool>`exists (select 1 from logged_model_tags t where t.model_pk = logged_models.id
          and t.key = ${clause.key} and ${compareExpression(sql.ref('t.value'), clause.comparator, clause.value)})`);
        break;
      default:
        conditions.push(compareExpression(column(LOGGED_MODEL_ATTRIBUTE_COLUMNS, clause.key), clause.comparator, clause.value));
    }
  }
  const terms: SortTerm[] = [];
  for (const orderBy of query.orderBy) {
    if (orderBy.entity === 'metric') {
      const datasetFilter = orderBy.datasetName
        ? sql<SqlBool>`m.dataset_name = ${orderBy.datasetName}`
        : datasetCondition('m');
      // The model's latest value of the metric: the point with the highest timestamp.
      const expression = sql`(select m.value from logged_model_metrics m where m.model_pk = logged_models.id
        and m.key = ${orderBy.key} and m.is_nan = 0 and ${datasetFilter} order by m.timestamp desc, m.step desc limit 1)`;
      terms.push({ expression, ascending: orderBy.ascending, nullable: true });
    } else {
      terms.push(attributeTerm(LOGGED_MODEL_ATTRIBUTE_COLUMNS, orderBy.key, orderBy.ascending));
    }
  }
  terms.push(
    { expression: sql.ref('logged_models.creation_timestamp'), ascending: false, nullable: false },
    { expression: sql.ref('logged_models.model_id'), ascending: true, nullable: false },
    { expression: sql.ref('logged_models.id'), ascending: true, nullable: false },
  );
  const { rows, more } = await keysetQuery(db, {
    id: sql.ref('logged_models.id'),
    from: sql`logged_models`,
    conditions,
    terms,
    page: query.page,
    limit: query.maxResults,
  });
  const { ids, next } = pageResult(rows, more, snapshot);
  return next ? { pks: ids, next } : { pks: ids };
}

async function maxId(db: Db, table: 'runs' | 'experiments' | 'logged_models', idColumn: string): Promise<number> {
  const statement = prepared(sql`select max(${sql.ref(idColumn)}) as max_id from ${sql.table(table)}`.compile(db));
  const result = await db.executeQuery<{ max_id: number | null }>(statement);
  return Number(result.rows[0]?.max_id ?? 0);
}
