import { createHash, randomUUID } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { currentProjectId } from '../request-context.ts';
import { NO_AUDIT, type AuditChange, type AuditSink } from '../audit/audit-log.ts';
import type { TrackingService } from '../tracking/tracking-service.ts';
import { LIMITS, validateSearchMaxResults } from '../tracking/validation.ts';
import type { DatasetRecordRow, EvaluationDatasetRow, EvaluationDatasetStore } from '../../store/evaluation-dataset-store.ts';
import type { KeyValue } from '../../store/tracking-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { parseDatasetFilter, parseDatasetOrderBy } from './dataset-search.ts';
import { isPyObject, parsePyJson, pyStr, type PyValue } from './py-json.ts';
import {
  decodeRecordCursor,
  encodeRecordCursor,
  mergeRecordRow,
  newRecordRow,
  parseRecordsField,
  profileFor,
  recordUser,
  updatedSchema,
  USER_TAG,
  type RecordInput,
} from './records.ts';

/** Bounds of names and tags (upstream's column sizes). */
export const DATASET_LIMITS = { name: 255, tagKey: 255, tagValue: 5000, recordsPageDefault: 1000, searchDefault: 1000 } as const;

export interface Clock {
  now(): number;
}

export interface EvaluationDataset extends EvaluationDatasetRow {
  /** Present when the answer carries them (dataset creation), as upstream. */
  experimentIds?: string[];
}

export interface DatasetPage {
  datasets: EvaluationDataset[];
  nextPageToken?: string;
}

export interface RecordPage {
  records: DatasetRecordRow[];
  nextPageToken?: string;
}

function invalid(message: string): MlflowError {
  return MlflowError.invalidParameter(message);
}

/** Upstream's digest: the first 8 hex digits of SHA-256 of `<name>:<last_update_time>`, so every change gives a new one. */
export function datasetDigest(name: string, lastUpdateTime: number): string {
  return createHash('sha256').update(`${name}:${lastUpdateTime}`, 'utf8').digest('hex').slice(0, 8);
}

/**
 * MLflow 3 evaluation datasets (`mlflow.genai.datasets`): create, get, search and delete
 * datasets, set and delete their tags, link them to experiments, and upsert, page through and
 * delete their records. Everything works in the project of the request context: a dataset or
 * experiment of another project answers exactly as one that does not exist. Every change is
 * written to the audit log in its transaction.
 *
 * Semantics follow MLflow's SQL store: the creator and last updater are taken from the
 * `mlflow.user` tag the client sends; records are keyed by their inputs, and upserting a record
 * with known inputs merges its expectations and tags into the stored one; each upsert updates
 * the dataset's schema (field names and types), profile (record count), last update time and
 * digest. Deleting a dataset or a tag that does not exist is not an error.
 */
export class EvaluationDatasetService {
  constructor(
    private readonly store: EvaluationDatasetStore,
    private readonly tracking: TrackingService,
    private readonly clock: Clock = { now: () => Date.now() },
    private readonly audit: AuditSink = NO_AUDIT,
  ) {}

  private async audited<T>(work: (store: EvaluationDatasetStore) => Promise<T>, change: (result: T) => AuditChange): Promise<T> {
    return this.store.transaction(async (tx) => {
      const result = await work(tx);
      await this.audit.record(tx, change(result));
      return result;
    });
  }

  /** The stored ids of experiments of this project; an unknown one is MLflow's "No Experiment" error. */
  private async experimentIds(ids: readonly string[]): Promise<number[]> {
    const resolved: number[] = [];
    for (const id of ids) {
      const experimentId = await this.experimentIdOrUndefined(id);
      if (experimentId === undefined) throw MlflowError.notFound(`No Experiment with id=${id}`);
      resolved.push(experimentId);
    }
    return resolved;
  }

