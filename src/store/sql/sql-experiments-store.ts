import type {
  ExperimentRecord,
  ExperimentSearchQuery,
  KeyValue,
  LifecycleStage,
  Page,
} from '../tracking-store.ts';
import { chunk, isUniqueViolation } from './sql-conditions.ts';
import { UniqueViolationError } from '../store-errors.ts';
import { searchExperimentIds } from './sql-search.ts';
import {
  SqlTrackingBase,
  IN_CHUNK,
  pushTo,
  toIntId,
  type ExperimentRow,
} from './sql-tracking-base.ts';

/** Experiments and their tags. */
export abstract class SqlExperimentsStore extends SqlTrackingBase {
  async ensureDefaultExperiment(artifactLocation: string, now: number): Promise<void> {
    const existing = await this.db.selectFrom('experiments').select('experiment_id').where('experiment_id', '=', 0).executeTakeFirst();
    if (existing) return;
    await this.db
      .insertInto('experiments')
      .values({
        experiment_id: 0,
        project_id: 1,
        name: 'Default',
        artifact_location: artifactLocation,
        lifecycle_stage: 'active',
        creation_time: now,
        last_update_time: now,
        deleted_time: null,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async createExperiment(input: {
    projectId: number;
    name: string;
    artifactLocation: string | null;
    artifactLocationFor: (experimentId: string) => string;
    tags: KeyValue[];
    now: number;
  }): Promise<string> {
    return this.transaction(async (store) => {
      const db = this.dbOf(store);
      let row: { experiment_id: number } | undefined;
      try {
        row = await db
          .insertInto('experiments')
          .values({
            project_id: input.projectId,
            name: input.name,
            artifact_location: input.artifactLocation ?? '',
            lifecycle_stage: 'active',
            creation_time: input.now,
            last_update_time: input.now,
            deleted_time: null,
          })
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`Experiment ${input.name} exists`, { cause: error });
        throw error;
      }
      const experimentId = String(row.experiment_id);
      if (input.artifactLocation === null) {
        await db
          .updateTable('experiments')
          .set({ artifact_location: input.artifactLocationFor(experimentId) })
          .where('experiment_id', '=', row.experiment_id)
          .execute();
      }
      if (input.tags.length > 0) {
        await db
          .insertInto('experiment_tags')
          .values(input.tags.map((t) => ({ experiment_id: row.experiment_id, key: t.key, value: t.value })))
          .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
          .execute();
      }
      return experimentId;
    });
  }

  async getExperiment(experimentId: string): Promise<ExperimentRecord | undefined> {
    const id = toIntId(experimentId);
    if (id === undefined) return undefined;
    const row = await this.db.selectFrom('experiments').selectAll().where('experiment_id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const [experiment] = await this.withExperimentTags([row]);
    return experiment;
  }

  async getExperimentInfo(experimentId: string): Promise<Omit<ExperimentRecord, 'tags'> | undefined> {
    const id = toIntId(experimentId);
    if (id === undefined) return undefined;
    const row = await this.db.selectFrom('experiments').selectAll().where('experiment_id', '=', id).executeTakeFirst();
    return row ? toExperimentInfo(row) : undefined;
  }

  async getExperimentByName(projectId: number, name: string): Promise<ExperimentRecord | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) return undefined;
    const [experiment] = await this.withExperimentTags([row]);
    return experiment;
  }

  async searchExperiments(query: ExperimentSearchQuery): Promise<Page<ExperimentRecord>> {
    const { ids, next } = await searchExperimentIds(this.db, query);
    if (ids.length === 0) return next ? { items: [], next } : { items: [] };
    const rows = await this.db.selectFrom('experiments').selectAll().where('experiment_id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [Number(r.experiment_id), r]));
    const ordered = ids.map((id) => byId.get(id)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const items = await this.withExperimentTags(ordered);
    return next ? { items, next } : { items };
  }

  async renameExperiment(experimentId: string, name: string, now: number): Promise<void> {
    try {
      await this.db
        .updateTable('experiments')
        .set({ name, last_update_time: now })
        .where('experiment_id', '=', Number(experimentId))
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolationError(`Experiment ${name} exists`, { cause: error });
      throw error;
    }
  }

  async setExperimentLifecycle(experimentId: string, stage: LifecycleStage, now: number): Promise<void> {
    const id = Number(experimentId);
    const deletedTime = stage === 'deleted' ? now : null;
    await this.transaction(async (store) => {
      const db = this.dbOf(store);
      await db
        .updateTable('experiments')
        .set({ lifecycle_stage: stage, last_update_time: now, deleted_time: deletedTime })
        .where('experiment_id', '=', id)
        .execute();
      // Deleting an experiment soft-deletes its runs; restoring brings back the ones it deleted.
      await db
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: deletedTime })
        .where('experiment_id', '=', id)
        .where('lifecycle_stage', '!=', stage)
        .execute();
    });
  }

  async setExperimentTag(experimentId: string, tag: KeyValue): Promise<void> {
    await this.db
      .insertInto('experiment_tags')
      .values({ experiment_id: Number(experimentId), key: tag.key, value: tag.value })
      .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('experiment_tags')
      .where('experiment_id', '=', Number(experimentId))
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  protected async withExperimentTags(rows: ExperimentRow[]): Promise<ExperimentRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.experiment_id));
    const tags = new Map<number, KeyValue[]>();
    for (const part of chunk(ids, IN_CHUNK)) {
      const tagRows = await this.db.selectFrom('experiment_tags').selectAll().where('experiment_id', 'in', part).execute();
      for (const t of tagRows) pushTo(tags, Number(t.experiment_id), { key: t.key, value: t.value });
    }
    return rows.map((r) => ({ ...toExperimentInfo(r), tags: tags.get(Number(r.experiment_id)) ?? [] }));
  }
}

function toExperimentInfo(r: ExperimentRow): Omit<ExperimentRecord, 'tags'> {
  return {
    experimentId: String(r.experiment_id),
    projectId: Number(r.project_id),
    name: r.name,
    artifactLocation: r.artifact_location,
    lifecycleStage: r.lifecycle_stage as LifecycleStage,
    creationTime: Number(r.creation_time),
    lastUpdateTime: Number(r.last_update_time),
  };
}
