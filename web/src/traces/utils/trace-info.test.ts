import { describe, expect, it } from 'vitest';
import type { TraceInfo } from '../api/types.ts';
import { humanFeedback, sortAssessments, summarise, thumbOf } from './assessments.ts';
import { formatTokenUsage, tokenUsageOf } from './token-usage.ts';
import { durationMillis, previewText, timestampMillis, traceRunId, traceTokenUsageFromInfo, userTags } from './trace-info.ts';

const info: TraceInfo = {
  trace_id: 'tr-1',
  request_time: '2026-12-04T18:29:54.547Z',
  execution_duration: '0.031s',
  state: 'OK',
  trace_metadata: { 'mlflow.sourceRun': 'run1', 'mlflow.trace.tokenUsage': '{"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}' },
  tags: { 'mlflow.traceName': 'answer', user: 'u1', 'mlflow.artifactLocation': 'x' },
  request_preview: '{"q": "meaning of life?"}',
  response_preview: '"42"',
};

describe('trace info', () => {
  it('reads proto timestamps and durations', () => {
    expect(timestampMillis(info.request_time)).toBe(Date.UTC(2026, 11, 4, 18, 29, 54, 547));
    expect(durationMillis('0.031s')).toBeCloseTo(31);
    expect(durationMillis('12s')).toBe(12000);
    expect(durationMillis('soon')).toBeUndefined();
  });

  it('reads the run, token usage and the user tags', () => {
    expect(traceRunId(info)).toBe('run1');
    expect(traceTokenUsageFromInfo(info)).toEqual({ input: 12, output: 3, total: 15 });
    expect(userTags(info)).toEqual([['user', 'u1']]);
  });

  it('shows previews the way one reads them', () => {
    expect(previewText(info.request_preview)).toBe('meaning of life?');
    expect(previewText(info.response_preview)).toBe('42');
    expect(previewText('{"a": 1, "b": 2}')).toBe('{"a":1,"b":2}');
    expect(previewText('cut off {"a')).toBe('cut off {"a');
  });

  it('reads OpenAI-style usage and formats it', () => {
    expect(tokenUsageOf({ prompt_tokens: 4, completion_tokens: 6 })).toEqual({ input: 4, output: 6, total: 10 });
    expect(tokenUsageOf('nope')).toBeUndefined();
    expect(formatTokenUsage({ input: 1000, output: 234, total: 1234 })).toBe('1,234 (1,000 in / 234 out)');
  });
});

describe('assessments', () => {
  it('builds human thumbs feedback as the MLflow client sends it', () => {
    expect(humanFeedback({ traceId: 'tr-1', name: ' ', up: true, rationale: ' cites the doc ', author: 'alice', now: Date.UTC(2026, 0, 1) })).toEqual({
      assessment_name: 'user_feedback',
      trace_id: 'tr-1',
      source: { source_type: 'HUMAN', source_id: 'alice' },
      create_time: '2026-01-01T00:00:00.000Z',
      last_update_time: '2026-01-01T00:00:00.000Z',
      feedback: { value: true },
      rationale: 'cites the doc',
    });
  });

  it('counts valid thumbs and puts superseded ones last', () => {
    const list = [
      { assessment_name: 'a', feedback: { value: true }, create_time: '2026-01-01T00:00:00Z' },
      { assessment_name: 'b', feedback: { value: false }, valid: false, create_time: '2026-01-03T00:00:00Z' },
      { assessment_name: 'c', feedback: { value: 'no' }, create_time: '2026-01-02T00:00:00Z' },
      { assessment_name: 'd', expectation: { value: '42' } },
    ];
    expect(summarise(list)).toEqual({ up: 1, down: 1, other: 1 });
    expect(sortAssessments(list).map((a) => a.assessment_name)).toEqual(['c', 'a', 'd', 'b']);
    expect(thumbOf(list[3]!)).toBeUndefined();
  });
});
