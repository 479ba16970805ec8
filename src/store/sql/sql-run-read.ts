import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { DatasetInputRecord, KeyValue, RunRecord } from '../tracking-store.ts';
import { toMetric, toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';

/**
 * Reading one run with everything it carries (runs/get, the hottest read of the MLflow client).
 *
 * Where a page of runs (`loadRuns`) needs one query per child table, one run needs one statement:
 * the run's row, whether it has dataset inputs, model inputs or model outputs (most runs have
 * none; those are read by further statements only when present), and its params, tags and latest
 * metrics each aggregated into one JSON array by the database (`json_group_array` on SQLite,
 * `json_agg` on PostgreSQL). On PostgreSQL that is one round trip instead of
 * two after one another; on both, one JSON string per child table costs the driver far less than
 * one row object per param and per metric (profiled under `npm run bench`'s get-run workload).
 * Both databases print doubles in JSON with the shortest digits that read back as the same double,
 * non-finite values as `9e999` (SQLite) or `"Infinity"` (PostgreSQL), which `Number` reads.
 *
 * The statements are compiled once per Kysely handle and executed again with the run's id: building
 * and compiling a Kysely query costs more than the database takes to answer these.
 */
interface Statements {
  run: CompiledQuery;
  inputs: CompiledQuery;
  inputTags: CompiledQuery;
  modelInputs: CompiledQuery;
  modelOutputs: CompiledQuery;
}

type RunRowWithChildren = RunRow & {
  has_inputs: unknown;
  has_model_inputs: unknown;
  has_model_outputs: unknown;
  params_json: string;
  tags_json: string;
  metrics_json: string;
};

const compiled = new WeakMap<Db, Statements>();

/** The run statement: its row, three EXISTS flags and three JSON arrays, for one `run_uuid`. */
function runStatement(db: Db): CompiledQuery {
  const postgres = dialectOf(db as unknown as Kysely<unknown>) === 'postgres';
  // [key, value] and [key, value, is_nan, step, timestamp] arrays, never null (an empty array).
  // No ORDER BY: the rows come in the order a plain `where run_id = ?` scan gives them, as they did
  // when each table was a query of its own (and as runs/search's pages still read them).
  const agg = (items: RawBuilder<unknown>) => (postgres ? sql`coalesce(json_agg(${items}), '[]'::json)::text` : sql`json_group_array(${items})`);
  const array = postgres ? sql.raw('json_build_array') : sql.raw('json_array');
  return sql`select r.*,
      exists (select 1 from run_inputs ri where ri.run_id = r.id) as has_inputs,
      exists (select 1 from run_model_inputs rmi where rmi.run_id = r.id) as has_model_inputs,
      exists (select 1 from run_model_outputs rmo where rmo.run_id = r.id) as has_model_outputs,
      (select ${agg(sql`${array}(p."key", p."value")`)} from params p where p.run_id = r.id) as params_json,
      (select ${agg(sql`${array}(t."key", t."value")`)} from run_tags t where t.run_id = r.id) as tags_json,
      (select ${agg(sql`${array}(k."key", lm."value", lm.is_nan, lm.step, lm."timestamp")`)}
         from latest_metrics lm join metric_keys k on k.id = lm.key_id where lm.run_id = r.id) as metrics_json
    from runs r where r.run_uuid = ${''}`.compile(db);
}

function statementsOf(db: Db): Statements {
  let s = compiled.get(db);
  if (s) return s;
  // Placeholder values: every statement has exactly one parameter, replaced at execution.
  s = {
    run: runStatement(db),
    inputs: db
      .selectFrom('run_inputs as ri')
      .innerJoin('datasets as d', 'd.id', 'ri.dataset_id')
      .select(['ri.dataset_id', 'd.name', 'd.digest', 'd.source_type', 'd.source', 'd.schema', 'd.profile'])
      .where('ri.run_id', '=', 0)
      .compile(),
    inputTags: db.selectFrom('run_input_tags').select(['dataset_id', 'key', 'value']).where('run_id', '=', 0).compile(),
    modelInputs: db.selectFrom('run_model_inputs').select('model_id').where('run_id', '=', 0).compile(),
    modelOutputs: db.selectFrom('run_model_outputs').select(['model_id', 'step']).where('run_id', '=', 0).compile(),
  };
  compiled.set(db, s);
  return s;
}

async function rows<R>(db: Db, statement: CompiledQuery, parameter: string | number): Promise<R[]> {
  const result = await db.executeQuery<R>(CompiledQuery.raw(statement.sql, [parameter]));
  return result.rows;
}

/** The run with this id and all its children, or undefined. */
export async function readRun(db: Db, runId: string): Promise<RunRecord | undefined> {
  const s = statementsOf(db);
  const [row] = await rows<RunRowWithChildren>(db, s.run, runId);
  if (!row) return undefined;
  const info = toRunInfo(row);
  const pk = info.pk;
  const run: RunRecord = {
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
  if (flag(row.has_inputs)) run.datasetInputs = await readDatasetInputs(db, s, pk);
  if (flag(row.has_model_inputs)) run.modelInputs = (await rows<{ model_id: string }>(db, s.modelInputs, pk)).map((m) => m.model_id);
  if (flag(row.has_model_outputs)) {
    run.modelOutputs = (await rows<{ model_id: string; step: number }>(db, s.modelOutputs, pk)).map((m) => ({ modelId: m.model_id, step: Number(m.step) }));
  }
  return run;
}

function keyValues(json: string): KeyValue[] {
  return (JSON.parse(json) as [string, string][]).map(([key, value]) => ({ key, value }));
}

/** EXISTS comes back as 1/0 from SQLite and true/false from PostgreSQL. */
function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

async function readDatasetInputs(db: Db, s: Statements, pk: number): Promise<DatasetInputRecord[]> {
  const [inputs, inputTags] = await Promise.all([
    rows<{ dataset_id: number; name: string; digest: string; source_type: string; source: string; schema: string | null; profile: string | null }>(db, s.inputs, pk),
    rows<{ dataset_id: number; key: string; value: string }>(db, s.inputTags, pk),
  ]);
  const tagsOf = new Map<string, KeyValue[]>();
  for (const t of inputTags) {
    const key = String(t.dataset_id);
    const list = tagsOf.get(key);
    if (list) list.push({ key: t.key, value: t.value });
    else tagsOf.set(key, [{ key: t.key, value: t.value }]);
  }
  return inputs.map((i) => ({
    tags: tagsOf.get(String(i.dataset_id)) ?? [],
    dataset: { name: i.name, digest: i.digest, sourceType: i.source_type, source: i.source, schema: i.schema, profile: i.profile },
  }));
}
