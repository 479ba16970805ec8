import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MlflowRestWriter } from '../../src/cli/export/mlflow-writer.ts';
import { createImportProgress } from '../../src/cli/import/progress.ts';
import type { MigrationSource, SourceTrace } from '../../src/domain/import/source.ts';
import { migrationSource } from '../support/migration-source.ts';
import type { SpanDict } from '../../src/domain/tracing/spans.ts';
import { startMlflowStandIn, type SeenRequest, type StandIn } from '../support/mlflow-stand-in.ts';

/**
 * `trove export --to` and traces, against a recording stand-in for the target (the real MLflow
 * server is the judge in compat/test_export_to_mlflow.py): what goes on the wire — trace info
 * under the id the spans' OTLP trace id gives, spans as OTLP/JSON with hex ids and the
 * experiment header, assessments with their new ids printed in the mapping — and a target
 * without tracing routes, which gets a warning and no failure; a target that already holds the
 * trace (an earlier export) gets only what it lacks.
 */

const OTEL_TRACE = '0123456789abcdef0123456789abcdef';
const ROOT = 'aaaaaaaaaaaaaaaa';
const CHILD = 'bbbbbbbbbbbbbbbb';

function b64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function span(id: string, parent: string | null, name: string, attributes: Record<string, string>): SpanDict {
  return {
    trace_id: b64(OTEL_TRACE),
    span_id: b64(id),
    parent_span_id: parent ? b64(parent) : null,
    name,
    kind: 'SPAN_KIND_INTERNAL',
    start_time_unix_nano: '1700000000000000001',
    end_time_unix_nano: '1700000000500000001',
    events: [],
    status: { code: 'STATUS_CODE_OK', message: '' },
    attributes,
    links: [],
  };
}

const TRACE: SourceTrace = {
  info: {
    traceId: `tr-${OTEL_TRACE}`,
    experimentId: '5',
    requestTime: 1_700_000_000_000,
    executionDuration: 500,
    state: 'OK',
    clientRequestId: null,
    requestPreview: '{"q": "x"}',
    responsePreview: '"42"',
    metadata: { 'app.version': '7', 'mlflow.sourceRun': 'old-run' },
    tags: { user: 'u1', 'mlflow.artifactLocation': 'file:///trove/artifacts/5/traces/x' },
    assessments: [
      {
        assessmentId: 'a-first',
        createTime: 1_700_000_001_000,
        lastUpdateTime: 1_700_000_001_000,
        body: { assessment_name: 'quality', feedback: { value: 0.8 }, source: { source_type: 'HUMAN', source_id: 'ada' } },
      },
      {
        assessmentId: 'a-second',
        createTime: 1_700_000_002_000,
        lastUpdateTime: 1_700_000_002_000,
        body: { assessment_name: 'quality', feedback: { value: 0.9 }, overrides: 'a-first', source: { source_type: 'HUMAN', source_id: 'bob' } },
      },
    ],
  },
  spans: [span(ROOT, null, 'answer', { model: '"tiny"', 'mlflow.spanInputs': '{"q": "x"}' }), span(CHILD, ROOT, 'retrieve', { k: '3' })],
};

function sourceWithOneTrace(): MigrationSource {
  return migrationSource({
    async *experiments() {
      yield { experimentId: '5', name: 'traced', artifactLocation: '', lifecycleStage: 'active', creationTime: 0, lastUpdateTime: 0, tags: [] };
    },
    async traceIds(experimentId: string) {
      return { traceIds: experimentId === '5' ? [TRACE.info.traceId] : [] };
    },
    async trace() {
      return TRACE;
    },
  });
}

type Seen = SeenRequest;

/** Answers like an MLflow server with experiment 'traced' as id 77; with `tracing: false`, trace routes are 404. */
function startTarget(tracing: boolean, seen: Seen[]): Promise<StandIn> {
  let assessments = 0;
  return startMlflowStandIn(seen, ({ method, path }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active' } }];
    if (path.startsWith('/api/3.0/mlflow/traces') || path === '/v1/traces') {
      if (!tracing) return [404, { error: 'Not Found' }];
      if (path.endsWith('/assessments')) return [200, { assessment: { assessment_id: `a-new-${++assessments}` } }];
      // A target that does not hold the trace yet (an export looks before it writes).
      if (method === 'GET' && path.startsWith('/api/3.0/mlflow/traces/tr-')) return [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Trace not found' }];
    }
    return [200, {}];
  });
}

/** Like {@link startTarget}, holding the trace already (spans, the first assessment, under another id). */
function startHoldingTarget(seen: Seen[]): Promise<StandIn> {
  return startMlflowStandIn(seen, ({ method, path }) => {
    if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active' } }];
    if (method === 'GET' && path === `/api/3.0/mlflow/traces/tr-${OTEL_TRACE}`) {
      return [
        200,
        {
          trace: {
            trace_info: {
              trace_id: `tr-${OTEL_TRACE}`,
              trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '77' } },
              request_time: '2023-11-14T22:13:20.000Z',
              execution_duration: '0.501s',
              state: 'OK',
              tags: { user: 'u1', 'mlflow.trace.spansLocation': 'TRACKING_STORE', 'mlflow.artifactLocation': 'mlflow-artifacts:/77/traces/x' },
              trace_metadata: {},
              assessments: [
                {
                  assessment_id: 'a-target-1',
                  assessment_name: 'quality',
                  feedback: { value: 0.8 },
                  source: { source_type: 'HUMAN', source_id: 'ada' },
                  create_time: new Date(1_700_000_001_000).toISOString(),
                  last_update_time: new Date(1_700_000_001_000).toISOString(),
                },
              ],
            },
          },
        },
      ];
    }
    if (path.endsWith('/assessments')) return [200, { assessment: { assessment_id: 'a-target-2' } }];
    return [200, {}];
  });
}

