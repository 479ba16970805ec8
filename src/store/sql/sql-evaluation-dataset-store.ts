import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import type { EvaluationDatasetDatabase, EvaluationDatasetDb, EvaluationDatasetTables } from './evaluation-dataset-schema.ts';
import type {
  DatasetRecordRow,
  DatasetRecordsUpdate,
  EvaluationDatasetRow,
  EvaluationDatasetSearchQuery,
  EvaluationDatasetStore,
  NewEvaluationDataset,
  RecordCursor,
} from '../evaluation-dataset-store.ts';
import type { KeyValue } from '../tracking-store.ts';
import { UniqueViolationError } from '../store-errors.ts';
import { chunk, compareExpression, isUniqueViolation } from './sql-conditions.ts';
import { dialectOf } from './dialect.ts';

/** Ids per `IN (...)` list, well below SQLite's bind-variable limit. */
const IN_CHUNK = 500;
/** Records per multi-row INSERT (14 columns each). */
const INSERT_CHUNK = 200;

/** Filterable and orderable dataset attributes → their columns. */
const ATTRIBUTE_COLUMNS: Readonly<Record<string, keyof EvaluationDatasetTables['evaluation_datasets']>> = {
  name: 'name',
  created_time: 'created_time',
  last_update_time: 'last_update_time',
  created_by: 'created_by',
  last_updated_by: 'last_updated_by',
};

type DatasetRow = Selectable<EvaluationDatasetTables['evaluation_datasets']>;
type RecordRow = Selectable<EvaluationDatasetTables['evaluation_dataset_records']>;
type Eb = ExpressionBuilder<EvaluationDatasetDatabase, 'evaluation_datasets'>;

/**
 * The SQL evaluation dataset store, one implementation for SQLite and PostgreSQL through Kysely.
 * A store created by `transaction()` runs every call on that transaction.
 */
export class SqlEvaluationDatasetStore implements EvaluationDatasetStore {
  private readonly db: EvaluationDatasetDb;

  constructor(
    db: Kysely<Database> | EvaluationDatasetDb,
    private readonly inTransaction = false,
  ) {
    this.db = (db as Kysely<Database>).withTables<EvaluationDatasetTables>();
  }

  /** The executor of this store (the transaction inside `transaction()`), for the audit log. */
  get sqlExecutor(): EvaluationDatasetDb {
    return this.db;
  }

