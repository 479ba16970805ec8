import type {
  KeyValue,
  LifecycleStage,
  ViewType,
  NewRun,
  Page,
  RunInfoRecord,
  RunInfoUpdate,
  RunRecord,
  RunSearchQuery,
} from '../tracking-store.ts';
import { chunk } from './sql-conditions.ts';
import { searchRunPks } from './sql-search.ts';
import { INSERT_CHUNK, IN_CHUNK, toRunInfo } from './sql-tracking-base.ts';
import { SqlMetricsStore } from './sql-metrics-store.ts';
import { readRun, readRuns } from './sql-run-read.ts';
import { prepared } from './prepared.ts';
import { dialectOf } from './dialect.ts';
import { createRunPostgres, runInfoWithAuditPostgres } from './run-writes-postgres.ts';
import type { NewAuditRow } from '../auth-store.ts';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { SqlAuthStore } from './sql-auth-store.ts';

/** Runs: rows, params, tags, search, counts, and loading a page of runs with their children. */
export abstract class SqlRunsStore extends SqlMetricsStore {
  async createRun(run: NewRun): Promise<RunRecord> {
    // PostgreSQL: the run, its tags and the read-back in one statement, one round trip (run-writes-postgres.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return createRunPostgres(this.db, run);
    return this.transaction(async (store) => {
      const db = this.dbOf(store);
      const row = await db
        .insertInto('runs')
        .values({
          run_uuid: run.runId,
          experiment_id: Number(run.experimentId),
          name: run.name,
          user_id: run.userId,
          status: run.status,
          start_time: run.startTime,
          end_time: null,
          lifecycle_stage: 'active',
          artifact_uri: run.artifactUri,
          deleted_time: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.setRunTags(Number(row.id), run.tags);
      if (run.audit && run.audit.length > 0) await new SqlAuthStore(db as Kysely<Database>, true).appendAudit(run.audit);
      const created = await readRun(db, run.runId);
      if (!created) throw new Error(`run ${run.runId} not found right after its insert`);
      return created;
    });
  }

  async getRunInfo(runId: string): Promise<RunInfoRecord | undefined> {
    // Every run-scoped request starts here: prepared once per PostgreSQL connection (prepared.ts).
    const { rows } = await this.db.executeQuery(prepared(this.db.selectFrom('runs').selectAll().where('run_uuid', '=', runId).compile()));
    const [row] = rows;
    return row ? toRunInfo(row) : undefined;
  }

  async getRunInfoForWrite(runId: string, audit: NewAuditRow[]): Promise<RunInfoRecord | undefined> {
    // PostgreSQL: the entries and the run's row in one statement (run-writes-postgres.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return runInfoWithAuditPostgres(this.db, runId, audit);
    if (audit.length > 0) await new SqlAuthStore(this.db as Kysely<Database>, true).appendAudit(audit);
    return this.getRunInfo(runId);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return readRun(this.db, runId);
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

  async setRunTags(runPk: number, tags: KeyValue[]): Promise<void> {
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
}