  private async experimentIdOrUndefined(id: string): Promise<number | undefined> {
    try {
      return Number((await this.tracking.getExperiment(String(id))).experimentId);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  private async existing(store: EvaluationDatasetStore, datasetId: string, message: (id: string) => string): Promise<EvaluationDatasetRow> {
    const dataset = await store.getDataset(currentProjectId(), datasetId);
    if (!dataset) throw MlflowError.notFound(message(datasetId));
    return dataset;
  }

  // ------------------------------------------------------------------ datasets

  async createDataset(input: { name: string; experimentIds: string[]; tags: string | undefined }): Promise<EvaluationDataset> {
    const name = input.name;
    if (name.length > DATASET_LIMITS.name) throw invalid(`Dataset name '${name.slice(0, 40)}…' is longer than ${DATASET_LIMITS.name} characters.`);
    const tags = input.tags === undefined || input.tags === '' ? [] : parseTagsField(input.tags);
    const experimentIds = await this.experimentIds(input.experimentIds);
    const now = this.clock.now();
    const createdBy = tags.find((tag) => tag.key === USER_TAG)?.value ?? null;
    const datasetId = `d-${randomUUID().replace(/-/g, '')}`;
    const dataset = await this.audited(
      async (tx) => {
        await tx.createDataset({ datasetId, projectId: currentProjectId(), name, digest: datasetDigest(name, now), createdBy, tags, experimentIds, now });
        return (await tx.getDataset(currentProjectId(), datasetId))!;
      },
      () => ({ action: 'evaluation_dataset.create', entityType: 'evaluation_dataset', entityId: datasetId, details: { name, experiment_ids: input.experimentIds } }),
    );
    return { ...dataset, experimentIds: experimentIds.map(String) };
  }

  async getDataset(datasetId: string): Promise<EvaluationDataset> {
    return this.existing(this.store, datasetId, (id) => `Evaluation dataset with id '${id}' not found`);
  }

  async deleteDataset(datasetId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      if (await tx.deleteDataset(currentProjectId(), datasetId)) {
        await this.audit.record(tx, { action: 'evaluation_dataset.delete', entityType: 'evaluation_dataset', entityId: datasetId });
      }
    });
  }

  async searchDatasets(input: {
    experimentIds: string[] | undefined;
    filter: string | undefined;
    maxResults: number | undefined;
    orderBy: string[] | undefined;
    pageToken: string | undefined;
  }): Promise<DatasetPage> {
    const maxResults = input.maxResults ?? DATASET_LIMITS.searchDefault;
    validateSearchMaxResults(maxResults);
    const filter = parseDatasetFilter(input.filter);
    const orderBy = parseDatasetOrderBy(input.orderBy);
    const { offset } = decodePageToken(input.pageToken);
    let experimentIds: number[] | undefined;
    if (input.experimentIds !== undefined && input.experimentIds.length > 0) {
      experimentIds = [];
      // Experiments that do not exist here simply match nothing, as upstream.
      for (const id of input.experimentIds) {
        const resolved = await this.experimentIdOrUndefined(id);
        if (resolved !== undefined) experimentIds.push(resolved);
      }
    }
    const rows = await this.store.searchDatasets({
      projectId: currentProjectId(),
      ...(experimentIds !== undefined ? { experimentIds } : {}),
      filter,
      orderBy,
      offset,
      limit: maxResults + 1,
    });
    const page: DatasetPage = { datasets: rows.slice(0, maxResults) };
    if (rows.length > maxResults) page.nextPageToken = encodePageToken({ offset: offset + maxResults, snapshot: null });
    return page;
  }

  // ------------------------------------------------------------------ tags

  async setDatasetTags(datasetId: string, tagsField: string): Promise<void> {
    const tags = parseTagsField(tagsField);
    await this.audited(
      async (tx) => {
        await this.existing(tx, datasetId, (id) => `Could not find evaluation dataset with ID ${id}`);
        await tx.setDatasetTags(datasetId, tags);
      },
      () => ({ action: 'evaluation_dataset.set_tags', entityType: 'evaluation_dataset', entityId: datasetId, details: { keys: tags.map((t) => t.key) } }),
    );
  }

