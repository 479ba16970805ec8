import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { NewAuditRow } from '../auth-store.ts';
import type { KeyValue, NewRun, NewRunInExperiment, RunRecord } from '../tracking-store.ts';
import type { Database } from './schema.ts';
import { readRun } from './sql-run-read.ts';
import { chunk } from './sql-conditions.ts';
import { INSERT_CHUNK, toRunInfo, type RunRow } from './sql-tracking-base.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * SQLite's create-run and the audit row that rides with every run write, as statement texts
 * written once instead of Kysely trees built and compiled per request (issue 16: create-run is
 * bound by JavaScript CPU on the one thread; the query builder's nodes, their freezing and
 * compiling were about a tenth of a create-run's samples). The texts are what Kysely compiled for
 * the same calls; the values are parameters as before. PostgreSQL has its own statements
 * (run-writes-postgres.ts).
 */

const RUN_INSERT = CompiledQuery.raw(
  'insert into "runs" ("run_uuid", "experiment_id", "name", "user_id", "status", "start_time", "end_time", "lifecycle_stage", "artifact_uri", "deleted_time") values (?, ?, ?, ?, ?, ?, null, \'active\', ?, null) returning "id"',
);
/** One (run_id, key, value) row: run_tags and params. */
const KEY_VALUE_ROW = '(?, ?, ?)';
const TAG_HEAD = 'insert into "run_tags" ("run_id", "key", "value") values ';
const TAG_MERGE = ' on conflict ("run_id", "key") do update set "value" = "excluded"."value"';
const PARAM_HEAD = 'insert into "params" ("run_id", "key", "value") values ';
// A stored key comes back only when its value differs: the update keeps the value it has.
const PARAM_CHECK = ' on conflict ("run_id", "key") do update set "value" = "params"."value" where "params"."value" <> "excluded"."value" returning "key", "value"';
const AUDIT_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const AUDIT_HEAD =
  'insert into "audit_log" ("time", "project_id", "actor_user_id", "actor", "actor_kind", "action", "entity_type", "entity_id", "request_id", "source_address", "details") values ';
/** Rows per audit statement: 11 values a row, far under SQLite's 32,766 bind variables. */
const AUDIT_CHUNK = 500;
/** Statement texts by row count (a create-run has one or a few tags, one audit row). */
const texts = new Map<string, string>();

function rowsText(kind: 'tag' | 'param' | 'audit', count: number): string {
  const cacheKey = `${kind}${count}`;
  let text = texts.get(cacheKey);
  if (text === undefined) {
    text =
      kind === 'tag'
        ? `${TAG_HEAD}${new Array(count).fill(KEY_VALUE_ROW).join(', ')}${TAG_MERGE}`
        : kind === 'param'
          ? `${PARAM_HEAD}${new Array(count).fill(KEY_VALUE_ROW).join(', ')}${PARAM_CHECK}`
          : `${AUDIT_HEAD}${new Array(count).fill(AUDIT_ROW).join(', ')}`;
    if (texts.size < 128) texts.set(cacheKey, text);
  }
  return text;
}

/** The run, its tags and its audit entries inside the caller's transaction, then the run as runs/get reads it. */
export async function createRunSqlite(db: Db, run: NewRun): Promise<RunRecord> {
  const { rows } = await db.executeQuery<{ id: number }>(
    CompiledQuery.raw(RUN_INSERT.sql, [run.runId, Number(run.experimentId), run.name, run.userId, run.status, run.startTime, run.artifactUri]),
  );
  const [row] = rows;
  if (!row) throw new Error(`run ${run.runId} was not inserted`);
  await setRunTagsSqlite(db, Number(row.id), run.tags);
  if (run.audit && run.audit.length > 0) await appendAuditSqlite(db, run.audit);
  const created = await readRun(db, run.runId);
  if (!created) throw new Error(`run ${run.runId} not found right after its insert`);
  return created;
}

/**
 * The run inserted only when its experiment exists in the project and is active (the check is the
 * insert's own `select`), its artifact URI the experiment's location without trailing slashes
 * followed by the suffix, as the domain builds it.
 */
const RUN_INSERT_IN_EXPERIMENT = CompiledQuery.raw(
  'insert into "runs" ("run_uuid", "experiment_id", "name", "user_id", "status", "start_time", "end_time", "lifecycle_stage", "artifact_uri", "deleted_time") ' +
    'select ?, "experiment_id", ?, ?, ?, ?, null, \'active\', rtrim("artifact_location", \'/\') || ?, null from "experiments" ' +
    'where "experiment_id" = ? and "project_id" = ? and "lifecycle_stage" = \'active\' returning *',
);

/**
 * createRunInExperiment on SQLite, inside the caller's transaction (the group commit): the checked
 * insert, the tags, the audit entries; undefined with nothing written when the experiment does not
 * qualify. The run comes back built from the inserted row and the tags as runs/get reads them (a
 * new run has nothing else): before, the experiment was read first and the run read back with
 * runs/get's statement afterwards, two statements more per runs/create on the one JavaScript thread.
 */
export async function createRunInExperimentSqlite(db: Db, run: NewRunInExperiment): Promise<RunRecord | undefined> {
  const { rows } = await db.executeQuery<RunRow>(
    CompiledQuery.raw(RUN_INSERT_IN_EXPERIMENT.sql, [
      run.runId, run.name, run.userId, run.status, run.startTime, run.artifactSuffix, Number(run.experimentId), run.projectId,
    ]),
  );
  const [row] = rows;
  if (!row) return undefined;
  const info = toRunInfo(row);
  await setRunTagsSqlite(db, info.pk, run.tags);
  if (run.audit && run.audit.length > 0) await appendAuditSqlite(db, run.audit);
  const latest = new Map<string, string>();
  for (const tag of run.tags) latest.set(tag.key, tag.value);
  const tags = [...latest].map(([key, value]): KeyValue => ({ key, value })).sort((a, b) => byStoredKey(a.key, b.key));
  return { info, metrics: [], params: [], tags, datasetInputs: [], modelInputs: [], modelOutputs: [] };
}

/**
 * SQLite's order of the tag keys (the primary key's BINARY collation: UTF-8 bytes), which is
 * runs/get's order. JavaScript's `<` compares UTF-16 units, which differs only when a key has a
 * character from U+D800 up; those keys are compared as UTF-8.
 */
function byStoredKey(a: string, b: string): number {
  if (!/[\ud800-\uffff]/.test(a) && !/[\ud800-\uffff]/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Sets tags of a run; within one call the last value of a key wins, as when MLflow applies tags one by one. */
export async function setRunTagsSqlite(db: Db, runPk: number, tags: readonly KeyValue[]): Promise<void> {
  const latest = new Map<string, string>();
  for (const tag of tags) latest.set(tag.key, tag.value);
  for (const part of chunk([...latest], INSERT_CHUNK)) {
    await db.executeQuery(CompiledQuery.raw(rowsText('tag', part.length), keyValueParameters(runPk, part)));
  }
}

/**
 * A log-batch's params on SQLite in one statement instead of a read of the stored ones and then the
 * insert (both built by the query builder per request): the new keys are inserted, and the stored
 * params whose value differs from the given one come back (the domain then refuses the batch and
 * the member's savepoint takes the insert back). Keys must be unique (the domain merges equal ones
 * first). PostgreSQL's statement is insertParamsPostgres.
 */
export async function insertParamsSqlite(db: Db, runPk: number, params: readonly KeyValue[]): Promise<KeyValue[]> {
  const given = new Map(params.map((p) => [p.key, p.value]));
  const changed: KeyValue[] = [];
  for (const part of chunk(params.map((p): [string, string] => [p.key, p.value]), INSERT_CHUNK)) {
    const { rows } = await db.executeQuery<KeyValue>(CompiledQuery.raw(rowsText('param', part.length), keyValueParameters(runPk, part)));
    // Inserted rows come back too, with the value given.
    for (const row of rows) if (given.get(row.key) !== row.value) changed.push({ key: row.key, value: row.value });
  }
  return changed;
}

/** The bound values of KEY_VALUE_ROW rows: run, key, value for each pair. */
function keyValueParameters(runPk: number, pairs: readonly (readonly [string, string])[]): unknown[] {
  const parameters: unknown[] = new Array(pairs.length * 3);
  let i = 0;
  for (const [key, value] of pairs) {
    parameters[i++] = runPk;
    parameters[i++] = key;
    parameters[i++] = value;
  }
  return parameters;
}

/** Audit rows on SQLite: every SQLite audit write goes through here (SqlAuthStore.appendAudit too). */
export async function appendAuditSqlite(db: Pick<Kysely<unknown>, 'executeQuery'>, audit: readonly NewAuditRow[]): Promise<void> {
  for (const part of chunk([...audit], AUDIT_CHUNK)) {
    const parameters: unknown[] = new Array(part.length * 11);
    let i = 0;
    for (const r of part) {
      parameters[i++] = r.time;
      parameters[i++] = r.projectId;
      parameters[i++] = r.actorUserId;
      parameters[i++] = r.actor;
      parameters[i++] = r.actorKind;
      parameters[i++] = r.action;
      parameters[i++] = r.entityType;
      parameters[i++] = r.entityId;
      parameters[i++] = r.requestId;
      parameters[i++] = r.sourceAddress;
      parameters[i++] = r.details;
    }
    await db.executeQuery(CompiledQuery.raw(rowsText('audit', part.length), parameters));
  }
}
