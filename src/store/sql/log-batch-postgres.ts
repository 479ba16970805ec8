import { CompiledQuery } from 'kysely';
import { prepared } from './prepared.ts';
import { auditArrays, insertAudit } from './run-writes-postgres.ts';
import { metricParameters, metricWritesText, ROWS_PER_STATEMENT } from './metric-ingest-postgres.ts';
import { pointColumns } from './metric-ingest.ts';
import type { Db } from './sql-tracking-base.ts';
import type { RunBatch } from '../tracking-store.ts';

/**
 * A log-batch on PostgreSQL in one statement, one round trip, with no transaction around it (a
 * single statement is atomic): the run's check, the audit entry, the params, the tags (and the run
 * name they carry), the points with their rollups and latest values. Before, a log-batch was
 * BEGIN, the run's read with its audit entry, the ingest statement and COMMIT: four round trips,
 * each a socket write and a wake-up of a PostgreSQL backend.
 *
 * - The check is the first CTE, `run`: the run exists, is active, and its experiment is in the
 *   caller's project. Every write selects from it, so when the run does not qualify nothing is
 *   written and no row comes back; the caller then takes its checked path, which says why.
 * - Params: new keys are inserted; a stored key with another value is locked and returned by the
 *   upsert (`do update … where value differs`, which sees the newest committed row even when it
 *   was committed after the statement began, so two batches racing on one key cannot both pass).
 * - A batch that must not be written as a whole is refused by an error of the statement itself,
 *   which undoes every CTE's writes: a changed param (the batch is refused, metrics and tags
 *   included: the cast of a text that names it to an integer, evaluated only then; it reads the
 *   run's id, so the planner cannot fold it), or a point that was already stored (a re-sent batch,
 *   an exact repeat within it: the points are inserted without `on conflict`, and the unique
 *   violation of `metrics_pk` stops the statement; its rollups must count only the points
 *   inserted, which the checked path's two statements handle). The caller sees `false` and takes
 *   its checked path, in a transaction, which produces MLflow's error or writes the batch.
 * - Params and tags are sorted by key, rollups and latest values by key as in the ingest
 *   statement: concurrent batches of one run lock shared rows in one order.
 *
 * The text never varies: prepared once per pooled connection (prepared.ts).
 */
const REFUSED = 'trove log-batch refused';

const P_METRICS = 19;
const LOG_BATCH = `with run as (
  select r.id, r.run_uuid, r.experiment_id from runs r join experiments e on e.experiment_id = r.experiment_id
  where r.run_uuid = $1 and r.lifecycle_stage = 'active' and e.project_id = $2
), audit as (${insertAudit('run', 3)}
), given as (
  select * from unnest($14::text[], $15::text[]) as g(k, v)
), params_written as (
  insert into params as p (run_id, "key", "value") select run.id, g.k, g.v from run, given g
  on conflict (run_id, "key") do update set "value" = p."value" where p."value" <> excluded."value"
  returning p."key", p."value"
), tags as (
  insert into run_tags as t (run_id, "key", "value") select run.id, u.k, u.v from run, unnest($16::text[], $17::text[]) as u(k, v)
  on conflict (run_id, "key") do update set "value" = excluded."value"
), renamed as (
  update runs set name = $18::text from run where runs.id = run.id and $18::text is not null
), ${metricWritesText({ run: 'run.id', from: 'run, ', experiment: 'run.experiment_id', first: P_METRICS, newOnly: true })}
select case
  when (select count(*) from inserted) <> $${P_METRICS + 8}
    or exists (select 1 from params_written w join given g on g.k = w."key" where w."value" <> g.v)
  then ('${REFUSED}: ' || run.run_uuid)::integer
  else 1 end as written
from run`;
prepared(CompiledQuery.raw(LOG_BATCH, []));

/**
 * Writes the batch as described above; false when nothing was written (the run does not qualify,
 * a param would change, a point was already stored, or the batch is too large for one statement).
 */
export async function logBatchPostgres(db: Db, batch: RunBatch, keyIds: ReadonlyMap<string, number>): Promise<boolean> {
  if (batch.metrics.length > ROWS_PER_STATEMENT) return false;
  const params = [...batch.params].sort(byKey);
  // Within one call the last value of a key wins, as when MLflow applies tags one by one.
  const tags = [...new Map(batch.tags.map((t) => [t.key, t.value]))].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const columns = pointColumns(batch.metrics, keyIds);
  const parameters = [
    batch.runId,
    batch.projectId,
    ...auditArrays(batch.audit),
    params.map((p) => p.key),
    params.map((p) => p.value),
    tags.map(([key]) => key),
    tags.map(([, value]) => value),
    batch.runName ?? null,
    ...metricParameters(0, columns),
  ];
  try {
    const result = await db.executeQuery(CompiledQuery.raw(LOG_BATCH, parameters));
    return result.rows.length > 0;
  } catch (error) {
    if (isRefusal(error)) return false;
    throw error;
  }
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The statement's own refusals: PostgreSQL's invalid_text_representation for the text that names
 * it, or a unique violation of the points' primary key.
 */
function isRefusal(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (e?.code === '23505') return e.constraint === 'metrics_pk';
  return e?.code === '22P02' && typeof e.message === 'string' && e.message.includes(REFUSED);
}
