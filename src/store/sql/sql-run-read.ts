import { CompiledQuery } from 'kysely';
import type { DatasetInputRecord, KeyValue, RunRecord } from '../tracking-store.ts';
import { toMetric, toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';

/**
 * Reading one run with everything it carries (runs/get, the hottest read of the MLflow client).
 *
 * Where a page of runs (`loadRuns`) needs one query per child table, one run needs fewer: the run's
 * row says in the same query whether it has dataset inputs, model inputs or model outputs (most
 * runs have none), so a plain run costs four statements: the row, params, tags, latest metrics.
 * Children are selected without their `run_id` column (one run: it is known).
 *
 * The statements are compiled once per Kysely handle and executed again with the run's id: building
 * and compiling a Kysely query costs more than SQLite takes to answer these (profiled under
 * `npm run bench`'s get-run workload: query building was a third of the time spent in Kysely).
 */
interface Statements {
  run: CompiledQuery;
  params: CompiledQuery;
  tags: CompiledQuery;
  metrics: CompiledQuery;
  inputs: CompiledQuery;
  inputTags: CompiledQuery;
  modelInputs: CompiledQuery;
  modelOutputs: CompiledQuery;
}

type RunRowWithFlags = RunRow & { has_inputs: unknown; has_model_inputs: unknown; has_model_outputs: unknown };

const compiled = new WeakMap<Db, Statements>();

function statementsOf(db: Db): Statements {
  let s = compiled.get(db);
  if (s) return s;
  // Placeholder values: every statement has exactly one parameter, replaced at execution.
  s = {
    run: db
      .selectFrom('runs')
      .selectAll('runs')
      .select((eb) => [
        eb.exists(eb.selectFrom('run_inputs as ri').select('ri.run_id').whereRef('ri.run_id', '=', 'runs.id')).as('has_inputs'),
        eb.exists(eb.selectFrom('run_model_inputs as rmi').select('rmi.run_id').whereRef('rmi.run_id', '=', 'runs.id')).as('has_model_inputs'),
        eb.exists(eb.selectFrom('run_model_outputs as rmo').select('rmo.run_id').whereRef('rmo.run_id', '=', 'runs.id')).as('has_model_outputs'),
      ])
      .where('run_uuid', '=', '')
      .compile(),
    params: db.selectFrom('params').select(['key', 'value']).where('run_id', '=', 0).compile(),
    tags: db.selectFrom('run_tags').select(['key', 'value']).where('run_id', '=', 0).compile(),
    metrics: db
      .selectFrom('latest_metrics as lm')
      .innerJoin('metric_keys as k', 'k.id', 'lm.key_id')
      .select(['k.key', 'lm.value', 'lm.is_nan', 'lm.step', 'lm.timestamp'])
      .where('lm.run_id', '=', 0)
      .compile(),
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
  const [row] = await rows<RunRowWithFlags>(db, s.run, runId);
  if (!row) return undefined;
  const info = toRunInfo(row);
  const pk = info.pk;
  const [params, tags, metricRows] = await Promise.all([
    rows<KeyValue>(db, s.params, pk),
    rows<KeyValue>(db, s.tags, pk),
    rows<{ key: string; value: number; is_nan: number; step: number; timestamp: number }>(db, s.metrics, pk),
  ]);
  const run: RunRecord = {
    info,
    params,
    tags,
    metrics: metricRows.map((m) => toMetric(m.key, m)),
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
