import { CompiledQuery } from 'kysely';
import { prepared } from './prepared.ts';
import { toRunInfo, type Db, type RunRow } from './sql-tracking-base.ts';
import type { KeyValue, NewRun, NewRunInExperiment, RunInfoRecord, RunRecord } from '../tracking-store.ts';
import type { NewAuditRow } from '../auth-store.ts';

/**
 * Creating a run on PostgreSQL in one statement: the experiment's check, the run row, its tags, its
 * audit log entries (the domain's `run.create`, built by AuditLog.entries) and back what runs/get
 * would read for it (a new run has no params, metrics, inputs or outputs; its tags ordered by key
 * as sql-run-read.ts orders them). Before, runs/create cost the run insert, the tags insert, the
 * audit entry and the read-back one after the other, each a round trip to the server; on its own (outside a
 * transaction) the one statement is atomic too. The text never varies (the tags are two array
 * parameters), so it is prepared once per connection (prepared.ts).
 */
/** An insert of audit entries from 11 array parameters from `$first` on, one row per entry (`from` ties it to a CTE's row). */
export function insertAudit(from: string | undefined, first: number): string {
  const types = ['bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text'];
  const arrays = types.map((type, i) => `$${first + i}::${type}[]`).join(', ');
  return `insert into audit_log (time, project_id, actor_user_id, actor, actor_kind, action, entity_type, entity_id, request_id, source_address, details)
    select a.* from ${from ? `${from}, ` : ''}unnest(${arrays}) as a`;
}

/** The audit entries as the 11 array parameters of insertAudit. */
export function auditArrays(audit: readonly NewAuditRow[]): unknown[] {
  return [
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
  ];
}

/** The run's insert and what follows it (tags, audit, read-back) as one statement; `head` supplies `run`. */
function createRunText(head: string): string {
  return `with ${head},
  tags as (
    insert into run_tags (run_id, "key", "value")
    select run.id, t.k, t.v from run, unnest($8::text[], $9::text[]) as t(k, v)
    returning "key", "value"),
  audit as (${insertAudit('run', 10)})
  select run.*, (select coalesce(json_agg(json_build_array(tags."key", tags."value") order by tags."key"), '[]'::json)::text from tags) as tags_json
  from run`;
}

const RUN_COLUMNS = 'run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, deleted_time';
/** createRun: the caller has checked the experiment (inside its transaction) and built the artifact URI. */
const CREATE_RUN = createRunText(`run as (
    insert into runs (${RUN_COLUMNS})
    values ($1, $2, $3, $4, $5, $6, null, 'active', $7, null)
    returning *)`);
prepared(CompiledQuery.raw(CREATE_RUN, []));
/**
 * The run, its tags, its audit entries and the read-back, written only when the experiment (`$2`)
 * exists in the project (`$21`) and is active: the check is the statement's first CTE, so
 * runs/create is one round trip with no transaction around it (a single statement is atomic). Before,
 * the domain read the experiment inside a transaction first: BEGIN, that read, this insert, COMMIT,
 * four round trips, each a socket write and a wake-up of a PostgreSQL backend (in a CPU profile of
 * runs/create at 20 clients, the socket writes to PostgreSQL were a quarter of the server's
 * samples). The artifact URI is the experiment's location without trailing slashes followed by `$7`
 * (`/<run id>/artifacts`), as the domain builds it. No row when the experiment does not qualify:
 * nothing is written, and the caller finds out why with its usual checks.
 */
const CREATE_RUN_IN_EXPERIMENT = createRunText(`e as (
    select experiment_id, artifact_location from experiments
    where experiment_id = $2 and project_id = $21 and lifecycle_stage = 'active'),
  run as (
    insert into runs (${RUN_COLUMNS})
    select $1, e.experiment_id, $3, $4, $5, $6, null, 'active', rtrim(e.artifact_location, '/') || $7::text, null from e
    returning *)`);
