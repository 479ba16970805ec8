import { CompiledQuery } from 'kysely';
import { prepared } from './prepared.ts';
import { toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';
import type { RunInfoRecord } from '../tracking-store.ts';

/**
 * A page of runs (runs/search) or one run (runs/get) on PostgreSQL as the text of MLflow's JSON,
 * built by the database: each run's info, params, tags and latest metrics in the wire shape of
 * `presentRun` (src/http/presenters.ts), a page in its order. Node then neither parses the page's rows, nor builds a
 * record per run and per child row, nor copies those into wire objects, nor serialises them:
 * for a page of 1,000 runs that was most of Trove's CPU for the request, about half of it in
 * garbage collection (docs/benchmarks.md, "Page of 1,000 on PostgreSQL"). PostgreSQL spends more
 * on the text than on the four JSON arrays of readPagePostgres (sql-run-read.ts), less than Node
 * saves.
 *
 * The text is the presenter's, field for field: `run_id` and `run_uuid` both the run id,
 * `experiment_id` as a string, `end_time` only when set, `data` with `metrics`, `params` and
 * `tags` only when non-empty (params and tags by key, metrics by key id, as readRuns gives them),
 * empty `inputs` and `outputs`. Strings go through `to_json`, which escapes exactly as
 * `JSON.stringify` (the short escapes, `\u00xx` for the other control characters, nothing else).
 * Metric values: NaN (`is_nan`) and the infinities as the strings protobuf's JSON uses, finite
 * doubles as PostgreSQL prints them (the shortest text that reads back as the same double, as
 * JavaScript's, though with other exponent forms: `1e-07` for `1e-7`, the same number), except
 * negative zero, which JavaScript prints as `0` and PostgreSQL as `-0`.
 *
 * Runs with dataset inputs or logged-model inputs/outputs are not built here: when a page holds
 * any (or runs/get's run has some), the statement answers null and the caller reads records
 * (readRuns, readRun) instead.
 */
const asJson = (column: string): string => `to_json(${column})::text`;
/** `run_id = any(...)` over the one array parameter, through a scalar subquery: see readRuns's inList. */
const inPage = (column: string): string => `${column} = any(((select $1::bigint[]))::bigint[])`;

/** One run's object but its `data`, as text, from the `runs` row `r`; `data` is the text of its fields. */
const runObject = (data: string): string => `'{"info":{"run_id":' || ${asJson('r.run_uuid')} || ',"run_uuid":' || ${asJson('r.run_uuid')}
      || ',"run_name":' || ${asJson('r.name')} || ',"experiment_id":"' || r.experiment_id
      || '","user_id":' || ${asJson('r.user_id')} || ',"status":' || ${asJson('r.status')}
      || ',"start_time":' || r.start_time || coalesce(',"end_time":' || r.end_time, '')
      || ',"artifact_uri":' || ${asJson('r.artifact_uri')} || ',"lifecycle_stage":' || ${asJson('r.lifecycle_stage')}
      || '},"data":{' || ${data} || '},"inputs":{},"outputs":{}}'`;
/** `data`'s fields from the texts of its three arrays' items (null when there are none): concat_ws leaves empty ones out. */
const dataFields = (metrics: string, params: string, tags: string): string =>
  `concat_ws(',', '"metrics":[' || ${metrics} || ']', '"params":[' || ${params} || ']', '"tags":[' || ${tags} || ']')`;
/** A param's or tag's items, by key, as text. */
const keyValueItems = `string_agg('{"key":' || ${asJson('"key"')} || ',"value":' || ${asJson('"value"')} || '}', ',' order by "key")`;
/** A run's latest metrics (`lm`, key names `k`) as text, by key id. */
const metricItems = `string_agg('{"key":' || ${asJson('k."key"')} || ',"value":'
        || case when lm.is_nan <> 0 then '"NaN"' when lm."value" = 'Infinity' then '"Infinity"'
                when lm."value" = '-Infinity' then '"-Infinity"' when lm."value" = 0 then '0' else lm."value"::text end
        || ',"timestamp":' || lm."timestamp" || ',"step":' || lm.step || '}', ',' order by lm.key_id)`;
const hasInputsOrModels = (where: (column: string) => string): string => `exists (select 1 from run_inputs where ${where('run_id')})
    or exists (select 1 from run_model_inputs where ${where('run_id')})
    or exists (select 1 from run_model_outputs where ${where('run_id')})`;

const PAGE_TEXT = `select case when ${hasInputsOrModels(inPage)} then null
  else (select '[' || coalesce(string_agg(${runObject(dataFields('m.t', 'p.t', 't.t'))}, ',' order by page.ord), '') || ']'
    from unnest($1::bigint[]) with ordinality as page(id, ord)
    join runs r on r.id = page.id
    left join (select run_id, ${keyValueItems} as t from params where ${inPage('run_id')} group by run_id) p on p.run_id = r.id
    left join (select run_id, ${keyValueItems} as t from run_tags where ${inPage('run_id')} group by run_id) t on t.run_id = r.id
    left join (select lm.run_id, ${metricItems} as t from latest_metrics lm join metric_keys k on k.id = lm.key_id
      where ${inPage('lm.run_id')} group by lm.run_id) m on m.run_id = r.id)
  end as runs`;

/** runs/get: the run's row and its object as text (null when it has inputs or logged models), by run id. */
const RUN_TEXT = `select r.*, case when ${hasInputsOrModels((column) => `${column} = r.id`)} then null
  else ${runObject(
    dataFields(
      `(select ${metricItems} from latest_metrics lm join metric_keys k on k.id = lm.key_id where lm.run_id = r.id)`,
      `(select ${keyValueItems} from params where run_id = r.id)`,
      `(select ${keyValueItems} from run_tags where run_id = r.id)`,
    ),
  )} end as run_json
  from runs r where r.run_uuid = $1`;

const PAGE = prepared(CompiledQuery.raw(PAGE_TEXT, []));
const RUN = prepared(CompiledQuery.raw(RUN_TEXT, []));

/**
 * The runs with these pks (unknown ones left out), in this order, as the text of MLflow's `runs`
 * array; undefined when one of them has dataset inputs or logged-model inputs/outputs.
 */
export async function readRunsWireJsonPostgres(db: Db, pks: readonly number[]): Promise<string | undefined> {
  if (pks.length === 0) return '[]';
  const result = await db.executeQuery<{ runs: string | null }>(CompiledQuery.raw(PAGE.sql, [pks]));
  return result.rows[0]?.runs ?? undefined;
}

/**
 * The run with this id: its info and its object as the text of MLflow's `run` (null when it has
 * dataset inputs or logged-model inputs/outputs); undefined when there is no such run.
 */
export async function readRunWireJsonPostgres(db: Db, runId: string): Promise<{ info: RunInfoRecord; json: string | null } | undefined> {
  const [row] = (await db.executeQuery<RunRow & { run_json: string | null }>(CompiledQuery.raw(RUN.sql, [runId]))).rows;
  return row === undefined ? undefined : { info: toRunInfo(row), json: row.run_json };
}
