import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { RegistryTables } from './registry-schema.ts';
import { dialectOf } from './dialect.ts';
import { isUniqueViolation } from './sql-conditions.ts';
import { UniqueViolationError } from '../store-errors.ts';
import type { LifecycleStage } from '../tracking-store.ts';
import type { ImportedExperiment, ImportedModelVersion, ImportStateKind, ImportStateRecord, ImportStore } from '../import-store.ts';

/** Migration 0010's table. */
export type ImportTables = {
  import_state: {
    source: string;
    kind: string;
    source_id: string;
    target_id: string;
    fingerprint: string;
    imported_at: number;
  };
};

type ImportDatabase = Database & RegistryTables & ImportTables;

/** The SQL implementation of {@link ImportStore}, for SQLite and PostgreSQL. */
export class SqlImportStore implements ImportStore {
  private readonly db: Kysely<ImportDatabase>;
  private readonly postgres: boolean;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<RegistryTables & ImportTables>();
    this.postgres = dialectOf(db as Kysely<unknown>) === 'postgres';
  }

  async listState(source: string, kind: ImportStateKind): Promise<Map<string, ImportStateRecord>> {
    const rows = await this.db
      .selectFrom('import_state')
      .select(['source_id', 'target_id', 'fingerprint'])
      .where('source', '=', source)
      .where('kind', '=', kind)
      .execute();
    return new Map(rows.map((r) => [r.source_id, { kind, sourceId: r.source_id, targetId: r.target_id, fingerprint: r.fingerprint }]));
  }

  async putState(source: string, record: ImportStateRecord, now: number): Promise<void> {
    await this.db
      .insertInto('import_state')
      .values({ source, kind: record.kind, source_id: record.sourceId, target_id: record.targetId, fingerprint: record.fingerprint, imported_at: now })
      .onConflict((oc) =>
        oc.columns(['source', 'kind', 'source_id']).doUpdateSet((eb) => ({
          target_id: eb.ref('excluded.target_id'),
          fingerprint: eb.ref('excluded.fingerprint'),
          imported_at: eb.ref('excluded.imported_at'),
        })),
      )
      .execute();
  }

  async claimState(source: string, record: ImportStateRecord, now: number): Promise<ImportStateRecord> {
    await this.db
      .insertInto('import_state')
      .values({ source, kind: record.kind, source_id: record.sourceId, target_id: record.targetId, fingerprint: record.fingerprint, imported_at: now })
      .onConflict((oc) => oc.columns(['source', 'kind', 'source_id']).doNothing())
      .execute();
    const kept = (await this.listState(source, record.kind)).get(record.sourceId);
    if (!kept) throw new Error(`import state ${source}/${record.kind}/${record.sourceId} was not kept`);
    return kept;
  }

  async deleteState(source: string, kind: ImportStateKind, sourceId: string): Promise<void> {
    await this.db.deleteFrom('import_state').where('source', '=', source).where('kind', '=', kind).where('source_id', '=', sourceId).execute();
  }

  async experimentIdTaken(experimentId: number): Promise<boolean> {
    const row = await this.db.selectFrom('experiments').select('experiment_id').where('experiment_id', '=', experimentId).executeTakeFirst();
    return row !== undefined;
  }

  async insertExperiment(experiment: ImportedExperiment): Promise<string> {
    return this.db.transaction().execute(async (trx) => {
      let id: number;
      try {
        const row = await trx
          .insertInto('experiments')
          .values({
            ...(experiment.experimentId !== null ? { experiment_id: experiment.experimentId } : {}),
            project_id: experiment.projectId,
            name: experiment.name,
            artifact_location: '',
            lifecycle_stage: experiment.lifecycleStage,
            creation_time: experiment.creationTime,
            last_update_time: experiment.lastUpdateTime,
            deleted_time: experiment.lifecycleStage === 'deleted' ? experiment.lastUpdateTime : null,
          })
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
        id = Number(row.experiment_id);
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`Experiment ${experiment.name} exists`, { cause: error });
        throw error;
      }
      await trx
        .updateTable('experiments')
        .set({ artifact_location: experiment.artifactLocationFor(String(id)) })
        .where('experiment_id', '=', id)
        .execute();
      // PostgreSQL's sequence does not see explicit ids: move it past them, or the next
      // experiment created through the API would draw a taken id.
      if (this.postgres && experiment.experimentId !== null) {
        await sql`select setval(pg_get_serial_sequence('experiments', 'experiment_id'), (select greatest(coalesce(max(experiment_id), 1), 1) from experiments))`.execute(trx);
      }
      return String(id);
    });
  }

  async updateExperiment(experimentId: string, update: { lifecycleStage: LifecycleStage; lastUpdateTime: number; creationTime?: number }): Promise<void> {
    await this.db
      .updateTable('experiments')
      .set({
        ...(update.creationTime !== undefined ? { creation_time: update.creationTime } : {}),
        lifecycle_stage: update.lifecycleStage,
        last_update_time: update.lastUpdateTime,
        deleted_time: update.lifecycleStage === 'deleted' ? update.lastUpdateTime : null,
      })
      .where('experiment_id', '=', Number(experimentId))
      .execute();
  }

  async setRunLifecycle(runPk: number, stage: LifecycleStage, deletedTime: number | null): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? (deletedTime ?? Date.now()) : null })
      .where('id', '=', runPk)
      .execute();
  }

  async setRegisteredModelFields(
    modelPk: number,
    fields: { creationTimestamp: number; lastUpdatedTimestamp: number; userId: string | null; description: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('registered_models')
      .set({
        creation_timestamp: fields.creationTimestamp,
        last_updated_timestamp: fields.lastUpdatedTimestamp,
        user_id: fields.userId,
        description: fields.description,
      })
      .where('id', '=', modelPk)
      .execute();
  }

  async upsertModelVersion(version: ImportedModelVersion): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('model_versions')
        .select(['id', 'deleted_time'])
        .where('registered_model_id', '=', version.modelPk)
        .where('version', '=', version.version)
        .executeTakeFirst();
      const fields = {
        last_updated_timestamp: version.lastUpdatedTimestamp,
        current_stage: version.currentStage,
        description: version.description,
        status: version.status,
        status_message: version.statusMessage,
      };
      let pk: number;
      if (existing) {
        await trx.updateTable('model_versions').set(fields).where('id', '=', existing.id).execute();
        pk = Number(existing.id);
      } else {
        const row = await trx
          .insertInto('model_versions')
          .values({
            ...fields,
            registered_model_id: version.modelPk,
            version: version.version,
            creation_timestamp: version.creationTimestamp,
            user_id: version.userId,
            source: version.source,
            storage_location: version.storageLocation,
            run_id: version.runId,
            run_link: version.runLink,
            model_id: version.modelId,
            model_params: null,
            model_metrics: null,
            deleted_time: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        pk = Number(row.id);
      }
      await trx
        .updateTable('registered_models')
        .set((eb) => ({ next_version: sql<number>`case when ${eb.ref('next_version')} > ${version.version} then ${eb.ref('next_version')} else ${version.version + 1} end` }))
        .where('id', '=', version.modelPk)
        .execute();
      return pk;
    });
  }
}
