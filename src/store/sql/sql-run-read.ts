import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import { dialectOf } from './dialect.ts';
import { prepared } from './prepared.ts';
import type { DatasetInputRecord, KeyValue, RunRecord } from '../tracking-store.ts';
import { pushTo, toMetric, toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';

/**
 * Reading runs with everything they carry: one run (runs/get, the hottest read of the MLflow
 * client) and a page of runs (runs/search), with the same statements.
 *
 * One statement reads the runs' rows, whether each has dataset inputs, model inputs or model
 * outputs (most runs have none; those are read by further statements only when present), and
 * each run's params, tags and latest metrics aggregated into one JSON array per child table by the
 * database (`json_group_array` on SQLite, `json_agg` on PostgreSQL), each a correlated subquery
 * that looks up the child table's primary key index by run. On PostgreSQL that is one round trip
 * for any page, where one query per child table with an `IN` list of the page's ids was planned
 * as a sequential scan of the whole child table once the list was long (a page of 1,000 runs over
 * 100,000: 250 ms for latest_metrics). On both, one JSON string per child table costs the driver
 * far less than one row object per param and per metric (profiled under `npm run bench`).
 * Both databases print doubles in JSON with the shortest digits that read back as the same double,
 * non-finite values as `9e999` (SQLite) or `"Infinity"` (PostgreSQL), which `Number` reads.
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
  run: CompiledQuery;
  runs: CompiledQuery;
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
  // The one parameter: a list of run pks.
  const inList = (column: string): RawBuilder<unknown> =>
    postgres ? sql`${sql.ref(column)} = any(${[]}::bigint[])` : sql`${sql.ref(column)} in (select value from json_each(${'[]'}))`;
  const childRows = (query: RawBuilder<unknown>): CompiledQuery => prepared(query.compile(db));
  s = {
    run: runsWith(sql`r.run_uuid = ${''}`),
    runs: runsWith(inList('r.id')),
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
  const found = await rows<RunRowWithChildren>(db, s.runs, s.pkList(pks));
  const byPk = new Map<number, RunRecord>();
  for (const run of await withChildren(db, s, found)) byPk.set(run.info.pk, run);
  return pks.map((pk) => byPk.get(pk)).filter((run): run is RunRecord => run !== undefined);
}

/** Runs from their rows' JSON arrays; dataset inputs and models read for the runs that have them. */
async function withChildren(db: Db, s: Statements, found: RunRowWithChildren[]): Promise<RunRecord[]> {
  const withInputs: number[] = [];
  const withModelInputs: number[] = [];
  const withModelOutputs: number[] = [];
  const runs = found.map((row): RunRecord => {
    const info = toRunInfo(row);
    if (flag(row.has_inputs)) withInputs.push(info.pk);
    if (flag(row.has_model_inputs)) withModelInputs.push(info.pk);
    if (flag(row.has_model_outputs)) withModelOutputs.push(info.pk);
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
  if (withInputs.length + withModelInputs.length + withModelOutputs.length === 0) return runs;
  const byPk = new Map(runs.map((run) => [run.info.pk, run]));
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
