import { CompiledQuery } from 'kysely';
import { prepared } from './prepared.ts';
import { toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';
import type { KeyValue, NewRun, RunRecord } from '../tracking-store.ts';

/**
 * Creating a run on PostgreSQL in one statement: the run row, its tags, its audit log entries (the
 * domain's `run.create`, built by AuditLog.entries) and back what runs/get
 * would read for it (a new run has no params, metrics, inputs or outputs; its tags ordered by key
 * as sql-run-read.ts orders them). Before, runs/create cost the run insert, the tags insert, the
 * audit entry and the read-back one after the other, each a round trip to the server; on its own (outside a
 * transaction) the one statement is atomic too. The text never varies (the tags are two array
 * parameters), so it is prepared once per connection (prepared.ts).
 */
const CREATE_RUN = `with run as (
    insert into runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, deleted_time)
    values ($1, $2, $3, $4, $5, $6, null, 'active', $7, null)
    returning *),
  tags as (
    insert into run_tags (run_id, "key", "value")
    select run.id, t.k, t.v from run, unnest($8::text[], $9::text[]) as t(k, v)
    returning "key", "value"),
  audit as (
    insert into audit_log (time, project_id, actor_user_id, actor, actor_kind, action, entity_type, entity_id, request_id, source_address, details)
    select a.* from run, unnest($10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
      $18::text[], $19::text[], $20::text[]) as a)
  select run.*, (select coalesce(json_agg(json_build_array(tags."key", tags."value") order by tags."key"), '[]'::json)::text from tags) as tags_json
  from run`;
prepared(CompiledQuery.raw(CREATE_RUN, []));

export async function createRunPostgres(db: Db, run: NewRun): Promise<RunRecord> {
  // Within one call the last value of a key wins, as when MLflow applies tags one by one.
  const tags = [...new Map(run.tags.map((t) => [t.key, t.value]))];
  const audit = run.audit ?? [];
  const result = await db.executeQuery<RunRow & { tags_json: string }>(
    CompiledQuery.raw(CREATE_RUN, [
      run.runId,
      Number(run.experimentId),
      run.name,
      run.userId,
      run.status,
      run.startTime,
      run.artifactUri,
      tags.map(([key]) => key),
      tags.map(([, value]) => value),
      audit.map((a) => a.time),
      audit.map((a) => a.projectId),
      audit.map((a) => a.actorUserId),
      audit.map((a) => a.actor),
      audit.map((a) => a.actorKind),
      audit.map((a) => a.action),
      audit.map((a) => a.entityType),
      audit.map((a) => a.entityId),
      audit.map((a) => a.requestId),
      audit.map((a) => a.sourceAddress),
      audit.map((a) => a.details),
    ]),
  );
  const [row] = result.rows;
  if (!row) throw new Error('inserting a run returned no row');
  return {
    info: toRunInfo(row),
    metrics: [],
    params: [],
    tags: (JSON.parse(row.tags_json) as Array<[string, string]>).map(([key, value]): KeyValue => ({ key, value })),
    datasetInputs: [],
    modelInputs: [],
    modelOutputs: [],
  };
}