prepared(CompiledQuery.raw(CREATE_RUN_IN_EXPERIMENT, []));

export async function createRunPostgres(db: Db, run: NewRun): Promise<RunRecord> {
  const created = await insertRun(db, CREATE_RUN, run, run.artifactUri, []);
  if (!created) throw new Error('inserting a run returned no row');
  return created;
}

export async function createRunInExperimentPostgres(db: Db, run: NewRunInExperiment): Promise<RunRecord | undefined> {
  return insertRun(db, CREATE_RUN_IN_EXPERIMENT, run, run.artifactSuffix, [run.projectId]);
}

async function insertRun(db: Db, text: string, run: Omit<NewRun, 'artifactUri'>, artifact: string, extra: unknown[]): Promise<RunRecord | undefined> {
  // Within one call the last value of a key wins, as when MLflow applies tags one by one.
  const tags = [...new Map(run.tags.map((t) => [t.key, t.value]))];
  const audit = run.audit ?? [];
  const result = await db.executeQuery<RunRow & { tags_json: string }>(
    CompiledQuery.raw(text, [
      run.runId,
      Number(run.experimentId),
      run.name,
      run.userId,
      run.status,
      run.startTime,
      artifact,
      tags.map(([key]) => key),
      tags.map(([, value]) => value),
      ...auditArrays(audit),
      ...extra,
    ]),
  );
  const [row] = result.rows;
  if (!row) return undefined;
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

/**
 * A run-scoped write's first statement on PostgreSQL: the run's row (the domain checks it exists,
 * is active and is in the project) and the write's audit entries, in one round trip instead of two.
 * The entries are inserted before the write itself, in its transaction: when a check or the write
 * fails, the transaction rolls back and they are gone with it.
 */
const RUN_INFO_WITH_AUDIT = `with audit as (${insertAudit(undefined, 2)}) select * from runs where run_uuid = $1`;
prepared(CompiledQuery.raw(RUN_INFO_WITH_AUDIT, []));

export async function runInfoWithAuditPostgres(db: Db, runId: string, audit: readonly NewAuditRow[]): Promise<RunInfoRecord | undefined> {
  const result = await db.executeQuery<RunRow>(CompiledQuery.raw(RUN_INFO_WITH_AUDIT, [runId, ...auditArrays(audit)]));
  const [row] = result.rows;
  return row ? toRunInfo(row) : undefined;
}

/**
 * A log-batch's params on PostgreSQL in one statement instead of a read of the stored ones and then
 * the insert: the new keys are inserted and the stored params whose value differs from the given
 * one come back. A stored key is locked and returned by the upsert only when its value differs
 * (`do update … where`, an update to the value it has), and the upsert sees the newest committed
 * row, also one committed by a concurrent batch after this statement began (a check against the
 * statement's snapshot would miss that one and both batches would pass). When something comes back
 * the domain refuses the batch and its transaction rolls the insert back. Keys must be unique (the
 * domain merges equal ones first). Fixed text, prepared once per connection.
 */
const INSERT_PARAMS = `with t as (select * from unnest($2::text[], $3::text[]) as t(k, v)),
  ins as (insert into params as p (run_id, "key", "value") select $1, t.k, t.v from t
    on conflict (run_id, "key") do update set "value" = p."value" where p."value" <> excluded."value"
    returning p."key", p."value")
  select ins."key", ins."value" from ins join t on ins."key" = t.k where ins."value" <> t.v`;
prepared(CompiledQuery.raw(INSERT_PARAMS, []));

export async function insertParamsPostgres(db: Db, runPk: number, params: readonly KeyValue[]): Promise<KeyValue[]> {
  const result = await db.executeQuery<{ key: string; value: string }>(
    CompiledQuery.raw(INSERT_PARAMS, [runPk, params.map((p) => p.key), params.map((p) => p.value)]),
  );
  return result.rows.map((r) => ({ key: r.key, value: r.value }));
}