  async transaction<T>(work: (store: EvaluationDatasetStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return (this.db as Kysely<EvaluationDatasetDatabase>).transaction().execute((trx) => work(new SqlEvaluationDatasetStore(trx, true)));
  }

  // ---------------------------------------------------------------- datasets

  async createDataset(dataset: NewEvaluationDataset): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlEvaluationDatasetStore).db;
      try {
        await db
          .insertInto('evaluation_datasets')
          .values({
            dataset_id: dataset.datasetId,
            project_id: dataset.projectId,
            name: dataset.name,
            schema_json: null,
            profile_json: null,
            digest: dataset.digest,
            created_time: dataset.now,
            last_update_time: dataset.now,
            created_by: dataset.createdBy,
            last_updated_by: dataset.createdBy,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`dataset ${dataset.datasetId} exists`, { cause: error });
        throw error;
      }
      await store.setDatasetTags(dataset.datasetId, dataset.tags);
      await store.addExperiments(dataset.datasetId, dataset.experimentIds, dataset.now);
    });
  }

  async getDataset(projectId: number, datasetId: string): Promise<EvaluationDatasetRow | undefined> {
    const row = await this.db
      .selectFrom('evaluation_datasets')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    if (!row) return undefined;
    const [withTags] = await this.withTags([row]);
    return withTags;
  }

  async getDatasetForUpdate(projectId: number, datasetId: string): Promise<EvaluationDatasetRow | undefined> {
    let select = this.db.selectFrom('evaluation_datasets').selectAll().where('dataset_id', '=', datasetId).where('project_id', '=', projectId);
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') select = select.forUpdate();
    const row = await select.executeTakeFirst();
    if (!row) return undefined;
    const [withTags] = await this.withTags([row]);
    return withTags;
  }

  async deleteDataset(projectId: number, datasetId: string): Promise<boolean> {
    return this.transaction(async (store) => {
      const db = (store as SqlEvaluationDatasetStore).db;
      const found = await db
        .selectFrom('evaluation_datasets')
        .select('dataset_id')
        .where('dataset_id', '=', datasetId)
        .where('project_id', '=', projectId)
        .executeTakeFirst();
      if (!found) return false;
      // Children first: correct whether or not the database enforces the cascades.
      await db.deleteFrom('evaluation_dataset_experiments').where('dataset_id', '=', datasetId).execute();
      await db.deleteFrom('evaluation_dataset_records').where('dataset_id', '=', datasetId).execute();
      await db.deleteFrom('evaluation_dataset_tags').where('dataset_id', '=', datasetId).execute();
      await db.deleteFrom('evaluation_datasets').where('dataset_id', '=', datasetId).execute();
      return true;
    });
  }

  async searchDatasets(query: EvaluationDatasetSearchQuery): Promise<EvaluationDatasetRow[]> {
    let select = this.db.selectFrom('evaluation_datasets').selectAll().where('project_id', '=', query.projectId);
    if (query.experimentIds !== undefined) {
      const experimentIds = query.experimentIds;
      if (experimentIds.length === 0) return [];
      select = select.where((eb) =>
        eb.exists(
          eb
            .selectFrom('evaluation_dataset_experiments as link')
            .select('link.dataset_id')
            .whereRef('link.dataset_id', '=', 'evaluation_datasets.dataset_id')
            .where('link.experiment_id', 'in', experimentIds),
        ),
      );
    }
    for (const clause of query.filter) {
      select = select.where((eb) => clauseCondition(eb, clause));
    }
    for (const order of query.orderBy) {
      const column = ATTRIBUTE_COLUMNS[order.key];
      if (column === undefined) continue;
      select = select.orderBy(column, order.ascending ? 'asc' : 'desc');
    }
    select = select.orderBy('dataset_id', 'desc').offset(query.offset).limit(query.limit);
    return this.withTags(await select.execute());
  }

  async setDatasetTags(datasetId: string, tags: KeyValue[]): Promise<void> {
    if (tags.length === 0) return;
    // Last value of a key wins, as a dict update does.
    const byKey = new Map(tags.map((tag) => [tag.key, tag.value]));
    await this.db
      .insertInto('evaluation_dataset_tags')
      .values([...byKey].map(([key, value]) => ({ dataset_id: datasetId, key, value })))
      .onConflict((oc) => oc.columns(['dataset_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }))
      .execute();
  }

  async deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    await this.db.deleteFrom('evaluation_dataset_tags').where('dataset_id', '=', datasetId).where('key', '=', key).execute();
  }

  async updateDataset(datasetId: string, update: DatasetRecordsUpdate): Promise<void> {
    const values: Partial<DatasetRow> = {};
    if (update.schemaJson !== undefined) values.schema_json = update.schemaJson;
    if (update.profileJson !== undefined) values.profile_json = update.profileJson;
    if (update.digest !== undefined) values.digest = update.digest;
    if (update.lastUpdateTime !== undefined) values.last_update_time = update.lastUpdateTime;
    if (update.lastUpdatedBy !== undefined) values.last_updated_by = update.lastUpdatedBy;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('evaluation_datasets').set(values).where('dataset_id', '=', datasetId).execute();
  }

  // ---------------------------------------------------------------- records

  async findRecordsByInputHash(datasetId: string, inputHashes: string[]): Promise<DatasetRecordRow[]> {
    const found: DatasetRecordRow[] = [];
    for (const hashes of chunk([...new Set(inputHashes)], IN_CHUNK)) {
      const rows = await this.db
        .selectFrom('evaluation_dataset_records')
        .selectAll()
        .where('dataset_id', '=', datasetId)
        .where('input_hash', 'in', hashes)
        .execute();
      found.push(...rows.map(toRecord));
    }
    return found;
  }

  async insertRecords(records: DatasetRecordRow[]): Promise<void> {
    for (const part of chunk(records, INSERT_CHUNK)) {
      try {
        await this.db.insertInto('evaluation_dataset_records').values(part.map(fromRecord)).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError('a record with these inputs exists', { cause: error });
        throw error;
      }
    }
  }

  async updateRecord(record: DatasetRecordRow): Promise<void> {
    await this.db
      .updateTable('evaluation_dataset_records')
      .set({
        outputs: record.outputs,
        expectations: record.expectations,
        tags: record.tags,
        last_update_time: record.lastUpdateTime,
        last_updated_by: record.lastUpdatedBy,
      })
      .where('dataset_record_id', '=', record.datasetRecordId)
      .where('dataset_id', '=', record.datasetId)
      .execute();
  }

  async countRecords(datasetId: string): Promise<number> {
    const row = await this.db
      .selectFrom('evaluation_dataset_records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dataset_id', '=', datasetId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listRecords(datasetId: string, after: RecordCursor | undefined, limit: number): Promise<DatasetRecordRow[]> {
    let select = this.db.selectFrom('evaluation_dataset_records').selectAll().where('dataset_id', '=', datasetId);
    if (after !== undefined) {
      select = select.where((eb) =>
        eb.or([
          eb('created_time', '>', after.createdTime),
          eb.and([eb('created_time', '=', after.createdTime), eb('dataset_record_id', '>', after.datasetRecordId)]),
        ]),
      );
    }
    const rows = await select.orderBy('created_time', 'asc').orderBy('dataset_record_id', 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  async deleteRecords(datasetId: string, datasetRecordIds: string[]): Promise<number> {
    let deleted = 0;
    for (const ids of chunk([...new Set(datasetRecordIds)], IN_CHUNK)) {
      const result = await this.db
        .deleteFrom('evaluation_dataset_records')
        .where('dataset_id', '=', datasetId)
        .where('dataset_record_id', 'in', ids)
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  // ---------------------------------------------------------------- experiment links

  async listExperimentIds(datasetId: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('evaluation_dataset_experiments')
      .select('experiment_id')
      .where('dataset_id', '=', datasetId)
      .orderBy('created_time', 'asc')
      .orderBy('experiment_id', 'asc')
      .execute();
    return rows.map((row) => Number(row.experiment_id));
  }

  async addExperiments(datasetId: string, experimentIds: number[], now: number): Promise<void> {
    const unique = [...new Set(experimentIds)];
    if (unique.length === 0) return;
    await this.db
      .insertInto('evaluation_dataset_experiments')
      .values(unique.map((experimentId) => ({ dataset_id: datasetId, experiment_id: experimentId, created_time: now })))
      .onConflict((oc) => oc.columns(['dataset_id', 'experiment_id']).doNothing())
      .execute();
  }

  async removeExperiments(datasetId: string, experimentIds: number[]): Promise<number[]> {
    const unique = [...new Set(experimentIds)];
    if (unique.length === 0) return [];
    const linked = await this.db
      .selectFrom('evaluation_dataset_experiments')
      .select('experiment_id')
      .where('dataset_id', '=', datasetId)
      .where('experiment_id', 'in', unique)
      .execute();
    const ids = linked.map((row) => Number(row.experiment_id));
    if (ids.length > 0) {
      await this.db.deleteFrom('evaluation_dataset_experiments').where('dataset_id', '=', datasetId).where('experiment_id', 'in', ids).execute();
    }
    return ids;
  }

  // ---------------------------------------------------------------- helpers

  private async withTags(rows: DatasetRow[]): Promise<EvaluationDatasetRow[]> {
    const tagsById = new Map<string, KeyValue[]>();
    for (const ids of chunk(rows.map((row) => row.dataset_id), IN_CHUNK)) {
      const tags = await this.db
        .selectFrom('evaluation_dataset_tags')
        .select(['dataset_id', 'key', 'value'])
        .where('dataset_id', 'in', ids)
        .orderBy('dataset_id')
        .orderBy('key')
        .execute();
      for (const tag of tags) {
        const list = tagsById.get(tag.dataset_id) ?? [];
        list.push({ key: tag.key, value: tag.value });
        tagsById.set(tag.dataset_id, list);
      }
    }
    return rows.map((row) => ({
      datasetId: row.dataset_id,
      projectId: Number(row.project_id),
      name: row.name,
      schemaJson: row.schema_json,
      profileJson: row.profile_json,
      digest: row.digest,
      createdTime: Number(row.created_time),
      lastUpdateTime: Number(row.last_update_time),
      createdBy: row.created_by,
      lastUpdatedBy: row.last_updated_by,
      tags: tagsById.get(row.dataset_id) ?? [],
    }));
  }
}

/** One filter clause as a condition on a dataset row: an attribute column, or a tag subquery. */
function clauseCondition(eb: Eb, clause: EvaluationDatasetSearchQuery['filter'][number]): Expression<SqlBool> {
  if (clause.entity === 'tag') {
    // A dataset without the tag matches no comparison on it, `!=` included, as upstream.
    return eb.exists(
      eb
        .selectFrom('evaluation_dataset_tags as tag')
        .select('tag.dataset_id')
        .whereRef('tag.dataset_id', '=', 'evaluation_datasets.dataset_id')
        .where('tag.key', '=', clause.key)
        .where((inner) => compareExpression(inner.ref('tag.value'), clause.comparator, clause.value)),
    );
  }
  const column = ATTRIBUTE_COLUMNS[clause.key];
  if (column === undefined) return sql<SqlBool>`${sql.lit(false)}`;
  return compareExpression(eb.ref(`evaluation_datasets.${column}`), clause.comparator, clause.value);
}

function toRecord(row: RecordRow): DatasetRecordRow {
  return {
    datasetRecordId: row.dataset_record_id,
    datasetId: row.dataset_id,
    inputHash: row.input_hash,
    inputs: row.inputs,
    outputs: row.outputs,
    expectations: row.expectations,
    tags: row.tags,
    source: row.source,
    sourceId: row.source_id,
    sourceType: row.source_type,
    createdTime: Number(row.created_time),
    lastUpdateTime: Number(row.last_update_time),
    createdBy: row.created_by,
    lastUpdatedBy: row.last_updated_by,
  };
}

function fromRecord(record: DatasetRecordRow): RecordRow {
  return {
    dataset_record_id: record.datasetRecordId,
    dataset_id: record.datasetId,
    input_hash: record.inputHash,
    inputs: record.inputs,
    outputs: record.outputs,
    expectations: record.expectations,
    tags: record.tags,
    source: record.source,
    source_id: record.sourceId,
    source_type: record.sourceType,
    created_time: record.createdTime,
    last_update_time: record.lastUpdateTime,
    created_by: record.createdBy,
    last_updated_by: record.lastUpdatedBy,
  };
}
