import { createHash } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import type { DatasetRecordRow } from '../../store/evaluation-dataset-store.ts';
import { dumpsPy, isPyObject, parsePyJson, PyNumber, pyStr, type PyObject, type PyValue } from './py-json.ts';

/**
 * Records of an evaluation dataset: what an upserted record may hold, how a record with the same
 * inputs merges into the stored one, the dataset schema inferred from records, and the record
 * dictionaries the client reads back (`DatasetRecord.to_dict()` upstream).
 */

export const SOURCE_TYPES = ['UNSPECIFIED', 'TRACE', 'HUMAN', 'DOCUMENT', 'CODE'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** The tag the MLflow client puts on datasets and records: who made or last changed them. */
export const USER_TAG = 'mlflow.user';

/** One record of an upsert request, checked. */
export interface RecordInput {
  inputs: PyObject;
  /** `undefined`: the request did not mention outputs (insert: `{}`, merge: unchanged). */
  outputs: PyValue | undefined;
  expectations: PyObject | null;
  tags: PyObject | null;
  source: { sourceType: SourceType; sourceData: PyObject } | null;
}

function invalid(message: string): MlflowError {
  return MlflowError.invalidParameter(message);
}

function objectOrNull(value: PyValue | undefined, field: string, index: number): PyObject | null {
  if (value === undefined || value === null) return null;
  if (!isPyObject(value)) throw invalid(`Record ${index}: '${field}' must be a JSON object.`);
  return value;
}

/** Parses the `records` field of an upsert: a JSON list of record objects. */
export function parseRecordsField(text: string): RecordInput[] {
  let parsed: PyValue;
  try {
    parsed = parsePyJson(text);
  } catch (error) {
    throw invalid(`Invalid JSON in 'records': ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw invalid("'records' must be a JSON list of record objects.");
  return parsed.map((item, index) => {
    if (!isPyObject(item)) throw invalid(`Record ${index} must be a JSON object.`);
    const inputs = objectOrNull(item.get('inputs'), 'inputs', index) ?? new Map();
    return {
      inputs,
      outputs: item.has('outputs') ? (item.get('outputs') as PyValue) : undefined,
      expectations: objectOrNull(item.get('expectations'), 'expectations', index),
      tags: objectOrNull(item.get('tags'), 'tags', index),
      source: parseSource(item.get('source'), index),
    };
  });
}

function parseSource(value: PyValue | undefined, index: number): RecordInput['source'] {
  if (value === undefined || value === null) return null;
  if (!isPyObject(value)) throw invalid(`Record ${index}: 'source' must be a JSON object with 'source_type' and 'source_data'.`);
  for (const key of value.keys()) {
    if (key !== 'source_type' && key !== 'source_data') throw invalid(`Record ${index}: unknown field '${key}' in 'source'.`);
  }
  const rawType = value.get('source_type');
  if (typeof rawType !== 'string') throw invalid(`Record ${index}: 'source.source_type' must be a string.`);
  const sourceType = SOURCE_TYPES.find((t) => t === rawType.toUpperCase());
  if (sourceType === undefined) {
    throw invalid(`Invalid dataset record source type: ${rawType.toUpperCase()}. Valid source types: [${SOURCE_TYPES.map((t) => `'${t}'`).join(', ')}]`);
  }
  const sourceData = objectOrNull(value.get('source_data'), 'source.source_data', index) ?? new Map();
  return { sourceType, sourceData };
}

/** SHA-256 of the inputs as Python's `json.dumps(inputs, sort_keys=True)`: records with equal inputs share it. */
export function inputHash(inputs: PyObject): string {
  return createHash('sha256').update(dumpsPy(inputs, { sortKeys: true }), 'utf8').digest('hex');
}

function userOf(tags: PyObject | null): string | null {
  const user = tags?.get(USER_TAG);
  return user === undefined || user === null ? null : pyStr(user);
}

/** The user a record names in its `mlflow.user` tag, if any. */
export function recordUser(record: RecordInput): string | null {
  return userOf(record.tags);
}

function textOrNull(value: PyValue | null | undefined): string | null {
  return value === null || value === undefined ? null : dumpsPy(value);
}

/** A new stored record from an upserted one. */
export function newRecordRow(datasetId: string, recordId: string, record: RecordInput, now: number): DatasetRecordRow {
  const user = userOf(record.tags);
  let sourceId: string | null = null;
  if (record.source) {
    const id = record.source.sourceData.get(record.source.sourceType === 'TRACE' ? 'trace_id' : 'source_id');
    sourceId = id === undefined || id === null ? null : pyStr(id);
  }
  return {
    datasetRecordId: recordId,
    datasetId,
    inputHash: inputHash(record.inputs),
    inputs: dumpsPy(record.inputs),
    outputs: record.outputs === undefined ? '{}' : textOrNull(record.outputs),
    expectations: textOrNull(record.expectations),
    tags: textOrNull(record.tags),
    source: record.source
      ? dumpsPy(
          new Map<string, PyValue>([
            ['source_type', record.source.sourceType],
            ['source_data', record.source.sourceData],
          ]),
        )
      : null,
    sourceId,
    sourceType: record.source?.sourceType ?? null,
    createdTime: now,
    lastUpdateTime: now,
    createdBy: user,
    lastUpdatedBy: user,
  };
}

function parseStoredObject(text: string | null): PyObject | null {
  if (text === null) return null;
  const value = parsePyJson(text);
  return isPyObject(value) ? value : null;
}

/**
 * Merges an upserted record into the stored one with the same inputs: outputs are replaced when
 * the request names them, expectations and tags are updated key by key (an empty object changes
 * nothing), source and creation stay. `mlflow.user` in the new tags becomes the last updater.
 */
export function mergeRecordRow(existing: DatasetRecordRow, record: RecordInput, now: number): DatasetRecordRow {
  const merged: DatasetRecordRow = { ...existing, lastUpdateTime: now };
  if (record.outputs !== undefined) merged.outputs = textOrNull(record.outputs);
  if (record.expectations && record.expectations.size > 0) {
    const expectations = parseStoredObject(existing.expectations) ?? new Map();
    for (const [key, value] of record.expectations) expectations.set(key, value);
    merged.expectations = dumpsPy(expectations);
  }
  if (record.tags && record.tags.size > 0) {
    const tags = parseStoredObject(existing.tags) ?? new Map();
    for (const [key, value] of record.tags) tags.set(key, value);
    merged.tags = dumpsPy(tags);
    const user = userOf(record.tags);
    if (user !== null) merged.lastUpdatedBy = user;
  }
  return merged;
}

/** Type names of the dataset schema (upstream `_infer_field_type`). */
function fieldType(value: PyValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof PyNumber) return value.isInteger ? 'integer' : 'float';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

function addFields(section: PyValue | undefined, values: PyObject): void {
  if (!isPyObject(section)) return;
  for (const [key, value] of values) if (!section.has(key)) section.set(key, fieldType(value));
}

/**
 * The dataset schema after an upsert: the fields (and their first-seen types) of inputs, outputs
 * and expectations, as `{"inputs": …, "outputs": …, "expectations": …, "version": "1.0"}`.
 * Fields are only ever added. Null when there is neither a schema nor a record.
 */
export function updatedSchema(existingJson: string | null, records: RecordInput[]): string | null {
  if (records.length === 0 && existingJson === null) return null;
  let schema = existingJson === null ? null : parseStoredObject(existingJson);
  if (schema === null) {
    schema = new Map<string, PyValue>([
      ['inputs', new Map()],
      ['outputs', new Map()],
      ['expectations', new Map()],
      ['version', '1.0'],
    ]);
  }
  for (const record of records) {
    addFields(schema.get('inputs'), record.inputs);
    if (record.outputs !== undefined && record.outputs !== null) {
      if (isPyObject(record.outputs)) addFields(schema.get('outputs'), record.outputs);
      else {
        const current = schema.get('outputs');
        if (isPyObject(current) ? current.size === 0 : !current) schema.set('outputs', fieldType(record.outputs));
      }
    }
    if (record.expectations) addFields(schema.get('expectations'), record.expectations);
  }
  return dumpsPy(schema);
}

/** `{"num_records": n}`, or null for an empty dataset. */
export function profileFor(recordCount: number): string | null {
  return recordCount > 0 ? dumpsPy(new Map([['num_records', new PyNumber(String(recordCount))]])) : null;
}

/** A stored record as the client reads it: upstream's `DatasetRecord.to_dict()`, in its field order. */
export function recordToWire(row: DatasetRecordRow): PyObject {
  const out: PyObject = new Map();
  out.set('dataset_record_id', row.datasetRecordId);
  out.set('dataset_id', row.datasetId);
  out.set('inputs', parsePyJson(row.inputs));
  if (row.expectations !== null) out.set('expectations', parsePyJson(row.expectations));
  out.set('tags', row.tags === null ? new Map() : parsePyJson(row.tags));
  if (row.source !== null) out.set('source', parsePyJson(row.source));
  if (row.sourceId !== null) out.set('source_id', row.sourceId);
  if (row.sourceType !== null) out.set('source_type', row.sourceType);
  out.set('created_time', new PyNumber(String(row.createdTime)));
  out.set('last_update_time', new PyNumber(String(row.lastUpdateTime)));
  if (row.createdBy !== null) out.set('created_by', row.createdBy);
  if (row.lastUpdatedBy !== null) out.set('last_updated_by', row.lastUpdatedBy);
  if (row.outputs !== null) out.set('outputs', parsePyJson(row.outputs));
  return out;
}

/** Record page tokens: base64 of `<created_time>:<dataset_record_id>` of the last record sent, as upstream. */
export function encodeRecordCursor(row: DatasetRecordRow): string {
  return Buffer.from(`${row.createdTime}:${row.datasetRecordId}`, 'utf8').toString('base64');
}

export function decodeRecordCursor(token: string): { createdTime: number; datasetRecordId: string } {
  const decoded = /^[A-Za-z0-9+/=_-]+$/.test(token) ? Buffer.from(token, 'base64').toString('utf8') : '';
  const match = /^(\d{1,16}):(.+)$/.exec(decoded);
  if (!match) throw invalid(`Invalid page token '${token}'.`);
  return { createdTime: Number(match[1]), datasetRecordId: match[2]! };
}
