import type {
  DatasetInputRecord,
  KeyValue,
  LifecycleStage,
  ViewType,
  MetricRecord,
  NewRun,
  Page,
  RunInfoRecord,
  RunInfoUpdate,
  RunRecord,
  RunSearchQuery,
} from '../tracking-store.ts';
import { chunk } from './sql-conditions.ts';
import { searchRunPks } from './sql-search.ts';
import {
  INSERT_CHUNK,
  IN_CHUNK,
  toRunInfo,
  toMetric,
  pushTo,
} from './sql-tracking-base.ts';
import { SqlMetricsStore } from './sql-metrics-store.ts';
import { readRun } from './sql-run-read.ts';

/** Runs: rows, params, tags, search, counts, and loading a page of runs with their children. */
export abstract class SqlRunsStore extends SqlMetricsStore {
  async createRun(run: NewRun): Promise<void> {
    await this.transaction(async (store) => {
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
    });
  }

  async getRunInfo(runId: string): Promise<RunInfoRecord | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('run_uuid', '=', runId).executeTakeFirst();
    return row ? toRunInfo(row) : undefined;
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
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const infos: RunInfoRecord[] = [];
    for (const part of chunk(pks, IN_CHUNK)) {
      const rows = await this.db.selectFrom('runs').selectAll().where('id', 'in', part).execute();
      infos.push(...rows.map(toRunInfo));
    }
    const byPk = new Map(infos.map((i) => [i.pk, i]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((i): i is RunInfoRecord => i !== undefined);
    const items = await this.loadRuns(ordered);
    return next ? { items, next } : { items };
  }

  /** Loads params, tags, latest metrics, inputs and outputs for a page of runs with one query per table. */
  protected async loadRuns(infos: RunInfoRecord[]): Promise<RunRecord[]> {
    const pks = infos.map((i) => i.pk);
    const params = new Map<number, KeyValue[]>();
    const tags = new Map<number, KeyValue[]>();
    const metrics = new Map<number, MetricRecord[]>();
    const datasetInputs = new Map<number, DatasetInputRecord[]>();
    const modelInputs = new Map<number, string[]>();
    const modelOutputs = new Map<number, Array<{ modelId: string; step: number }>>();
    for (const part of chunk(pks, IN_CHUNK)) {
      const [paramRows, tagRows, metricRows, inputRows, inputTagRows, modelInputRows, modelOutputRows] = await Promise.all([
        this.db.selectFrom('params').select(['run_id', 'key', 'value']).where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_tags').select(['run_id', 'key', 'value']).where('run_id', 'in', part).execute(),
        this.db
          .selectFrom('latest_metrics as lm')
          .innerJoin('metric_keys as k', 'k.id', 'lm.key_id')
          .select(['lm.run_id', 'k.key', 'lm.value', 'lm.is_nan', 'lm.step', 'lm.timestamp'])
          .where('lm.run_id', 'in', part)
          .execute(),
        this.db
          .selectFrom('run_inputs as ri')
          .innerJoin('datasets as d', 'd.id', 'ri.dataset_id')
          .select(['ri.run_id', 'ri.dataset_id', 'd.name', 'd.digest', 'd.source_type', 'd.source', 'd.schema', 'd.profile'])
          .where('ri.run_id', 'in', part)
          .execute(),
        this.db.selectFrom('run_input_tags').selectAll().where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_model_inputs').selectAll().where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_model_outputs').selectAll().where('run_id', 'in', part).execute(),
      ]);
      for (const p of paramRows) pushTo(params, Number(p.run_id), { key: p.key, value: p.value });
      for (const t of tagRows) pushTo(tags, Number(t.run_id), { key: t.key, value: t.value });
      for (const m of metricRows) pushTo(metrics, Number(m.run_id), toMetric(m.key, m));
      const inputTags = new Map<string, KeyValue[]>();
      for (const t of inputTagRows) pushTo(inputTags, `${t.run_id}:${t.dataset_id}`, { key: t.key, value: t.value });
      for (const i of inputRows) {
        pushTo(datasetInputs, Number(i.run_id), {
          tags: inputTags.get(`${i.run_id}:${i.dataset_id}`) ?? [],
          dataset: { name: i.name, digest: i.digest, sourceType: i.source_type, source: i.source, schema: i.schema, profile: i.profile },
        });
      }
      for (const m of modelInputRows) pushTo(modelInputs, Number(m.run_id), m.model_id);
      for (const m of modelOutputRows) pushTo(modelOutputs, Number(m.run_id), { modelId: m.model_id, step: Number(m.step) });
    }
    return infos.map((info) => ({
      info,
      params: params.get(info.pk) ?? [],
      tags: tags.get(info.pk) ?? [],
      metrics: metrics.get(info.pk) ?? [],
      datasetInputs: datasetInputs.get(info.pk) ?? [],
      modelInputs: modelInputs.get(info.pk) ?? [],
      modelOutputs: modelOutputs.get(info.pk) ?? [],
    }));
  }
}
