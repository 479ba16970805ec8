import type { Kysely, Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { RegistryDatabase, RegistryDb, RegistryTables } from './registry-schema.ts';
import type { KeyValue, MetricRecord, Page } from '../tracking-store.ts';
import {
  STAGE_DELETED_INTERNAL,
  type ModelVersionRecord,
  type ModelVersionSearchQuery,
  type NewModelVersion,
  type NewRegisteredModel,
  type RegisteredModelRecord,
  type RegisteredModelSearchQuery,
  type RegistryStore,
} from '../registry-store.ts';
import { UniqueViolationError } from '../store-errors.ts';
import { chunk, isUniqueViolation } from './sql-conditions.ts';
import { searchModelVersionPks, searchRegisteredModelPks } from './sql-registry-search.ts';

/** Ids per `IN (...)` list when loading the children of a page. */
const IN_CHUNK = 5000;
/** Rows per multi-row INSERT (3 columns each), well below SQLite's bind-variable limit. */
const INSERT_CHUNK = 3000;

type ModelRow = {
  id: number;
  project_id: number;
  name: string;
  description: string | null;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string | null;
};

type VersionRow = Selectable<RegistryTables['model_versions']> & { name: string };

/**
 * The SQL model registry store, one implementation for SQLite and PostgreSQL through Kysely.
 * A store created by `transaction()` runs every call on that transaction.
 */
export class SqlRegistryStore implements RegistryStore {
  private readonly db: RegistryDb;

  constructor(
    db: Kysely<Database> | RegistryDb,
    private readonly inTransaction = false,
  ) {
    // The registry tables live beside the tracking tables in the same database.
    this.db = (db as Kysely<Database>).withTables<RegistryTables>();
  }

  /**
   * The Kysely executor this store runs on: inside `transaction()`, the transaction itself. Event
   * sinks that keep their own tables in the same database (the webhook outbox) use it to write
   * in the registry change's transaction.
   */
  get sqlExecutor(): RegistryDb {
    return this.db;
  }

  async transaction<T>(work: (store: RegistryStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return (this.db as Kysely<RegistryDatabase>).transaction().execute((trx) => work(new SqlRegistryStore(trx, true)));
  }

  // ---------------------------------------------------------------- registered models

  async createRegisteredModel(model: NewRegisteredModel): Promise<number> {
    return this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      let row: { id: number } | undefined;
      try {
        row = await db
          .insertInto('registered_models')
          .values({
            project_id: model.projectId,
            name: model.name,
            description: model.description,
            creation_timestamp: model.now,
            last_updated_timestamp: model.now,
            user_id: model.userId,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`Registered model ${model.name} exists`, { cause: error });
        throw error;
      }
      const pk = Number(row.id);
      const tags = lastValues(model.tags);
      for (const part of chunk(tags, INSERT_CHUNK)) {
        await db
          .insertInto('registered_model_tags')
          .values(part.map((t) => ({ registered_model_id: pk, key: t.key, value: t.value })))
          .execute();
      }
      return pk;
    });
  }

  async getRegisteredModel(projectId: number, name: string): Promise<RegisteredModelRecord | undefined> {
    const row = await this.db
      .selectFrom('registered_models')
      .select(['id', 'project_id', 'name', 'description', 'creation_timestamp', 'last_updated_timestamp', 'user_id'])
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) return undefined;
    const [model] = await this.loadModels([row]);
    return model;
  }

  async renameRegisteredModel(modelPk: number, newName: string, now: number): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      try {
        await db.updateTable('registered_models').set({ name: newName, last_updated_timestamp: now }).where('id', '=', modelPk).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`Registered model ${newName} exists`, { cause: error });
        throw error;
      }
      // As upstream: the versions moved with the model, so they count as updated too.
      await db
        .updateTable('model_versions')
        .set({ last_updated_timestamp: now })
        .where('registered_model_id', '=', modelPk)
        .where('deleted_time', 'is', null)
        .execute();
    });
  }

  async updateRegisteredModel(modelPk: number, update: { description: string | null; now: number }): Promise<void> {
    await this.db
      .updateTable('registered_models')
      .set({ description: update.description, last_updated_timestamp: update.now })
      .where('id', '=', modelPk)
      .execute();
  }

  async touchRegisteredModel(modelPk: number, now: number): Promise<void> {
    await this.db.updateTable('registered_models').set({ last_updated_timestamp: now }).where('id', '=', modelPk).execute();
  }

  async deleteRegisteredModel(modelPk: number): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      await db
        .deleteFrom('model_version_tags')
        .where('model_version_id', 'in', (eb) => eb.selectFrom('model_versions').select('id').where('registered_model_id', '=', modelPk))
        .execute();
      await db.deleteFrom('model_versions').where('registered_model_id', '=', modelPk).execute();
      await db.deleteFrom('registered_model_aliases').where('registered_model_id', '=', modelPk).execute();
      await db.deleteFrom('registered_model_tags').where('registered_model_id', '=', modelPk).execute();
      await db.deleteFrom('registered_models').where('id', '=', modelPk).execute();
    });
  }

  async searchRegisteredModels(query: RegisteredModelSearchQuery): Promise<Page<RegisteredModelRecord>> {
    const { pks, next } = await searchRegisteredModelPks(this.db, query);
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const rows = await this.db
      .selectFrom('registered_models')
      .select(['id', 'project_id', 'name', 'description', 'creation_timestamp', 'last_updated_timestamp', 'user_id'])
      .where('id', 'in', pks)
      .execute();
    const byPk = new Map(rows.map((r) => [Number(r.id), r]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const items = await this.loadModels(ordered);
    return next ? { items, next } : { items };
  }

  async setRegisteredModelTag(modelPk: number, tag: KeyValue): Promise<void> {
    await this.db
      .insertInto('registered_model_tags')
      .values({ registered_model_id: modelPk, key: tag.key, value: tag.value })
      .onConflict((oc) => oc.columns(['registered_model_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteRegisteredModelTag(modelPk: number, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('registered_model_tags')
      .where('registered_model_id', '=', modelPk)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // ---------------------------------------------------------------- aliases

  async setAlias(modelPk: number, alias: string, version: number): Promise<number | undefined> {
    return this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      const previous = await store.getAlias(modelPk, alias);
      await db
        .insertInto('registered_model_aliases')
        .values({ registered_model_id: modelPk, alias, version })
        .onConflict((oc) => oc.columns(['registered_model_id', 'alias']).doUpdateSet({ version }))
        .execute();
      return previous;
    });
  }

  async deleteAlias(modelPk: number, alias: string): Promise<number | undefined> {
    return this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      const previous = await store.getAlias(modelPk, alias);
      if (previous === undefined) return undefined;
      await db.deleteFrom('registered_model_aliases').where('registered_model_id', '=', modelPk).where('alias', '=', alias).execute();
      return previous;
    });
  }

  async getAlias(modelPk: number, alias: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('registered_model_aliases')
      .select('version')
      .where('registered_model_id', '=', modelPk)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row ? Number(row.version) : undefined;
  }

  // ---------------------------------------------------------------- model versions

  async createModelVersion(input: NewModelVersion): Promise<ModelVersionRecord> {
    return this.transaction(async (store) => {
      const self = store as SqlRegistryStore;
      const db = self.db;
      // Taking the number and advancing the counter is one UPDATE: it locks the model's row, so
      // concurrent creations serialise and no number is ever handed out twice.
      const counter = await db
        .updateTable('registered_models')
        .set((eb) => ({ next_version: eb('next_version', '+', 1), last_updated_timestamp: input.now }))
        .where('id', '=', input.modelPk)
        .returning('next_version')
        .executeTakeFirstOrThrow();
      const version = Number(counter.next_version) - 1;
      const row = await db
        .insertInto('model_versions')
        .values({
          registered_model_id: input.modelPk,
          version,
          creation_timestamp: input.now,
          last_updated_timestamp: input.now,
          user_id: input.userId,
          current_stage: input.stage,
          description: input.description,
          source: input.source,
          storage_location: input.storageLocation,
          run_id: input.runId,
          run_link: input.runLink,
          status: input.status,
          status_message: null,
          model_id: input.modelId,
          model_params: input.modelParams.length > 0 ? JSON.stringify(input.modelParams) : null,
          model_metrics: input.modelMetrics.length > 0 ? JSON.stringify(input.modelMetrics.map(metricToJson)) : null,
          deleted_time: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const versionPk = Number(row.id);
      const tags = lastValues(input.tags);
      for (const part of chunk(tags, INSERT_CHUNK)) {
        await db
          .insertInto('model_version_tags')
          .values(part.map((t) => ({ model_version_id: versionPk, key: t.key, value: t.value })))
          .execute();
      }
      const created = await self.getModelVersion(input.modelPk, version);
      if (!created) throw new Error(`Model version ${version} vanished inside its own transaction`);
      return created;
    });
  }

  async getModelVersion(modelPk: number, version: number): Promise<ModelVersionRecord | undefined> {
    const rows = await this.versionQuery()
      .where('mv.registered_model_id', '=', modelPk)
      .where('mv.version', '=', version)
      .where('mv.deleted_time', 'is', null)
      .execute();
    const [record] = await this.loadVersions(rows);
    return record;
  }

  async getLatestVersions(modelPk: number): Promise<ModelVersionRecord[]> {
    const byModel = await this.latestVersionsOf([modelPk]);
    return byModel.get(modelPk) ?? [];
  }

  async findVersionsByTag(modelPk: number, key: string, value: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('model_versions as mv')
      .innerJoin('model_version_tags as t', 't.model_version_id', 'mv.id')
      .select('mv.version')
      .where('mv.registered_model_id', '=', modelPk)
      .where('mv.deleted_time', 'is', null)
      .where('t.key', '=', key)
      .where('t.value', '=', value)
      .orderBy('mv.version')
      .execute();
    return rows.map((r) => Number(r.version));
  }

  async updateModelVersion(versionPk: number, update: { description: string | null; now: number }): Promise<void> {
    await this.db
      .updateTable('model_versions')
      .set({ description: update.description, last_updated_timestamp: update.now })
      .where('id', '=', versionPk)
      .execute();
  }

  async setModelVersionStage(versionPk: number, stage: string, now: number): Promise<void> {
    await this.db.updateTable('model_versions').set({ current_stage: stage, last_updated_timestamp: now }).where('id', '=', versionPk).execute();
  }

  async archiveVersionsInStage(modelPk: number, stage: string, exceptVersion: number, now: number): Promise<number[]> {
    return this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      const rows = await db
        .selectFrom('model_versions')
        .select(['id', 'version'])
        .where('registered_model_id', '=', modelPk)
        .where('current_stage', '=', stage)
        .where('version', '!=', exceptVersion)
        .where('deleted_time', 'is', null)
        .orderBy('version')
        .execute();
      if (rows.length === 0) return [];
      for (const part of chunk(rows.map((r) => Number(r.id)), IN_CHUNK)) {
        await db.updateTable('model_versions').set({ current_stage: 'Archived', last_updated_timestamp: now }).where('id', 'in', part).execute();
      }
      return rows.map((r) => Number(r.version));
    });
  }

  async deleteModelVersion(versionPk: number, now: number): Promise<string[]> {
    return this.transaction(async (store) => {
      const db = (store as SqlRegistryStore).db;
      const row = await db.selectFrom('model_versions').select(['registered_model_id', 'version']).where('id', '=', versionPk).executeTakeFirst();
      if (!row) return [];
      const modelPk = Number(row.registered_model_id);
      const aliases = await db
        .selectFrom('registered_model_aliases')
        .select('alias')
        .where('registered_model_id', '=', modelPk)
        .where('version', '=', Number(row.version))
        .orderBy('alias')
        .execute();
      await db.deleteFrom('registered_model_aliases').where('registered_model_id', '=', modelPk).where('version', '=', Number(row.version)).execute();
      await db.deleteFrom('model_version_tags').where('model_version_id', '=', versionPk).execute();
      // The tombstone keeps the number taken; like upstream, nothing about the version survives.
      await db
        .updateTable('model_versions')
        .set({
          current_stage: STAGE_DELETED_INTERNAL,
          deleted_time: now,
          last_updated_timestamp: now,
          description: null,
          user_id: null,
          source: 'REDACTED-SOURCE-PATH',
          storage_location: 'REDACTED-STORAGE-LOCATION',
          run_id: null,
          run_link: null,
          status_message: null,
          model_id: null,
          model_params: null,
          model_metrics: null,
        })
        .where('id', '=', versionPk)
        .execute();
      await db.updateTable('registered_models').set({ last_updated_timestamp: now }).where('id', '=', modelPk).execute();
      return aliases.map((a) => a.alias);
    });
  }

  async searchModelVersions(query: ModelVersionSearchQuery): Promise<Page<ModelVersionRecord>> {
    const { pks, next } = await searchModelVersionPks(this.db, query);
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const rows: VersionRow[] = [];
    for (const part of chunk(pks, IN_CHUNK)) rows.push(...(await this.versionQuery().where('mv.id', 'in', part).execute()));
    const byPk = new Map(rows.map((r) => [Number(r.id), r]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((r): r is VersionRow => r !== undefined);
    const items = await this.loadVersions(ordered);
    return next ? { items, next } : { items };
  }

  async setModelVersionTag(versionPk: number, tag: KeyValue): Promise<void> {
    await this.db
      .insertInto('model_version_tags')
      .values({ model_version_id: versionPk, key: tag.key, value: tag.value })
      .onConflict((oc) => oc.columns(['model_version_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteModelVersionTag(versionPk: number, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('model_version_tags').where('model_version_id', '=', versionPk).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // ---------------------------------------------------------------- loading

  private versionQuery() {
    return this.db
      .selectFrom('model_versions as mv')
      .innerJoin('registered_models as rm', 'rm.id', 'mv.registered_model_id')
      .selectAll('mv')
      .select('rm.name as name');
  }

  /** Tags, aliases and latest versions for a page of models, with one query per table. */
  private async loadModels(rows: ModelRow[]): Promise<RegisteredModelRecord[]> {
    const pks = rows.map((r) => Number(r.id));
    const tags = new Map<number, KeyValue[]>();
    const aliases = new Map<number, Array<{ alias: string; version: number }>>();
    for (const part of chunk(pks, IN_CHUNK)) {
      const [tagRows, aliasRows] = await Promise.all([
        this.db.selectFrom('registered_model_tags').selectAll().where('registered_model_id', 'in', part).orderBy('key').execute(),
        this.db.selectFrom('registered_model_aliases').selectAll().where('registered_model_id', 'in', part).orderBy('alias').execute(),
      ]);
      for (const t of tagRows) pushTo(tags, Number(t.registered_model_id), { key: t.key, value: t.value });
      for (const a of aliasRows) pushTo(aliases, Number(a.registered_model_id), { alias: a.alias, version: Number(a.version) });
    }
    const latest = await this.latestVersionsOf(pks);
    return rows.map((r) => ({
      pk: Number(r.id),
      projectId: Number(r.project_id),
      name: r.name,
      description: r.description,
      creationTimestamp: Number(r.creation_timestamp),
      lastUpdatedTimestamp: Number(r.last_updated_timestamp),
      userId: r.user_id,
      tags: tags.get(Number(r.id)) ?? [],
      aliases: aliases.get(Number(r.id)) ?? [],
      latestVersions: latest.get(Number(r.id)) ?? [],
    }));
  }

  /** For each model, its highest live version in each stage, ordered by stage name. */
  private async latestVersionsOf(modelPks: number[]): Promise<Map<number, ModelVersionRecord[]>> {
    const result = new Map<number, ModelVersionRecord[]>();
    for (const part of chunk(modelPks, IN_CHUNK)) {
      const rows = await this.versionQuery()
        .where('mv.registered_model_id', 'in', part)
        .where('mv.deleted_time', 'is', null)
        .where((eb) =>
          eb(
            'mv.version',
            '=',
            eb
              .selectFrom('model_versions as m2')
              .select((e) => e.fn.max('m2.version').as('max_version'))
              .whereRef('m2.registered_model_id', '=', 'mv.registered_model_id')
              .whereRef('m2.current_stage', '=', 'mv.current_stage')
              .where('m2.deleted_time', 'is', null),
          ),
        )
        .orderBy('mv.registered_model_id')
        .orderBy('mv.current_stage')
        .execute();
      for (const record of await this.loadVersions(rows)) pushTo(result, record.modelPk, record);
    }
    return result;
  }

  /** Tags and aliases for version rows, with one query per table. */
  private async loadVersions(rows: VersionRow[]): Promise<ModelVersionRecord[]> {
    if (rows.length === 0) return [];
    const versionPks = rows.map((r) => Number(r.id));
    const modelPks = [...new Set(rows.map((r) => Number(r.registered_model_id)))];
    const tags = new Map<number, KeyValue[]>();
    const aliases = new Map<string, string[]>();
    for (const part of chunk(versionPks, IN_CHUNK)) {
      const tagRows = await this.db.selectFrom('model_version_tags').selectAll().where('model_version_id', 'in', part).orderBy('key').execute();
      for (const t of tagRows) pushTo(tags, Number(t.model_version_id), { key: t.key, value: t.value });
    }
    for (const part of chunk(modelPks, IN_CHUNK)) {
      const aliasRows = await this.db.selectFrom('registered_model_aliases').selectAll().where('registered_model_id', 'in', part).orderBy('alias').execute();
      for (const a of aliasRows) pushTo(aliases, `${a.registered_model_id}:${a.version}`, a.alias);
    }
    return rows.map((r) => ({
      pk: Number(r.id),
      modelPk: Number(r.registered_model_id),
      name: r.name,
      version: Number(r.version),
      creationTimestamp: Number(r.creation_timestamp),
      lastUpdatedTimestamp: Number(r.last_updated_timestamp),
      userId: r.user_id,
      currentStage: r.current_stage,
      description: r.description,
      source: r.source,
      storageLocation: r.storage_location,
      runId: r.run_id,
      runLink: r.run_link,
      status: r.status,
      statusMessage: r.status_message,
      modelId: r.model_id,
      modelParams: parseJsonList(r.model_params) as KeyValue[],
      modelMetrics: parseJsonList(r.model_metrics).map(metricFromJson),
      tags: tags.get(Number(r.id)) ?? [],
      aliases: aliases.get(`${r.registered_model_id}:${r.version}`) ?? [],
    }));
  }
}

/** Within one call the last value of a key wins, as when MLflow applies tags one by one. */
function lastValues(tags: KeyValue[]): KeyValue[] {
  return [...new Map(tags.map((t) => [t.key, t.value]))].map(([key, value]) => ({ key, value }));
}

/** JSON has no NaN or infinities; metric values that are not finite travel as strings. */
function metricToJson(m: MetricRecord): Record<string, unknown> {
  return { ...m, value: Number.isFinite(m.value) ? m.value : String(m.value) };
}

function metricFromJson(raw: unknown): MetricRecord {
  const m = raw as MetricRecord & { value: number | string };
  return { ...m, value: Number(m.value) };
}

function parseJsonList(text: string | null): unknown[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
