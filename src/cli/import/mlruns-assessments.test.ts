import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readTraceAssessments } from './mlruns-assessments.ts';

// Two files as MLflow 3.18's file store writes them (log_feedback with a two-line rationale and
// metadata, log_expectation with a JSON value, override_feedback).
const FEEDBACK = `assessment_id: a-b0ea11badab9492abbb37240d6da8b34
assessment_name: quality
create_time: '2026-12-06T17:19:19.519Z'
feedback:
  value: 0.8
last_update_time: '2026-12-06T17:19:19.519Z'
metadata:
  k: v
rationale: 'good

  line two: yes'
source:
  source_id: ada
  source_type: HUMAN
trace_id: tr-da8869cd3147cd2642e889c41e5aa24b
valid: false
`;
const EXPECTATION = `assessment_id: a-ad5f9db014ad44de981f36b183b04d1a
assessment_name: expected
create_time: '2026-12-06T17:19:19.526Z'
expectation:
  serialized_value:
    serialization_format: JSON_FORMAT
    value: '{"answer": 6, "list": [1, "two"]}'
last_update_time: '2026-12-06T17:19:19.526Z'
overrides: a-b0ea11badab9492abbb37240d6da8b34
source:
  source_id: bob
  source_type: HUMAN
trace_id: tr-da8869cd3147cd2642e889c41e5aa24b
valid: true
`;

test('assessment files of a file-store trace are read with their ids, times, nested values and multi-line text', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlruns-assessments-'));
  try {
    fs.mkdirSync(path.join(dir, 'assessments'));
    fs.writeFileSync(path.join(dir, 'assessments', 'a-b0ea11badab9492abbb37240d6da8b34.yaml'), FEEDBACK);
    fs.writeFileSync(path.join(dir, 'assessments', 'a-ad5f9db014ad44de981f36b183b04d1a.yaml'), EXPECTATION);
    const [expectation, feedback] = await readTraceAssessments(dir);
    assert.equal(feedback!.assessmentId, 'a-b0ea11badab9492abbb37240d6da8b34');
    assert.equal(feedback!.createTime, Date.parse('2026-12-06T17:19:19.519Z'));
    assert.deepEqual(feedback!.body, {
      assessment_name: 'quality',
      feedback: { value: 0.8 },
      metadata: { k: 'v' },
      rationale: 'good\nline two: yes',
      source: { source_id: 'ada', source_type: 'HUMAN' },
      valid: false,
    });
    assert.equal(expectation!.assessmentId, 'a-ad5f9db014ad44de981f36b183b04d1a');
    assert.deepEqual(expectation!.body.expectation, { serialized_value: { serialization_format: 'JSON_FORMAT', value: '{"answer": 6, "list": [1, "two"]}' } });
    assert.equal(expectation!.body.overrides, 'a-b0ea11badab9492abbb37240d6da8b34');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a trace without an assessments folder has no assessments', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlruns-assessments-'));
  try {
    assert.deepEqual(await readTraceAssessments(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
