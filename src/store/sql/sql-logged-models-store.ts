import type {
  KeyValue,
  LifecycleStage,
  LoggedModelRecord,
  LoggedModelSearchQuery,
  MetricRecord,
  NewLoggedModel,
  Page,
} from '../tracking-store.ts';
import { chunk } from './sql-conditions.ts';
import { searchLoggedModelPks } from './sql-search.ts';
import {
  INSERT_CHUNK,
  IN_CHUNK,
  toMetric,
  pushTo,
  type LoggedModelRow,
} from './sql-tracking-base.ts';
import { SqlInputsOutputsStore } from './sql-inputs-outputs-store.ts';

/** MLflow 3 logged models: rows, tags, params, metrics, search. */
export abstract class SqlLoggedModelsStore extends SqlInputsOutputsStore {
  // ---------------------------------------------------------------- logged models

  async createLoggedModel(model: NewLoggedModel): Promise<void> {
    await this.transaction(async (store) => {
      // The store handed out by transaction() is this same class on the transaction.
      const self = store as unknown as this;
      const row = await self.db
        .insertInto('logged_models')
        .values({
          model_id: model.modelId,
          experiment_id: Number(model.experimentId),
          name: model.name,
          artifact_uri: model.artifactUri,
          creation_timestamp: model.timestamp,
          last_updated_timestamp: model.timestamp,
          status: model.status,
          status_message: null,
          creator_id: model.creatorId,
          model_type: model.modelType,
          source_run_id: model.sourceRunId,
          lifecycle_stage: 'active',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const pk = Number(row.id);
      await self.insertLoggedModelParams(pk, model.params);
      await self.setLoggedModelTags(pk, model.tags, model.timestamp);
    });
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelRecord | undefined> {
    const row = await this.db.selectFrom('logged_models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
    if (!row) return undefined;
    const [model] = await this.loadLoggedModels([row]);
    return model;
  }

  async updateLoggedModel(
    pk: number,
    update: { status?: string; statusMessage?: string | null; lifecycleStage?: LifecycleStage; now: number },
  ): Promise<void> {
    const set: Partial<{ status: string; status_message: string | null; lifecycle_stage: string; last_updated_timestamp: number }> = {
      last_updated_timestamp: update.now,
    };
    if (update.status !== undefined) set.status = update.status;
    if (update.statusMessage !== undefined) set.status_message = update.statusMessage;
    if (update.lifecycleStage !== undefined) set.lifecycle_stage = update.lifecycleStage;
    await this.db.updateTable('logged_models').set(set).where('id', '=', pk).execute();
  }

  async setLoggedModelTags(pk: number, tags: KeyValue[], now: number): Promise<void> {
    if (tags.length === 0) return;
    const latest = new Map(tags.map((t) => [t.key, t.value]));
    await this.db
      .insertInto('logged_model_tags')
      .values([...latest].map(([key, value]) => ({ model_pk: pk, key, value })))
      .onConflict((oc) => oc.columns(['model_pk', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    await this.db.updateTable('logged_models').set({ last_updated_timestamp: now }).where('id', '=', pk).execute();
  }

  async deleteLoggedModelTag(pk: number, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('logged_model_tags').where('model_pk', '=', pk).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async insertLoggedModelParams(pk: number, params: KeyValue[]): Promise<void> {
    if (params.length === 0) return;
    for (const part of chunk(params, INSERT_CHUNK)) {
      await this.db
        .insertInto('logged_model_params')
        .values(part.map((p) => ({ model_pk: pk, key: p.key, value: p.value })))
        .onConflict((oc) => oc.columns(['model_pk', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  async logLoggedModelMetrics(modelId: string, metrics: MetricRecord[]): Promise<void> {
    if (metrics.length === 0) return;
    const model = await this.db.selectFrom('logged_models').select('id').where('model_id', '=', modelId).executeTakeFirst();
    if (!model) return;
    const rows = metrics.map((m) => {
      const isNan = Number.isNaN(m.value);
      return {
        model_pk: Number(model.id),
        key: m.key,
        step: m.step,
        timestamp: m.timestamp,
        value: isNan ? 0 : m.value,
        is_nan: isNan ? 1 : 0,
        run_uuid: m.runId ?? null,
        dataset_name: m.datasetName ?? null,
        dataset_digest: m.datasetDigest ?? null,
      };
    });
    for (const part of chunk(rows, INSERT_CHUNK)) {
      await this.db.insertInto('logged_model_metrics').values(part).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  async searchLoggedModels(query: LoggedModelSearchQuery): Promise<Page<LoggedModelRecord>> {
    const { pks, next } = await searchLoggedModelPks(this.db, query);
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const rows = await this.db.selectFrom('logged_models').selectAll().where('id', 'in', pks).execute();
    const byPk = new Map(rows.map((r) => [Number(r.id), r]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const items = await this.loadLoggedModels(ordered);
    return next ? { items, next } : { items };
  }

  protected async loadLoggedModels(rows: LoggedModelRow[]): Promise<LoggedModelRecord[]> {
    const pks = rows.map((r) => Number(r.id));
    const tags = new Map<number, KeyValue[]>();
    const params = new Map<number, KeyValue[]>();
    const metrics = new Map<number, MetricRecord[]>();
    for (const part of chunk(pks, IN_CHUNK)) {
      const [tagRows, paramRows, metricRows] = await Promise.all([
        this.db.selectFrom('logged_model_tags').selectAll().where('model_pk', 'in', part).execute(),
        this.db.selectFrom('logged_model_params').selectAll().where('model_pk', 'in', part).execute(),
        this.db.selectFrom('logged_model_metrics').selectAll().where('model_pk', 'in', part).orderBy('step').orderBy('timestamp').execute(),
      ]);
      for (const t of tagRows) pushTo(tags, Number(t.model_pk), { key: t.key, value: t.value });
      for (const p of paramRows) pushTo(params, Number(p.model_pk), { key: p.key, value: p.value });
      const modelIds = new Map(rows.map((r) => [Number(r.id), r.model_id]));
      for (const m of metricRows) {
        pushTo(metrics, Number(m.model_pk), {
          ...toMetric(m.key, m),
          modelId: modelIds.get(Number(m.model_pk)) ?? null,
          ...(m.run_uuid ? { runId: m.run_uuid } : {}),
        });
      }
    }
    return rows.map((r) => ({
      pk: Number(r.id),
      modelId: r.model_id,
      experimentId: String(r.experiment_id),
      name: r.name,
      artifactUri: r.artifact_uri,
      creationTimestamp: Number(r.creation_timestamp),
      lastUpdatedTimestamp: Number(r.last_updated_timestamp),
      status: r.status,
      statusMessage: r.status_message,
      creatorId: r.creator_id,
      modelType: r.model_type,
      sourceRunId: r.source_run_id,
      lifecycleStage: r.lifecycle_stage as LifecycleStage,
      tags: tags.get(Number(r.id)) ?? [],
      params: params.get(Number(r.id)) ?? [],
      metrics: metrics.get(Number(r.id)) ?? [],
    }));
  }
}
