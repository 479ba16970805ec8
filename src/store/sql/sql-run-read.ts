import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import { dialectOf } from './dialect.ts';
import { prepared } from './prepared.ts';
import type { DatasetInputRecord, KeyValue, RunRecord } from '../tracking-store.ts';
import { pushTo, toMetric, toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';

/**
 * Reading runs with everything they carry: one run (runs/get, the hottest read of the MLflow
 * client) and a page of runs (runs/search).
 *
 * One run, and a page on SQLite: one statement reads the runs' rows, whether each has dataset
 * inputs, model inputs or model outputs (most runs have none; those are read by further
 * statements only when present), and each run's params, tags and latest metrics aggregated into
 * one JSON array per child table by the database (`json_group_array` on SQLite, `json_agg` on
 * PostgreSQL), each a correlated subquery that looks up the child table's primary key index by
 * run. One JSON string per child table costs the driver far less than one row object per param
 * and per metric (profiled under `npm run bench`). Both databases print doubles in JSON with the
 * shortest digits that read back as the same double, non-finite values as `9e999` (SQLite) or
 * `"Infinity"` (PostgreSQL), which `Number` reads.
 *
 * runs/search and runs/get on PostgreSQL answer with JSON text the database builds instead
 * (run-wire-postgres.ts); the readers here serve them for runs with inputs or logged models, and
 * every other caller (GraphQL, export, the registry, writes that return the run).
 *
 * A page on PostgreSQL (readPagePostgres): one statement of four scalar subqueries, the runs,
 * their params, their tags and their latest metrics, each one JSON array for the whole page from
 * an index scan over the page's id array. Per-run arrays cost PostgreSQL 3,000 small aggregates for a page of
 * 1,000 runs, about twice the database CPU (docs/query-plans.md).
 *
 * Array order: params and tags by key, metrics by key id, as SQLite's primary key indexes give
 * them; PostgreSQL is told so (`json_agg(… order by …)`), since its plans do not promise an order.
 *
 * The statements are compiled once per Kysely handle (building and compiling a Kysely query costs
 * more than the database takes to answer these), take the run id or the list of run pks as their
 * one parameter (a PostgreSQL array; a JSON array read by `json_each` on SQLite), so their text
 * never varies, and are prepared once per PostgreSQL connection (prepared.ts).
 */
interface Statements {
  postgres: boolean;
  run: CompiledQuery;
  runs: CompiledQuery;
  /** PostgreSQL pages: the runs, their params, tags and latest metrics, each one JSON array for the whole page, in one statement. */
  page: CompiledQuery;
  inputs: CompiledQuery;
  inputTags: CompiledQuery;
  modelInputs: CompiledQuery;
  modelOutputs: CompiledQuery;
  /** The statement parameter naming a list of run pks. */
  pkList(pks: readonly number[]): unknown;
}

type RunRowWithChildren = RunRow & {
  has_inputs: unknown;
  has_model_inputs: unknown;
  has_model_outputs: unknown;
  params_json: string;
  tags_json: string;
  metrics_json: string;
};

/** Per dialect, not per handle: the text is the same for every handle, transactions included (a new one per write). */
const compiled = new Map<'sqlite' | 'postgres', Statements>();

function statementsOf(db: Db): Statements {
  const dialect = dialectOf(db as unknown as Kysely<unknown>);
  let s = compiled.get(dialect);
  if (s) return s;
  const postgres = dialect === 'postgres';
  // [key, value] and [key, value, is_nan, step, timestamp] arrays, never null (an empty array).
  const agg = (items: RawBuilder<unknown>, order: RawBuilder<unknown>) =>
    postgres ? sql`coalesce(json_agg(${items} order by ${order}), '[]'::json)::text` : sql`json_group_array(${items})`;
  const array = postgres ? sql.raw('json_build_array') : sql.raw('json_array');
  const runsWith = (where: RawBuilder<unknown>): CompiledQuery =>
    prepared(
      sql`select r.*,
        exists (select 1 from run_inputs ri where ri.run_id = r.id) as has_inputs,
        exists (select 1 from run_model_inputs rmi where rmi.run_id = r.id) as has_model_inputs,
        exists (select 1 from run_model_outputs rmo where rmo.run_id = r.id) as has_model_outputs,
        (select ${agg(sql`${array}(p."key", p."value")`, sql`p."key"`)} from params p where p.run_id = r.id) as params_json,
        (select ${agg(sql`${array}(t."key", t."value")`, sql`t."key"`)} from run_tags t where t.run_id = r.id) as tags_json,
        (select ${agg(sql`${array}(k."key", lm."value", lm.is_nan, lm.step, lm."timestamp")`, sql`lm.key_id`)}
           from latest_metrics lm join metric_keys k on k.id = lm.key_id where lm.run_id = r.id) as metrics_json
      from runs r where ${where}`.compile(db),
    );
  // The one parameter: a list of run pks. On PostgreSQL the array goes through a scalar subquery,
  // so the planner cannot see its length and plans an index scan over the array's values for any
  // page: given the literal array of a page of 1,000 out of 25,000 runs, it chose a sequential scan
  // of the whole child table (13 ms for params, where the index scan takes about 1 ms).
  const inList = (column: string): RawBuilder<unknown> =>
    postgres
      ? sql`${sql.ref(column)} = any(((select ${[]}::bigint[]))::bigint[])`
      : sql`${sql.ref(column)} in (select value from json_each(${'[]'}))`;
  const childRows = (query: RawBuilder<unknown>): CompiledQuery => prepared(query.compile(db));
  // A page's rows of one table as one JSON array (PostgreSQL): a scalar subquery of the page statement.
  const pageJson = (items: RawBuilder<unknown>, from: RawBuilder<unknown>): RawBuilder<unknown> =>
    sql`(select coalesce(json_agg(${items}), '[]')::text from ${from})`;
  s = {
    postgres,
    run: runsWith(sql`r.run_uuid = ${''}`),
    runs: runsWith(inList('r.id')),
    page: prepared(
      sql`select ${pageJson(
        sql`json_build_array(r.id, r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time,
          r.lifecycle_stage, r.artifact_uri,
          exists (select 1 from run_inputs ri where ri.run_id = r.id),
          exists (select 1 from run_model_inputs rmi where rmi.run_id = r.id),
          exists (select 1 from run_model_outputs rmo where rmo.run_id = r.id))`,
        sql`runs r where ${inList('r.id')}`,
      )} as runs,
      ${pageJson(sql`json_build_array(p.run_id, p."key", p."value") order by p.run_id, p."key"`, sql`params p where ${inList('p.run_id')}`)} as params,
      ${pageJson(sql`json_build_array(t.run_id, t."key", t."value") order by t.run_id, t."key"`, sql`run_tags t where ${inList('t.run_id')}`)} as tags,
      ${pageJson(
        sql`json_build_array(lm.run_id, k."key", lm."value", lm.is_nan, lm.step, lm."timestamp") order by lm.run_id, lm.key_id`,
        sql`latest_metrics lm join metric_keys k on k.id = lm.key_id where ${inList('lm.run_id')}`,
      )} as metrics`.compile(db),
    ),
    inputs: childRows(sql`select ri.run_id, ri.dataset_id, d.name, d.digest, d.source_type, d.source, d."schema", d.profile
      from run_inputs ri join datasets d on d.id = ri.dataset_id where ${inList('ri.run_id')} order by ri.run_id, ri.dataset_id`),
    inputTags: childRows(sql`select run_id, dataset_id, "key", "value" from run_input_tags where ${inList('run_id')}
      order by run_id, dataset_id, "key"`),
    modelInputs: childRows(sql`select run_id, model_id from run_model_inputs where ${inList('run_id')} order by run_id, model_id`),
    modelOutputs: childRows(sql`select run_id, model_id, step from run_model_outputs where ${inList('run_id')} order by run_id, model_id, step`),
    pkList: postgres ? (pks) => pks : (pks) => JSON.stringify(pks),
  };
  compiled.set(dialect, s);
  return s;
}

async function rows<R>(db: Db, statement: CompiledQuery, parameter: unknown): Promise<R[]> {
  const result = await db.executeQuery<R>(CompiledQuery.raw(statement.sql, [parameter]));
  return result.rows;
}

/** The run with this id and all its children, or undefined. */
export async function readRun(db: Db, runId: string): Promise<RunRecord | undefined> {
  const s = statementsOf(db);
  const found = await rows<RunRowWithChildren>(db, s.run, runId);
  if (found.length === 0) return undefined;
  const [run] = await withChildren(db, s, found);
  return run;
}

/** The runs with these pks and all their children, in the order of `pks` (unknown pks left out). */
export async function readRuns(db: Db, pks: readonly number[]): Promise<RunRecord[]> {
  if (pks.length === 0) return [];
  const s = statementsOf(db);
  const byPk = new Map<number, RunRecord>();
  const runs = s.postgres ? await readPagePostgres(db, s, pks) : await withChildren(db, s, await rows<RunRowWithChildren>(db, s.runs, s.pkList(pks)));
  for (const run of runs) byPk.set(run.info.pk, run);
  return pks.map((pk) => byPk.get(pk)).filter((run): run is RunRecord => run !== undefined);
}

/**
 * A page of runs on PostgreSQL: the runs, their params, their tags and their latest metrics, each
 * one JSON array for the whole page, read by one statement (four scalar subqueries) and assembled
 * here. One round trip instead of four statements side by side on pooled connections: the same
 * database work, a quarter of the driver's and pool's work (Trove's CPU for a page of 100 of
 * 100,000 runs: 3.8 -> 2.6 ms, docs/query-plans.md). The one-statement reader of runs/get builds
 * three JSON arrays per run, 3,000 aggregates for a page of 1,000; the same rows as plain rows
 * cost PostgreSQL less but the driver about three times the CPU of parsing them as one JSON text.
 * The statement sees one snapshot of the four tables.
 */
async function readPagePostgres(db: Db, s: Statements, pks: readonly number[]): Promise<RunRecord[]> {
  const [row] = await (await db.executeQuery<{ runs: string; params: string; tags: string; metrics: string }>(CompiledQuery.raw(s.page.sql, [pks, pks, pks, pks]))).rows;
  const json = (text: string | undefined): unknown[] => (text ? (JSON.parse(text) as unknown[]) : []);
  const [runItems, params, tags, metrics] = [json(row?.runs), json(row?.params), json(row?.tags), json(row?.metrics)];
  type RunItem = [number, string, number, string, string, string, number, number | null, string, string, boolean, boolean, boolean];
  const found = (runItems as RunItem[]).map((r) => ({
    id: r[0],
    run_uuid: r[1],
    experiment_id: r[2],
    name: r[3],
    user_id: r[4],
    status: r[5],
    start_time: r[6],
    end_time: r[7],
    lifecycle_stage: r[8],
    artifact_uri: r[9],
    deleted_time: null,
    has_inputs: r[10],
    has_model_inputs: r[11],
    has_model_outputs: r[12],
  }));
  const byPk = new Map<number, RunRecord>();
  for (const row of found) {
    const info = toRunInfo(row);
    byPk.set(info.pk, { info, params: [], tags: [], metrics: [], datasetInputs: [], modelInputs: [], modelOutputs: [] });
  }
  for (const [pk, key, value] of params as [number, string, string][]) byPk.get(pk)?.params.push({ key, value });
  for (const [pk, key, value] of tags as [number, string, string][]) byPk.get(pk)?.tags.push({ key, value });
  for (const [pk, key, value, isNan, step, timestamp] of metrics as [number, string, number | string, number, number, number][]) {
    byPk.get(pk)?.metrics.push(toMetric(key, { value: Number(value), is_nan: isNan, step, timestamp }));
  }
  return addInputsAndOutputs(db, s, found, byPk);
}

/** Runs from their rows' JSON arrays; dataset inputs and models read for the runs that have them. */
async function withChildren(db: Db, s: Statements, found: RunRowWithChildren[]): Promise<RunRecord[]> {
  const runs = found.map((row): RunRecord => {
    const info = toRunInfo(row);
    return {
      info,
      params: keyValues(row.params_json),
      tags: keyValues(row.tags_json),
      metrics: (JSON.parse(row.metrics_json) as [string, number | string, number, number | string, number | string][]).map(([key, value, isNan, step, timestamp]) =>
        toMetric(key, { value: Number(value), is_nan: isNan, step: Number(step), timestamp: Number(timestamp) }),
      ),
      datasetInputs: [],
      modelInputs: [],
      modelOutputs: [],
    };
  });
  return addInputsAndOutputs(db, s, found, new Map(runs.map((run) => [run.info.pk, run])));
}

/** Dataset inputs and model inputs/outputs, read only for the runs whose row says they have some. */
async function addInputsAndOutputs(
  db: Db,
  s: Statements,
  found: ReadonlyArray<{ id: number; has_inputs: unknown; has_model_inputs: unknown; has_model_outputs: unknown }>,
  byPk: Map<number, RunRecord>,
): Promise<RunRecord[]> {
  const runs = [...byPk.values()];
  const withInputs: number[] = [];
  const withModelInputs: number[] = [];
  const withModelOutputs: number[] = [];
  for (const row of found) {
    if (flag(row.has_inputs)) withInputs.push(Number(row.id));
    if (flag(row.has_model_inputs)) withModelInputs.push(Number(row.id));
    if (flag(row.has_model_outputs)) withModelOutputs.push(Number(row.id));
  }
  if (withInputs.length + withModelInputs.length + withModelOutputs.length === 0) return runs;
  const [datasetInputs, modelInputs, modelOutputs] = await Promise.all([
    withInputs.length > 0 ? readDatasetInputs(db, s, withInputs) : undefined,
    withModelInputs.length > 0 ? rows<{ run_id: number | string; model_id: string }>(db, s.modelInputs, s.pkList(withModelInputs)) : [],
    withModelOutputs.length > 0 ? rows<{ run_id: number | string; model_id: string; step: number | string }>(db, s.modelOutputs, s.pkList(withModelOutputs)) : [],
  ]);
  for (const [pk, inputs] of datasetInputs ?? []) {
    const run = byPk.get(pk);
    if (run) run.datasetInputs = inputs;
  }
  for (const m of modelInputs) byPk.get(Number(m.run_id))?.modelInputs.push(m.model_id);
  for (const m of modelOutputs) byPk.get(Number(m.run_id))?.modelOutputs.push({ modelId: m.model_id, step: Number(m.step) });
  return runs;
}

function keyValues(json: string): KeyValue[] {
  return (JSON.parse(json) as [string, string][]).map(([key, value]) => ({ key, value }));
}

/** EXISTS comes back as 1/0 from SQLite and true/false from PostgreSQL. */
function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

async function readDatasetInputs(db: Db, s: Statements, pks: number[]): Promise<Map<number, DatasetInputRecord[]>> {
  const [inputs, inputTags] = await Promise.all([
    rows<{ run_id: number | string; dataset_id: number | string; name: string; digest: string; source_type: string; source: string; schema: string | null; profile: string | null }>(
      db,
      s.inputs,
      s.pkList(pks),
    ),
    rows<{ run_id: number | string; dataset_id: number | string; key: string; value: string }>(db, s.inputTags, s.pkList(pks)),
  ]);
  const tagsOf = new Map<string, KeyValue[]>();
  for (const t of inputTags) pushTo(tagsOf, `${t.run_id}:${t.dataset_id}`, { key: t.key, value: t.value });
  const byRun = new Map<number, DatasetInputRecord[]>();
  for (const i of inputs) {
    pushTo(byRun, Number(i.run_id), {
      tags: tagsOf.get(`${i.run_id}:${i.dataset_id}`) ?? [],
      dataset: { name: i.name, digest: i.digest, sourceType: i.source_type, source: i.source, schema: i.schema, profile: i.profile },
    });
  }
  return byRun;
}