describe('trove export --to writes traces', () => {
  const seen: Seen[] = [];
  let target: StandIn;
  before(async () => {
    target = await startTarget(true, seen);
  });
  after(async () => target.close());

  test('the trace info, its spans as OTLP JSON and its assessments reach the target, and new assessment ids are mapped', async () => {
    const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 'this-trove' }).write(sourceWithOneTrace());
    assert.deepEqual(totals.failures, []);
    assert.equal(totals.traces, 1);
    assert.equal(totals.assessments, 2);

    const start = seen.find((s) => s.method === 'POST' && s.path === '/api/3.0/mlflow/traces');
    assert.ok(start, 'StartTraceV3 was sent');
    const info = (JSON.parse(start.body) as { trace: { trace_info: Record<string, any> } }).trace.trace_info; // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
    assert.equal(info.trace_id, `tr-${OTEL_TRACE}`);
    assert.deepEqual(info.trace_location, { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '77' } });
    assert.equal(info.request_time, '2023-11-14T22:13:20.000Z');
    assert.equal(info.execution_duration, '0.500s');
    assert.deepEqual(info.tags, { user: 'u1' }, "Trove's artifact location tag is left to the target");
    assert.equal(info.trace_metadata['app.version'], '7');

    const otlp = seen.find((s) => s.path === '/v1/traces');
    assert.ok(otlp, 'spans were sent to /v1/traces');
    assert.equal(otlp.headers['x-mlflow-experiment-id'], '77');
    assert.match(String(otlp.headers['content-type']), /^application\/json/);
    const spans = (JSON.parse(otlp.body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, any>> }> }> }).resourceSpans[0]!.scopeSpans[0]!.spans; // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
    assert.deepEqual(
      spans.map((s) => [s.name, s.traceId, s.spanId, s.parentSpanId ?? null]),
      [
        ['answer', OTEL_TRACE, ROOT, null],
        ['retrieve', OTEL_TRACE, CHILD, ROOT],
      ],
    );
    assert.deepEqual(spans[0]!.attributes, [
      { key: 'model', value: { stringValue: 'tiny' } },
      { key: 'mlflow.spanInputs', value: { kvlistValue: { values: [{ key: 'q', value: { stringValue: 'x' } }] } } },
    ]);
    assert.equal(spans[0]!.startTimeUnixNano, '1700000000000000001');

    const created = seen.filter((s) => s.path === `/api/3.0/mlflow/traces/tr-${OTEL_TRACE}/assessments`).map((s) => JSON.parse(s.body).assessment as Record<string, unknown>);
    assert.equal(created.length, 2);
    assert.equal(created[0]!.assessment_id, undefined, 'the target gives the id');
    assert.equal(created[1]!.overrides, 'a-new-1', 'an override follows the new id of what it overrides');
    assert.deepEqual(
      totals.mapping.filter((m) => m.kind === 'assessment'),
      [
        { kind: 'assessment', from: 'a-first', to: 'a-new-1' },
        { kind: 'assessment', from: 'a-second', to: 'a-new-2' },
      ],
    );
    assert.equal(totals.mapping.filter((m) => m.kind === 'trace').length, 0, 'the trace kept its id');
  });

  test('a trace the target already holds gets only the assessment it lacks, overriding the found id, and no info or spans again', async () => {
    const calls: Seen[] = [];
    const held = await startHoldingTarget(calls);
    try {
      const totals = await new MlflowRestWriter(held.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 'this-trove' }).write(sourceWithOneTrace());
      assert.deepEqual(totals.failures, []);
      assert.equal(calls.filter((c) => c.method === 'POST' && c.path === '/api/3.0/mlflow/traces').length, 0, 'no StartTraceV3');
      assert.equal(calls.filter((c) => c.path === '/v1/traces').length, 0, 'no spans');
      const created = calls.filter((c) => c.path.endsWith('/assessments')).map((c) => JSON.parse(c.body).assessment as Record<string, unknown>);
      assert.equal(created.length, 1);
      assert.equal(created[0]!.overrides, 'a-target-1', 'the override follows the id the target already had');
      assert.equal(totals.assessments, 1);
      assert.deepEqual(
        totals.mapping.filter((m) => m.kind === 'assessment'),
        [
          { kind: 'assessment', from: 'a-first', to: 'a-target-1' },
          { kind: 'assessment', from: 'a-second', to: 'a-target-2' },
        ],
      );
    } finally {
      await held.close();
    }
  });

  test('a trace the target lists with the same state, tags, spans and assessments is left out: not read from Trove, not asked for, nothing sent', async () => {
    const listed = (assessments: Array<[id: string, source: string, value: number, time: number]>) => ({
      trace_id: `tr-${OTEL_TRACE}`,
      trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: '77' } },
      request_time: '2023-11-14T22:13:20.000Z',
      state: 'OK',
      tags: { user: 'u1', 'mlflow.trace.spansLocation': 'TRACKING_STORE', 'mlflow.artifactLocation': 'mlflow-artifacts:/77/traces/x' },
      trace_metadata: {},
      assessments: assessments.map(([id, source, value, time]) => ({
        assessment_id: id,
        assessment_name: 'quality',
        feedback: { value },
        source: { source_type: 'HUMAN', source_id: source },
        create_time: new Date(time).toISOString(),
        last_update_time: new Date(time).toISOString(),
      })),
    });
    const complete = listed([
      ['a-target-1', 'ada', 0.8, 1_700_000_001_000],
      ['a-target-2', 'bob', 0.9, 1_700_000_002_000],
    ]);
    const run = async (listing: Record<string, unknown>) => {
      const calls: Seen[] = [];
      const target = await startMlflowStandIn(calls, ({ method, path }) => {
        if (path === '/api/2.0/mlflow/experiments/get-by-name') return [200, { experiment: { experiment_id: '77', lifecycle_stage: 'active' } }];
        if (method === 'POST' && path === '/api/3.0/mlflow/traces/search') return [200, { traces: [listing] }];
        if (method === 'GET' && path === `/api/3.0/mlflow/traces/tr-${OTEL_TRACE}`) return [200, { trace: { trace_info: listing } }];
        if (path.endsWith('/assessments')) return [200, { assessment: { assessment_id: 'a-target-new' } }];
        return [200, {}];
      });
      let read = 0;
      const source = sourceWithOneTrace();
      source.traceIds = async (experimentId: string) => ({ traceIds: experimentId === '5' ? [TRACE.info.traceId] : [], infos: experimentId === '5' ? [TRACE.info] : [] });
      source.trace = async () => {
        read++;
        return TRACE;
      };
      try {
        const totals = await new MlflowRestWriter(target.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 'this-trove' }).write(source);
        assert.deepEqual(totals.failures, []);
        return { totals, read, traceCalls: calls.filter((c) => c.path.startsWith('/api/3.0/mlflow/traces') && c.path !== '/api/3.0/mlflow/traces/search') };
      } finally {
        await target.close();
      }
    };

    const same = await run(complete);
    assert.equal(same.read, 0, 'the trace and its spans were not read from Trove');
    assert.deepEqual(same.traceCalls, [], 'nothing was asked for or sent about the trace');
    assert.equal(same.totals.tracesUnchanged, 1);
    assert.deepEqual(
      same.totals.mapping.filter((m) => m.kind === 'assessment'),
      [
        { kind: 'assessment', from: 'a-first', to: 'a-target-1' },
        { kind: 'assessment', from: 'a-second', to: 'a-target-2' },
      ],
      'the printed mapping is the one a full comparison gives',
    );

    // One assessment missing there: the trace takes the full path and gets just that one.
    const lacking = await run(listed([['a-target-1', 'ada', 0.8, 1_700_000_001_000]]));
    assert.equal(lacking.read, 1);
    assert.equal(lacking.traceCalls.filter((c) => c.path.endsWith('/assessments')).length, 1);
  });

  test('a target without tracing routes gets a warning naming the traces left behind, not a failure', async () => {
    const none: Seen[] = [];
    const bare = await startTarget(false, none);
    try {
      const totals = await new MlflowRestWriter(bare.url, createImportProgress({ quiet: true }), 1, {}, { sourceStore: 'this-trove' }).write(sourceWithOneTrace());
      assert.deepEqual(totals.failures, []);
      assert.equal(totals.traces, 0);
      assert.equal(totals.warnings.filter((w) => /no tracing routes/.test(w) && /1 trace\(s\) were not exported/.test(w)).length, 1, totals.warnings.join('\n'));
    } finally {
      await bare.close();
    }
  });
});
