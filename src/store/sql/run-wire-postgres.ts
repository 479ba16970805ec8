import { CompiledQuery } from 'kysely';
import { prepared } from './prepared.ts';
import type { Db } from './sql-tracking-base.ts';

/**
 * A page of runs on PostgreSQL as the text of MLflow's `runs` array, built by the database: each
 * run's info, params, tags and latest metrics in the wire shape of `presentRun` (src/http/
 * presenters.ts), in the page's order. Node then neither parses the page's rows, nor builds a
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
 * any, the statement answers null and the caller reads records (readRuns) instead.
 */
const asJson = (column: string): string => `to_json(${column})::text`;
/** `run_id = any(...)` over the one array parameter, through a scalar subquery: see readRuns's inList. */
const inPage = (column: string): string => `${column} = any(((select $1::bigint[]))::bigint[])`;
const keyValues = (table: string): string =>
  `(select run_id, string_agg('{"key":' || ${asJson('"key"')} || ',"value":' || ${asJson('"value"')} || '}', ',' order by "key") as t
    from ${table} where ${inPage('run_id')} group by run_id)`;

const PAGE_TEXT = `select case
  when exists (select 1 from run_inputs where ${inPage('run_id')})
    or exists (select 1 from run_model_inputs where ${inPage('run_id')})
    or exists (select 1 from run_model_outputs where ${inPage('run_id')}) then null
  else (select '[' || coalesce(string_agg(
      '{"info":{"run_id":' || ${asJson('r.run_uuid')} || ',"run_uuid":' || ${asJson('r.run_uuid')}
      || ',"run_name":' || ${asJson('r.name')} || ',"experiment_id":"' || r.experiment_id
      || '","user_id":' || ${asJson('r.user_id')} || ',"status":' || ${asJson('r.status')}
      || ',"start_time":' || r.start_time || coalesce(',"end_time":' || r.end_time, '')
      || ',"artifact_uri":' || ${asJson('r.artifact_uri')} || ',"lifecycle_stage":' || ${asJson('r.lifecycle_stage')}
      || '},"data":{' || concat_ws(',', '"metrics":[' || m.t || ']', '"params":[' || p.t || ']', '"tags":[' || t.t || ']')
      || '},"inputs":{},"outputs":{}}',
      ',' order by page.ord), '') || ']'
    from unnest($1::bigint[]) with ordinality as page(id, ord)
    join runs r on r.id = page.id
    left join ${keyValues('params')} p on p.run_id = r.id
    left join ${keyValues('run_tags')} t on t.run_id = r.id
    left join (select lm.run_id, string_agg('{"key":' || ${asJson('k."key"')} || ',"value":'
        || case when lm.is_nan <> 0 then '"NaN"' when lm."value" = 'Infinity' then '"Infinity"'
                when lm."value" = '-Infinity' then '"-Infinity"' when lm."value" = 0 then '0' else lm."value"::text end
        || ',"timestamp":' || lm."timestamp" || ',"step":' || lm.step || '}', ',' order by lm.key_id) as t
      from latest_metrics lm join metric_keys k on k.id = lm.key_id
      where ${inPage('lm.run_id')} group by lm.run_id) m on m.run_id = r.id)
  end as runs`;

const PAGE = prepared(CompiledQuery.raw(PAGE_TEXT, []));

/**
 * The runs with these pks (unknown ones left out), in this order, as the text of MLflow's `runs`
 * array; undefined when one of them has dataset inputs or logged-model inputs/outputs.
 */
export async function readRunsWireJsonPostgres(db: Db, pks: readonly number[]): Promise<string | undefined> {
  if (pks.length === 0) return '[]';
  const result = await db.executeQuery<{ runs: string | null }>(CompiledQuery.raw(PAGE.sql, [pks]));
  return result.rows[0]?.runs ?? undefined;
}
