import { isMetricColumns } from '../metric-columns.ts';
import type {
  KeyValue,
  LifecycleStage,
  ViewType,
  NewRun,
  NewRunInExperiment,
  Page,
  RunInfoRecord,
  RunInfoUpdate,
  RunRecord,
  RunBatch,
  RunSearchQuery,
  RunWire,
  RunWirePage,
} from '../tracking-store.ts';
import { chunk } from './sql-conditions.ts';
import { searchRunPks } from './sql-search.ts';
import { INSERT_CHUNK, IN_CHUNK, toRunInfo } from './sql-tracking-base.ts';
import { SqlMetricsStore } from './sql-metrics-store.ts';
import { readRun, readRuns } from './sql-run-read.ts';
import { readRunWireJsonPostgres, readRunsWireJsonPostgres } from './run-wire-postgres.ts';
import { prepared } from './prepared.ts';
import { dialectOf, type DialectName } from './dialect.ts';
import type { Database } from './schema.ts';
import { createRunInExperimentPostgres, createRunPostgres, insertParamsPostgres, runInfoWithAuditPostgres } from './run-writes-postgres.ts';
import { logBatchPostgres } from './log-batch-postgres.ts';
import { appendAuditSqlite, createRunInExperimentSqlite, createRunSqlite, insertParamsSqlite, setRunTagsSqlite } from './run-writes-sqlite.ts';
import type { NewAuditRow } from '../auth-store.ts';
import type { Kysely } from 'kysely';

const runInfoQueries = new Map<DialectName, ReturnType<typeof runInfoQuery>>();
function runInfoQuery(db: Kysely<Database>) {
  return db.selectFrom('runs').selectAll().where('run_uuid', '=', '').compile();
}

/** Runs: rows, params, tags, search, counts, and loading a page of runs with their children. */
export abstract class SqlRunsStore extends SqlMetricsStore {
  async createRun(run: NewRun): Promise<RunRecord> {
    // PostgreSQL: the run, its tags and the read-back in one statement, one round trip (run-writes-postgres.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return createRunPostgres(this.db, run);
    // SQLite: statement texts written once, not query-builder trees per request (run-writes-sqlite.ts).
    return this.transaction(async (store) => createRunSqlite(this.dbOf(store), run));
  }

  async createRunInExperiment(run: NewRunInExperiment): Promise<RunRecord | undefined> {
    // PostgreSQL: the experiment's check and the run in one statement, no transaction around it.
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return createRunInExperimentPostgres(this.db, run);
    // SQLite: the checked insert inside the group's transaction (it joins the group commit).
    return this.transaction(async (store) => createRunInExperimentSqlite(this.dbOf(store), run));
  }

  async logRunBatch(batch: RunBatch): Promise<boolean> {
    // PostgreSQL only, outside a transaction, and only for metric keys whose ids are known
    // (committed and cached): a new key is created by the checked path, inside its transaction.
    if (this.inTransaction || dialectOf(this.db as Kysely<unknown>) !== 'postgres') return false;
    const ids = this.keyCache.ids;
    if (isMetricColumns(batch.metrics)) {
      for (const key of batch.metrics.keys) if (!ids.has(key)) return false;
    } else {
      let last: string | undefined;
      for (const metric of batch.metrics) {
        if (metric.key === last) continue;
        if (!ids.has(metric.key)) return false;
        last = metric.key;
      }
    }
    return logBatchPostgres(this.db, batch, ids);
  }

  async getRunInfo(runId: string): Promise<RunInfoRecord | undefined> {
    // Every run-scoped request starts here: prepared once per PostgreSQL connection (prepared.ts).
    // Compiled once per dialect, not built anew per request; only the run id changes.
    const dialect = dialectOf(this.db as Kysely<unknown>);
    let compiled = runInfoQueries.get(dialect);
    if (compiled === undefined) {
      compiled = runInfoQuery(this.db);
      runInfoQueries.set(dialect, compiled);
    }
    const query: typeof compiled = { ...compiled, parameters: [runId] };
    const { rows } = await this.db.executeQuery(prepared(query));
    const [row] = rows;
    return row ? toRunInfo(row) : undefined;
  }

  async getRunInfoForWrite(runId: string, audit: NewAuditRow[]): Promise<RunInfoRecord | undefined> {
    // PostgreSQL: the entries and the run's row in one statement (run-writes-postgres.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return runInfoWithAuditPostgres(this.db, runId, audit);
    if (audit.length > 0) await appendAuditSqlite(this.db, audit);
    return this.getRunInfo(runId);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return readRun(this.db, runId);
  }

