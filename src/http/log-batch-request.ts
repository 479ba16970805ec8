import type { MetricInput } from '../domain/tracking/tracking-base.ts';
import type { KeyValue } from '../store/tracking-store.ts';

/**
 * A log-batch request read without zod: the common, valid request in one pass over its arrays.
 *
 * A 1,000-point batch through the zod schema of runs.routes.ts cost ~0.5 ms of CPU and several
 * temporary objects per point (union results, issue lists, the stripped copy, then the domain's
 * copy). This reader accepts exactly what that schema accepts and builds the domain's metric
 * objects directly. It never decides an error: for anything it does not recognise as valid
 * (a missing or mistyped field, a number outside the safe integer range, null for an optional
 * field, ...) it answers `undefined` and the route falls back to the zod schema, so every error
 * keeps MLflow's exact message from `parseFields`.
 */
export interface LogBatchFields {
  run_id?: string | undefined;
  run_uuid?: string | undefined;
  metrics: MetricInput[];
  params: KeyValue[];
  tags: KeyValue[];
}

const INT64_TEXT = /^-?\d+$/;
const DOUBLE_TEXT = /^(NaN|-?Infinity|[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$/;

export function readLogBatch(fields: Record<string, unknown>): LogBatchFields | undefined {
  const runId = fields.run_id;
  const runUuid = fields.run_uuid;
  if (runId !== undefined && typeof runId !== 'string') return undefined;
  if (runUuid !== undefined && typeof runUuid !== 'string') return undefined;
  const metrics = fields.metrics === undefined ? [] : readMetrics(fields.metrics);
  if (metrics === undefined) return undefined;
  const params = fields.params === undefined ? [] : readKeyValues(fields.params);
  if (params === undefined) return undefined;
  const tags = fields.tags === undefined ? [] : readKeyValues(fields.tags);
  if (tags === undefined) return undefined;
  return { run_id: runId, run_uuid: runUuid, metrics, params, tags };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether every metric of the list is already what the domain takes (a string key, a number value
 * that is not NaN, safe-integer timestamp and step or no step, no model or dataset field): then the
 * parsed objects are handed on as they are, with no second object per point. A 1,000-point batch
 * lives until its group commit's fdatasync, so every object per point is copied by the young
 * generation's scavenges and promoted; this halves what a batch keeps alive.
 */
function allPlain(list: unknown[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const m: unknown = list[i];
    if (!isPlainObject(m)) return false;
    if (typeof m.key !== 'string') return false;
    const value = m.value;
    if (typeof value !== 'number' || value !== value) return false;
    if (typeof m.timestamp !== 'number' || !Number.isSafeInteger(m.timestamp)) return false;
    const step = m.step;
    if (step !== undefined && (typeof step !== 'number' || !Number.isSafeInteger(step))) return false;
    if (m.model_id !== undefined || m.dataset_name !== undefined || m.dataset_digest !== undefined) return false;
  }
  return true;
}

function readMetrics(list: unknown): MetricInput[] | undefined {
  if (!Array.isArray(list)) return undefined;
  if (allPlain(list)) {
    // The parsed objects themselves (unknown extra fields, which the schema strips, are ignored by
    // every reader of MetricInput); only a missing step is filled in, as the schema's default.
    for (const m of list as Array<Record<string, unknown>>) if (m.step === undefined) m.step = 0;
    return list as MetricInput[];
  }
  const out: MetricInput[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const m: unknown = list[i];
    if (!isPlainObject(m)) return undefined;
    const key = m.key;
    if (typeof key !== 'string') return undefined;
    const value = readDouble(m.value);
    if (value === undefined) return undefined;
    const timestamp = readInt64(m.timestamp);
    if (timestamp === undefined) return undefined;
    let step = 0;
    if (m.step !== undefined) {
      const read = readInt64(m.step);
      if (read === undefined) return undefined;
      step = read;
    }
    const modelId = m.model_id;
    const datasetName = m.dataset_name;
    const datasetDigest = m.dataset_digest;
    if (modelId !== undefined && typeof modelId !== 'string') return undefined;
    if (datasetName !== undefined && typeof datasetName !== 'string') return undefined;
    if (datasetDigest !== undefined && typeof datasetDigest !== 'string') return undefined;
    out[i] = { key, value, timestamp, step, modelId, datasetName, datasetDigest };
  }
  return out;
}

function readKeyValues(list: unknown): KeyValue[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: KeyValue[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    if (!isPlainObject(entry)) return undefined;
    const { key, value } = entry;
    if (typeof key !== 'string' || typeof value !== 'string') return undefined;
    out[i] = { key, value };
  }
  return out;
}

/** The `int64` of request-schema.ts: a safe integer, or its decimal text. */
function readInt64(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && INT64_TEXT.test(value)) return Number(value);
  return undefined;
}

/** The `double` of request-schema.ts: any number but NaN, or numeric text including NaN/±Infinity. */
function readDouble(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string' && DOUBLE_TEXT.test(value)) return Number(value);
  return undefined;
}