  async deleteDatasetTag(datasetId: string, key: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      // Upstream: a tag of a dataset that does not exist is already gone.
      if (!(await tx.getDataset(currentProjectId(), datasetId))) return;
      await tx.deleteDatasetTag(datasetId, key);
      await this.audit.record(tx, { action: 'evaluation_dataset.delete_tag', entityType: 'evaluation_dataset', entityId: datasetId, details: { key } });
    });
  }

  // ------------------------------------------------------------------ experiment links

  async getExperimentIds(datasetId: string): Promise<string[]> {
    await this.getDataset(datasetId);
    return (await this.store.listExperimentIds(datasetId)).map(String);
  }

  async addToExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDataset> {
    await this.existing(this.store, datasetId, (id) => `Dataset '${id}' not found`);
    const ids = await this.experimentIds(experimentIds);
    return this.audited(
      async (tx) => {
        const now = this.clock.now();
        await this.existing(tx, datasetId, (id) => `Dataset '${id}' not found`);
        await tx.addExperiments(datasetId, ids, now);
        await tx.updateDataset(datasetId, { lastUpdateTime: now });
        return (await tx.getDataset(currentProjectId(), datasetId))!;
      },
      () => ({ action: 'evaluation_dataset.add_experiments', entityType: 'evaluation_dataset', entityId: datasetId, details: { experiment_ids: experimentIds } }),
    );
  }

  /** Idempotent: experiments the dataset is not linked to (or that do not exist) are ignored. */
  async removeFromExperiments(datasetId: string, experimentIds: string[]): Promise<EvaluationDataset> {
    const ids = experimentIds.filter((id) => /^\d{1,18}$/.test(id)).map(Number);
    return this.audited(
      async (tx) => {
        await this.existing(tx, datasetId, (id) => `Dataset '${id}' not found`);
        const removed = await tx.removeExperiments(datasetId, ids);
        if (removed.length > 0) await tx.updateDataset(datasetId, { lastUpdateTime: this.clock.now() });
        return (await tx.getDataset(currentProjectId(), datasetId))!;
      },
      () => ({ action: 'evaluation_dataset.remove_experiments', entityType: 'evaluation_dataset', entityId: datasetId, details: { experiment_ids: experimentIds } }),
    );
  }

  // ------------------------------------------------------------------ records

  async upsertRecords(datasetId: string, recordsField: string): Promise<{ inserted: number; updated: number }> {
    const records = parseRecordsField(recordsField);
    try {
      return await this.upsertOnce(datasetId, records);
    } catch (error) {
      // Another upsert inserted a record with the same inputs meanwhile: merge into it instead.
      if (!(error instanceof UniqueViolationError)) throw error;
      return this.upsertOnce(datasetId, records);
    }
  }

  private async upsertOnce(datasetId: string, records: RecordInput[]): Promise<{ inserted: number; updated: number }> {
    return this.audited(
      async (tx) => {
        const dataset = await tx.getDatasetForUpdate(currentProjectId(), datasetId);
        if (!dataset) throw MlflowError.notFound(`Evaluation dataset with id '${datasetId}' not found`);
        const now = this.clock.now();
        const rows = records.map((record) => newRecordRow(datasetId, `dr-${randomUUID().replace(/-/g, '')}`, record, now));
        const stored = new Map((await tx.findRecordsByInputHash(datasetId, rows.map((r) => r.inputHash))).map((r) => [r.inputHash, r]));
        const inserts = new Map<string, DatasetRecordRow>();
        const updates = new Map<string, DatasetRecordRow>();
        let inserted = 0;
        let updated = 0;
        // The dataset's last updater is the user of the last record, as upstream (none: cleared).
        let lastUpdatedBy: string | null = null;
        records.forEach((record, i) => {
          const row = rows[i]!;
          const user = recordUser(record);
          if (user !== null) lastUpdatedBy = user;
          const pending = inserts.get(row.inputHash);
          const existing = pending ?? updates.get(row.inputHash) ?? stored.get(row.inputHash);
          if (existing === undefined) {
            inserts.set(row.inputHash, row);
            inserted += 1;
            return;
          }
          const merged = mergeRecordRow(existing, record, now);
          if (pending !== undefined) inserts.set(row.inputHash, merged);
          else updates.set(row.inputHash, merged);
          updated += 1;
        });
        await tx.insertRecords([...inserts.values()]);
        for (const row of updates.values()) await tx.updateRecord(row);
        const schemaJson = updatedSchema(dataset.schemaJson, records);
        const profileJson = profileFor(await tx.countRecords(datasetId));
        await tx.updateDataset(datasetId, {
          lastUpdateTime: now,
          lastUpdatedBy,
          digest: datasetDigest(dataset.name, now),
          ...(schemaJson !== null ? { schemaJson } : {}),
          ...(profileJson !== null ? { profileJson } : {}),
        });
        return { inserted, updated };
      },
      (result) => ({ action: 'evaluation_dataset.upsert_records', entityType: 'evaluation_dataset', entityId: datasetId, details: result }),
    );
  }

  async getRecords(datasetId: string, input: { maxResults: number | undefined; pageToken: string | undefined }): Promise<RecordPage> {
    const maxResults = input.maxResults === undefined || input.maxResults === 0 ? DATASET_LIMITS.recordsPageDefault : input.maxResults;
    if (!Number.isSafeInteger(maxResults) || maxResults < 0 || maxResults > LIMITS.searchMaxResults) {
      throw invalid(`Invalid value for request parameter max_results. It must be a positive integer of at most ${LIMITS.searchMaxResults}, but got ${maxResults}`);
    }
    const after = input.pageToken === undefined || input.pageToken === '' ? undefined : decodeRecordCursor(input.pageToken);
    await this.getDataset(datasetId);
    const rows = await this.store.listRecords(datasetId, after, maxResults + 1);
    const records = rows.slice(0, maxResults);
    const page: RecordPage = { records };
    if (rows.length > maxResults && records.length > 0) page.nextPageToken = encodeRecordCursor(records[records.length - 1]!);
    return page;
  }

  async deleteRecords(datasetId: string, datasetRecordIds: string[]): Promise<number> {
    return this.audited(
      async (tx) => {
        if (!(await tx.getDatasetForUpdate(currentProjectId(), datasetId))) throw MlflowError.notFound(`Evaluation dataset with id '${datasetId}' not found`);
        const deleted = await tx.deleteRecords(datasetId, datasetRecordIds);
        // Upstream only recounts; the dataset's update time and digest stay.
        if (deleted > 0) await tx.updateDataset(datasetId, { profileJson: profileFor(await tx.countRecords(datasetId)) });
        return deleted;
      },
      (deleted) => ({ action: 'evaluation_dataset.delete_records', entityType: 'evaluation_dataset', entityId: datasetId, details: { deleted } }),
    );
  }
}

/**
 * The `tags` field of create and set-tags: a JSON object. Values that are not strings are stored
 * as Python's `str()` of them; null values are skipped, as upstream's set-tags does.
 */
export function parseTagsField(text: string): KeyValue[] {
  let parsed: PyValue;
  try {
    parsed = parsePyJson(text);
  } catch (error) {
    throw invalid(`Invalid JSON in 'tags': ${(error as Error).message}`);
  }
  if (!isPyObject(parsed)) throw invalid("'tags' must be a JSON object of tag keys and values.");
  const tags: KeyValue[] = [];
  for (const [key, value] of parsed) {
    if (value === null) continue;
    if (key === '') throw invalid('Tag keys must not be empty.');
    if (key.length > DATASET_LIMITS.tagKey) throw invalid(`Tag key '${key.slice(0, 40)}…' is longer than ${DATASET_LIMITS.tagKey} characters.`);
    const text = pyStr(value);
    if (text.length > DATASET_LIMITS.tagValue) throw invalid(`Value of tag '${key}' is longer than ${DATASET_LIMITS.tagValue} characters.`);
    tags.push({ key, value: text });
  }
  return tags;
}
