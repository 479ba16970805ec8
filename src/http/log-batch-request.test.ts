import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readLogBatch } from './log-batch-request.ts';
import { logBatchSchema, toMetricInput } from './runs.routes.ts';
import type { MetricInput } from '../domain/tracking/tracking-base.ts';

const metric = { key: 'loss', value: 0.5, timestamp: 1_700_000_000_000, step: 3 };

/** What the route would hand the domain through the zod schema, or undefined where zod refuses. */
function throughSchema(fields: Record<string, unknown>) {
  const result = logBatchSchema.safeParse(fields);
  if (!result.success) return undefined;
  const input = result.data;
  return { run_id: input.run_id, run_uuid: input.run_uuid, metrics: (input.metrics ?? []).map(toMetricInput), params: input.params ?? [], tags: input.tags ?? [] };
}

const accepted: Record<string, unknown>[] = [
  { run_id: 'r1', metrics: [metric] },
  { run_uuid: 'r1', metrics: [{ ...metric, step: undefined }] },
  { run_id: 'r1', metrics: [{ key: 'a', value: '1.5e3', timestamp: '17', step: '-2' }] },
  { run_id: 'r1', metrics: [{ key: 'a', value: 'NaN', timestamp: 1 }, { key: 'b', value: '-Infinity', timestamp: 2 }] },
  { run_id: 'r1', metrics: [{ ...metric, value: -0, extra: 'ignored', model_id: 'm-1', dataset_name: 'd', dataset_digest: 'x' }] },
  { run_id: 'r1', params: [{ key: 'lr', value: '0.1', other: 1 }], tags: [{ key: 't', value: '' }] },
  { run_id: 'r1' },
  {},
];

const refused: Record<string, unknown>[] = [
  { run_id: 5, metrics: [metric] },
  { run_id: 'r1', metrics: {} },
  { run_id: 'r1', metrics: [null] },
  { run_id: 'r1', metrics: [[]] },
  { run_id: 'r1', metrics: [{ ...metric, key: 1 }] },
  { run_id: 'r1', metrics: [{ ...metric, value: 'abc' }] },
  { run_id: 'r1', metrics: [{ ...metric, value: null }] },
  { run_id: 'r1', metrics: [{ ...metric, value: true }] },
  { run_id: 'r1', metrics: [{ ...metric, timestamp: 1.5 }] },
  { run_id: 'r1', metrics: [{ ...metric, timestamp: 2 ** 53 }] },
  { run_id: 'r1', metrics: [{ ...metric, timestamp: undefined }] },
  { run_id: 'r1', metrics: [{ ...metric, step: null }] },
  { run_id: 'r1', metrics: [{ ...metric, step: '1.0' }] },
  { run_id: 'r1', metrics: [{ ...metric, model_id: null }] },
  { run_id: 'r1', metrics: [metric, { ...metric, dataset_digest: 7 }] },
  { run_id: 'r1', params: [{ key: 'lr' }] },
  { run_id: 'r1', params: [{ key: 'lr', value: 0.1 }] },
  { run_id: 'r1', tags: 'not-a-list' },
  { run_id: 'r1', tags: [{ key: null, value: 'v' }] },
];

/** A metric with every field of MetricInput present, as toMetricInput builds it. */
function allFields(m: MetricInput): MetricInput {
  return { key: m.key, value: m.value, timestamp: m.timestamp, step: m.step, modelId: m.modelId, datasetName: m.datasetName, datasetDigest: m.datasetDigest };
}

describe('the log-batch reader without zod', () => {
  test('accepts what the zod schema accepts and hands the domain the same values', () => {
    for (const fields of accepted) {
      const expected = throughSchema(fields);
      assert.ok(expected, `the schema accepts ${JSON.stringify(fields)}`);
      const read = readLogBatch(fields);
      assert.ok(read, JSON.stringify(fields));
      assert.deepEqual({ ...read, metrics: read.metrics.map(allFields) }, expected, JSON.stringify(fields));
    }
  });

  test('leaves every request the schema refuses to the schema, so its MLflow error is unchanged', () => {
    for (const fields of refused) {
      assert.equal(throughSchema(fields), undefined, `the schema refuses ${JSON.stringify(fields)}`);
      assert.equal(readLogBatch(fields), undefined, JSON.stringify(fields));
    }
  });

  test('hands on the parsed metric objects themselves when all of them are plain numbers, filling in a missing step', () => {
    const list = [{ ...metric }, { key: 'b', value: 1, timestamp: 2 }];
    const read = readLogBatch({ run_id: 'r1', metrics: list });
    assert.equal(read?.metrics, list);
    assert.equal(read?.metrics[0], list[0]);
    assert.equal(read?.metrics[1]?.step, 0);
  });

  test('copies the metrics when one of them needs converting, leaving the request as it was', () => {
    const list = [{ ...metric }, { key: 'b', value: 'NaN', timestamp: '2' }];
    const read = readLogBatch({ run_id: 'r1', metrics: list });
    assert.notEqual(read?.metrics, list);
    assert.ok(Number.isNaN(read?.metrics[1]?.value));
    assert.equal(read?.metrics[1]?.timestamp, 2);
    assert.deepEqual(list[1], { key: 'b', value: 'NaN', timestamp: '2' });
  });
});