  async getRunWire(runId: string): Promise<RunWire | undefined> {
    if (dialectOf(this.db as Kysely<unknown>) !== 'postgres') return this.getRun(runId);
    const found = await readRunWireJsonPostgres(this.db, runId);
    if (found === undefined) return undefined;
    return found.json === null ? this.getRun(runId) : { info: found.info, json: found.json };
  }

  async updateRunInfo(runPk: number, update: RunInfoUpdate): Promise<void> {
    const set: Partial<{ status: string; end_time: number | null; name: string }> = {};
    if (update.status !== undefined) set.status = update.status;
    if (update.endTime !== undefined) set.end_time = update.endTime;
    if (update.name !== undefined) set.name = update.name;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('runs').set(set).where('id', '=', runPk).execute();
  }

  async setRunLifecycle(runPk: number, stage: LifecycleStage, now: number): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
      .where('id', '=', runPk)
      .execute();
  }

  async getParams(runPk: number, keys: string[]): Promise<KeyValue[]> {
    if (keys.length === 0) return [];
    const found: KeyValue[] = [];
    for (const part of chunk(keys, IN_CHUNK)) {
      const rows = await this.db.selectFrom('params').select(['key', 'value']).where('run_id', '=', runPk).where('key', 'in', part).execute();
      found.push(...rows);
    }
    return found;
  }

  async insertParams(runPk: number, params: KeyValue[]): Promise<void> {
    for (const part of chunk(params, INSERT_CHUNK)) {
      await this.db
        .insertInto('params')
        .values(part.map((p) => ({ run_id: runPk, key: p.key, value: p.value })))
        .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
        .execute();
    }
  }

  async insertParamsReturningChanged(runPk: number, params: KeyValue[]): Promise<KeyValue[]> {
    // PostgreSQL: the check and the insert in one statement (run-writes-postgres.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return insertParamsPostgres(this.db, runPk, params);
    // SQLite: the same in one statement of fixed text (run-writes-sqlite.ts).
    return insertParamsSqlite(this.db, runPk, params);
  }

  async setRunTags(runPk: number, tags: KeyValue[]): Promise<void> {
    if (dialectOf(this.db as Kysely<unknown>) === 'sqlite') return setRunTagsSqlite(this.db, runPk, tags);
    // Within one call the last value of a key wins, as when MLflow applies tags one by one.
    const latest = new Map(tags.map((t) => [t.key, t.value]));
    const rows = [...latest].map(([key, value]) => ({ run_id: runPk, key, value }));
    for (const part of chunk(rows, INSERT_CHUNK)) {
      await this.db
        .insertInto('run_tags')
        .values(part)
        .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  async deleteRunTag(runPk: number, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('run_tags').where('run_id', '=', runPk).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async countRuns(experimentIds: string[], viewType: ViewType): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const ids = experimentIds.map(Number).filter((id) => Number.isSafeInteger(id));
    for (const part of chunk(ids, IN_CHUNK)) {
      let query = this.db
        .selectFrom('runs')
        .select((eb) => ['experiment_id', eb.fn.countAll<number>().as('n')])
        .where('experiment_id', 'in', part);
      if (viewType === 'ACTIVE_ONLY') query = query.where('lifecycle_stage', '=', 'active');
      if (viewType === 'DELETED_ONLY') query = query.where('lifecycle_stage', '=', 'deleted');
      for (const row of await query.groupBy('experiment_id').execute()) counts.set(String(row.experiment_id), Number(row.n));
    }
    return counts;
  }

  async searchRuns(query: RunSearchQuery): Promise<Page<RunRecord>> {
    const { pks, next } = await searchRunPks(this.db, query, (key) => this.lookupMetricKeyId(key));
    // The page's runs with params, tags, metrics, inputs and outputs: one statement (sql-run-read.ts).
    const items = await readRuns(this.db, pks);
    return next ? { items, next } : { items };
  }

  async searchRunsWire(query: RunSearchQuery): Promise<RunWirePage> {
    // SQLite builds records: its page costs Node less (no driver between) and already leads.
    if (dialectOf(this.db as Kysely<unknown>) !== 'postgres') return this.searchRuns(query);
    const { pks, next } = await searchRunPks(this.db, query, (key) => this.lookupMetricKeyId(key));
    const json = await readRunsWireJsonPostgres(this.db, pks);
    if (json !== undefined) return next ? { json, next } : { json };
    const items = await readRuns(this.db, pks);
    return next ? { items, next } : { items };
  }
}
