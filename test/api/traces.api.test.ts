import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startTestServer, type TestServer } from './test-server.ts';
import { hexId, otlpJsonRequest, otlpProtobufRequest, type TestSpan } from '../support/otlp.ts';

describe('traces API', () => {
  let t: TestServer;
  let experimentId: string;
  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'traces' })).body.experiment_id;
  });
  after(async () => {
    await t.close();
  });

  async function otlp(body: Buffer | string, headers: Record<string, string>) {
    return t.inject({ method: 'POST', url: '/v1/traces', payload: body, headers: { 'x-mlflow-experiment-id': experimentId, ...headers } });
  }

  function simpleTrace(start = 1_700_000_000_000): { traceId: string; spans: TestSpan[] } {
    const traceId = hexId(16);
    const root = hexId(8);
    return {
      traceId,
      spans: [
        { traceId, spanId: root, name: 'root', startMs: start, endMs: start + 50, attributes: { 'mlflow.spanInputs': '{"q": "hi"}', 'mlflow.spanOutputs': '"yo"', plain: 'text', n: 3, ratio: 0.5, ok: true } },
        { traceId, spanId: hexId(8), parentSpanId: root, name: 'child', startMs: start + 10, endMs: start + 20, attributes: { nested: { a: [1, 'x'] } } },
      ],
    };
  }

  async function getTrace(traceId: string) {
    return t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: traceId, allow_partial: 'true' });
  }

  test('OTLP JSON spans create a trace that reads back with typed attributes, ids in base64 and the root name as trace name', async () => {
    const { traceId, spans } = simpleTrace();
    const res = await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), {});
    const got = await getTrace(`tr-${traceId}`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    const info = got.body.trace.trace_info;
    assert.equal(info.trace_id, `tr-${traceId}`);
    assert.equal(info.state, 'OK');
    assert.equal(info.request_time, new Date(1_700_000_000_000).toISOString());
    assert.equal(info.execution_duration, '0.050s');
    assert.equal(info.tags['mlflow.traceName'], 'root');
    assert.equal(info.tags['mlflow.trace.spansLocation'], 'TRACKING_STORE');
    assert.equal(info.tags['mlflow.artifactLocation'], `mlflow-artifacts:/${experimentId}/traces/tr-${traceId}/artifacts`);
    assert.equal(info.request_preview, '{"q": "hi"}');
    assert.equal(info.response_preview, '"yo"');
    const [root, child] = got.body.trace.spans;
    assert.equal(root.name, 'root');
    assert.equal(root.trace_id, Buffer.from(traceId, 'hex').toString('base64'));
    assert.equal(root.parent_span_id, undefined);
    assert.equal(child.parent_span_id, root.span_id);
    assert.equal(root.start_time_unix_nano, '1700000000000000000');
    const attrs = Object.fromEntries(root.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]));
    assert.deepEqual(attrs['mlflow.spanInputs'], { kvlist_value: { values: [{ key: 'q', value: { string_value: 'hi' } }] } });
    assert.deepEqual(attrs['mlflow.spanOutputs'], { string_value: 'yo' });
    assert.deepEqual(attrs.plain, { string_value: 'text' });
    assert.deepEqual(attrs.n, { int_value: 3 });
    assert.deepEqual(attrs.ratio, { double_value: 0.5 });
    assert.deepEqual(attrs.ok, { bool_value: true });
    assert.deepEqual(attrs['mlflow.traceRequestId'], { string_value: `tr-${traceId}` });
    const childAttrs = Object.fromEntries(child.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]));
    assert.deepEqual(childAttrs.nested, {
      kvlist_value: { values: [{ key: 'a', value: { array_value: { values: [{ int_value: 1 }, { string_value: 'x' }] } } }] },
    });
  });

  test('OTLP protobuf bodies, gzip-compressed or not, are accepted and answered with an empty protobuf response', async () => {
    const { traceId, spans } = simpleTrace();
    const plain = otlpProtobufRequest(spans.slice(0, 1));
    const res = await otlp(plain, { 'content-type': 'application/x-protobuf' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/x-protobuf');
    assert.equal(res.rawPayload.length, 0);
    const zipped = zlib.gzipSync(otlpProtobufRequest(spans.slice(1)));
    const res2 = await otlp(zipped, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res2.statusCode, 200, res2.body);
    const got = await getTrace(`tr-${traceId}`);
    assert.deepEqual(got.body.trace.spans.map((s: { name: string }) => s.name), ['root', 'child']);
  });

  test('a gzip-compressed JSON body is accepted', async () => {
    const { traceId, spans } = simpleTrace();
    const res = await otlp(zlib.gzipSync(JSON.stringify(otlpJsonRequest(spans))), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await getTrace(`tr-${traceId}`)).body.trace.spans.length, 2);
  });

  test('spans of one trace sent in several requests, children first, make one trace with the root status and full duration', async () => {
    const traceId = hexId(16);
    const rootId = hexId(8);
    const start = 1_700_000_100_000;
    const child: TestSpan = { traceId, spanId: hexId(8), parentSpanId: rootId, name: 'late-child', startMs: start + 5, endMs: start + 300 };
    const res1 = await otlp(JSON.stringify(otlpJsonRequest([child])), { 'content-type': 'application/json' });
    assert.equal(res1.statusCode, 200);
    let info = (await getTrace(`tr-${traceId}`)).body.trace.trace_info;
    assert.equal(info.state, 'IN_PROGRESS', 'no root span yet');
    const root: TestSpan = { traceId, spanId: rootId, name: 'root', startMs: start, endMs: start + 100, status: 'STATUS_CODE_ERROR' };
    const res2 = await otlp(JSON.stringify(otlpJsonRequest([root])), { 'content-type': 'application/json' });
    assert.equal(res2.statusCode, 200);
    info = (await getTrace(`tr-${traceId}`)).body.trace.trace_info;
    assert.equal(info.state, 'ERROR');
    assert.equal(info.request_time, new Date(start).toISOString());
    assert.equal(info.execution_duration, '0.300s');
    assert.equal(info.tags['mlflow.traceName'], 'root');
  });

  test('a span sent twice is stored once, the later copy winning', async () => {
    const { traceId, spans } = simpleTrace();
    await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    const renamed = { ...spans[1]!, name: 'child-renamed' };
    await otlp(JSON.stringify(otlpJsonRequest([renamed])), { 'content-type': 'application/json' });
    const names = (await getTrace(`tr-${traceId}`)).body.trace.spans.map((s: { name: string }) => s.name);
    assert.deepEqual(names, ['root', 'child-renamed']);
  });

  test('OTLP requests without the experiment header, with another content type, undecodable or empty are refused with 400', async () => {
    const { spans } = simpleTrace();
    const noHeader = await t.inject({ method: 'POST', url: '/v1/traces', payload: JSON.stringify(otlpJsonRequest(spans)), headers: { 'content-type': 'application/json' } });
    assert.equal(noHeader.statusCode, 400);
    assert.equal(JSON.parse(noHeader.body).error_code, 'INVALID_PARAMETER_VALUE');
    const text = await otlp('hello', { 'content-type': 'text/plain' });
    assert.equal(text.statusCode, 400);
    assert.match(JSON.parse(text.body).message, /Invalid Content-Type/);
    const garbage = await otlp(Buffer.from([0xff, 0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' });
    assert.equal(garbage.statusCode, 400);
    const empty = await otlp(JSON.stringify({ resourceSpans: [] }), { 'content-type': 'application/json' });
    assert.equal(empty.statusCode, 400);
    assert.match(JSON.parse(empty.body).message, /no spans/);
    const badGzip = await otlp(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(badGzip.statusCode, 400);
    const badId = await otlp(JSON.stringify(otlpJsonRequest([{ ...spans[0]!, traceId: 'abc' }])), { 'content-type': 'application/json' });
    assert.equal(badId.statusCode, 400);
  });

  test('OTLP spans for an experiment that does not exist are refused with 404', async () => {
    const { spans } = simpleTrace();
    const res = await t.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: JSON.stringify(otlpJsonRequest(spans)),
      headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': '987654' },
    });
    assert.equal(res.statusCode, 404);
    assert.equal(JSON.parse(res.body).error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test('a trace of 1,000 spans with 5 MB of attributes is ingested and read back whole', async () => {
    const traceId = hexId(16);
    const rootId = hexId(8);
    const big = 'x'.repeat(5000);
    const spans: TestSpan[] = [{ traceId, spanId: rootId, name: 'root', startMs: 1_700_000_200_000, endMs: 1_700_000_201_000 }];
    for (let i = 1; i < 1000; i += 1) {
      spans.push({ traceId, spanId: hexId(8), parentSpanId: rootId, name: `s${i}`, startMs: 1_700_000_200_000 + i, endMs: 1_700_000_200_001 + i, attributes: { payload: big } });
    }
    const body = zlib.gzipSync(otlpProtobufRequest(spans));
    const res = await otlp(body, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(res.statusCode, 200, res.body);
    const got = await getTrace(`tr-${traceId}`);
    assert.equal(got.body.trace.spans.length, 1000);
    assert.equal(got.body.trace.spans[0].name, 'root');
  });

  test('StartTraceV3 stores the info, adds the artifact location and finalized marker, and merges with spans that came first', async () => {
    const { traceId, spans } = simpleTrace(1_700_000_300_000);
    await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    const res = await t.call('POST', '/api/3.0/mlflow/traces', {
      trace: {
        trace_info: {
          trace_id: `tr-${traceId}`,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: '2023-11-14T22:18:20.000Z',
          execution_duration: '0.060s',
          state: 'OK',
          trace_metadata: { 'mlflow.trace_schema.version': '3', 'mlflow.trace.sizeStats': '{"num_spans": 2}' },
          tags: { 'mlflow.traceName': 'named-by-client', user: 'u1', 'mlflow.artifactLocation': 'file:///evil' },
          request_preview: '{"q": "hi"}',
          response_preview: '"yo"',
        },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const info = res.body.trace.trace_info;
    assert.equal(info.trace_metadata['mlflow.trace.infoFinalized'], 'true');
    assert.equal(info.tags.user, 'u1');
    assert.equal(info.tags['mlflow.traceName'], 'named-by-client');
    assert.equal(info.tags['mlflow.artifactLocation'], `mlflow-artifacts:/${experimentId}/traces/tr-${traceId}/artifacts`, 'clients cannot move the artifact location');
    assert.equal(info.tags['mlflow.trace.spansLocation'], 'TRACKING_STORE');
    assert.equal(info.execution_duration, '0.060s');
    const full = await t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: `tr-${traceId}`, allow_partial: 'False' });
    assert.equal(full.status, 200);
    assert.equal(full.body.trace.spans.length, 2);
    const byInfo = await t.call('GET', `/api/3.0/mlflow/traces/tr-${traceId}`);
    assert.equal(byInfo.body.trace.trace_info.trace_id, `tr-${traceId}`);
    const batch = await t.call('GET', '/api/3.0/mlflow/traces/batchGet', { trace_ids: [`tr-${traceId}`, 'tr-missing'] });
    assert.equal(batch.body.traces.length, 1);
    assert.equal(batch.body.traces[0].spans.length, 2);
    const infos = await t.call('POST', '/api/3.0/mlflow/traces/batchGetInfos', { trace_ids: [`tr-${traceId}`] });
    assert.equal(infos.body.trace_infos[0].tags.user, 'u1');
  });

  test('spans and StartTraceV3 of the same traces arriving at once never collide (no 5xx, one trace each)', async () => {
    const traces = Array.from({ length: 12 }, (_, i) => simpleTrace(1_700_000_100_000 + i * 1000));
    const answers = await Promise.all(
      traces.flatMap(({ traceId, spans }) => [
        otlp(JSON.stringify(otlpJsonRequest(spans.slice(0, 1))), { 'content-type': 'application/json' }).then((r) => r.statusCode),
        otlp(JSON.stringify(otlpJsonRequest(spans.slice(1))), { 'content-type': 'application/json' }).then((r) => r.statusCode),
        t
          .call('POST', '/api/3.0/mlflow/traces', {
            trace: {
              trace_info: {
                trace_id: `tr-${traceId}`,
                trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
                request_time: '2023-11-14T22:18:20.000Z',
                execution_duration: '0.050s',
                state: 'OK',
              },
            },
          })
          .then((r) => r.status),
      ]),
    );
    assert.deepEqual(answers.filter((status) => status !== 200), []);
    for (const { traceId } of traces) {
      const res = await getTrace(`tr-${traceId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.trace.spans.length, 2);
      assert.equal(res.body.trace.trace_info.state, 'OK');
    }
  });

  test('get_trace without allow_partial reports a trace whose spans have not all arrived as not fully exported', async () => {
    const traceId = `tr-${hexId(16)}`;
    await t.call('POST', '/api/3.0/mlflow/traces', {
      trace: {
        trace_info: {
          trace_id: traceId,
          trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
          request_time: '2023-11-14T22:18:20.000Z',
          state: 'OK',
          trace_metadata: { 'mlflow.trace.sizeStats': '{"num_spans": 3}' },
        },
      },
    });
    const res = await t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: traceId, allow_partial: 'false' });
    assert.equal(res.status, 404);
    assert.match(res.body.message, /not fully exported/);
    const partial = await t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: traceId, allow_partial: 'true' });
    assert.equal(partial.status, 200);
    assert.deepEqual(partial.body.trace.spans, []);
  });

  test('reads of a trace that does not exist answer RESOURCE_DOES_NOT_EXIST', async () => {
    for (const res of [
      await t.call('GET', '/api/3.0/mlflow/traces/tr-nope'),
      await t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: 'tr-nope' }),
      await t.call('GET', '/api/2.0/mlflow/traces/tr-nope/info'),
      await t.call('PATCH', '/api/2.0/mlflow/traces/tr-nope/tags', { key: 'k', value: 'v' }),
    ]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    }
    const res = await t.call('GET', '/api/3.0/mlflow/traces/tr-nope');
    assert.equal(res.body.message, "Trace with ID 'tr-nope' not found.");
  });

  test('StartTraceV3 without a trace id or experiment location is refused with 400', async () => {
    const noId = await t.call('POST', '/api/3.0/mlflow/traces', { trace: { trace_info: { trace_location: { mlflow_experiment: { experiment_id: experimentId } } } } });
    assert.equal(noId.status, 400);
    const noLocation = await t.call('POST', '/api/3.0/mlflow/traces', { trace: { trace_info: { trace_id: 'tr-x' } } });
    assert.equal(noLocation.status, 400);
    const badTime = await t.call('POST', '/api/3.0/mlflow/traces', {
      trace: { trace_info: { trace_id: 'tr-y', trace_location: { mlflow_experiment: { experiment_id: experimentId } }, request_time: 'yesterday' } },
    });
    assert.equal(badTime.status, 400);
  });

  test('trace tags over MLflow limits are refused and system tags cannot be changed', async () => {
    const { traceId, spans } = simpleTrace();
    await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    const id = `tr-${traceId}`;
    const longKey = await t.call('PATCH', `/api/2.0/mlflow/traces/${id}/tags`, { key: 'k'.repeat(251), value: 'v' });
    assert.equal(longKey.status, 400);
    const longValue = await t.call('PATCH', `/api/2.0/mlflow/traces/${id}/tags`, { key: 'k', value: 'v'.repeat(8001) });
    assert.equal(longValue.status, 400);
    const ok = await t.call('PATCH', `/api/3.0/mlflow/traces/${id}/tags`, { key: 'k', value: 'v'.repeat(8000) });
    assert.equal(ok.status, 200);
    const system = await t.call('PATCH', `/api/2.0/mlflow/traces/${id}/tags`, { key: 'mlflow.artifactLocation', value: 'x' });
    assert.equal(system.status, 400);
    const missing = await t.call('DELETE', `/api/2.0/mlflow/traces/${id}/tags`, { key: 'never-set' });
    assert.equal(missing.status, 404);
  });

  test('search_traces validates max_results, filters and order_by', async () => {
    const search = (fields: Record<string, unknown>) =>
      t.call('POST', '/api/3.0/mlflow/traces/search', { locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } }], ...fields });
    assert.equal((await search({ max_results: 501 })).status, 400);
    assert.equal((await search({ max_results: 0 })).status, 400);
    assert.equal((await search({ filter: 'trace.status = OK' })).status, 400);
    assert.equal((await search({ filter: 'trace.bogus = 1' })).status, 400);
    assert.equal((await search({ filter: 'trace.timestamp_ms > 1 OR trace.status = "OK"' })).status, 400);
    assert.equal((await search({ order_by: ['tags.user DESC'] })).status, 400);
    assert.equal((await search({ page_token: '!!!' })).status, 400);
    assert.equal((await search({ filter: 'tags.user IS NULL' })).status, 200);
    assert.equal((await t.call('POST', '/api/3.0/mlflow/traces/search', {})).status, 400);
  });

  test('search by tag IS NULL / IS NOT NULL and by metadata', async () => {
    const exp = (await t.call('POST', 'experiments/create', { name: 'null-checks' })).body.experiment_id;
    const ids: string[] = [];
    for (const tag of ['a', null]) {
      const { traceId, spans } = simpleTrace();
      await t.inject({ method: 'POST', url: '/v1/traces', payload: JSON.stringify(otlpJsonRequest(spans)), headers: { 'content-type': 'application/json', 'x-mlflow-experiment-id': exp } });
      if (tag) await t.call('PATCH', `/api/2.0/mlflow/traces/tr-${traceId}/tags`, { key: 'flag', value: tag });
      ids.push(`tr-${traceId}`);
    }
    const search = async (filter: string) =>
      (await t.call('POST', '/api/3.0/mlflow/traces/search', { locations: [{ mlflow_experiment: { experiment_id: exp } }], filter })).body.traces?.map((x: { trace_id: string }) => x.trace_id) ?? [];
    assert.deepEqual(await search('tags.flag IS NOT NULL'), [ids[0]]);
    assert.deepEqual(await search('tags.flag IS NULL'), [ids[1]]);
  });

  test('delete-traces needs exactly one of request_ids and max_timestamp_millis', async () => {
    const both = await t.call('POST', '/api/2.0/mlflow/traces/delete-traces', { experiment_id: experimentId, request_ids: ['tr-a'], max_timestamp_millis: 1 });
    assert.equal(both.status, 400);
    const neither = await t.call('POST', '/api/2.0/mlflow/traces/delete-traces', { experiment_id: experimentId });
    assert.equal(neither.status, 400);
    const unknown = await t.call('POST', '/api/3.0/mlflow/traces/delete-traces', { experiment_id: experimentId, request_ids: ['tr-unknown'] });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body.traces_deleted, 0);
  });

  test('deleting a trace removes its spans, tags, metadata and assessments', async () => {
    const { traceId, spans } = simpleTrace();
    const id = `tr-${traceId}`;
    await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    const created = await t.call('POST', `/api/3.0/mlflow/traces/${id}/assessments`, {
      assessment: { assessment_name: 'q', trace_id: id, source: { source_type: 'HUMAN', source_id: 'me' }, feedback: { value: 1 } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const deleted = await t.call('POST', '/api/2.0/mlflow/traces/delete-traces', { experiment_id: experimentId, request_ids: [id] });
    assert.equal(deleted.body.traces_deleted, 1);
    const db = t.server.database.db;
    for (const table of ['spans', 'trace_tags', 'trace_metadata', 'assessments', 'traces'] as const) {
      const rows = await db.selectFrom(table).select('trace_id').where('trace_id', '=', id).execute();
      assert.equal(rows.length, 0, `${table} keeps rows of a deleted trace`);
    }
  });

  test('assessments: missing name or value, both feedback and expectation, or an unknown id are refused', async () => {
    const { traceId, spans } = simpleTrace();
    const id = `tr-${traceId}`;
    await otlp(JSON.stringify(otlpJsonRequest(spans)), { 'content-type': 'application/json' });
    const url = `/api/3.0/mlflow/traces/${id}/assessments`;
    assert.equal((await t.call('POST', url, { assessment: { trace_id: id, feedback: { value: 1 } } })).status, 400);
    assert.equal((await t.call('POST', url, { assessment: { trace_id: id, assessment_name: 'x' } })).status, 400);
    assert.equal((await t.call('POST', url, { assessment: { trace_id: id, assessment_name: 'x', feedback: { value: 1 }, expectation: { value: 2 } } })).status, 400);
    assert.equal((await t.call('POST', url, { assessment: { trace_id: 'tr-other', assessment_name: 'x', feedback: { value: 1 } } })).status, 400);
    assert.equal((await t.call('GET', `${url}/a-nope`)).status, 404);
    assert.equal((await t.call('PATCH', `${url}/a-nope`, { assessment: { assessment_name: 'x' }, update_mask: 'assessmentName' })).status, 404);
    assert.equal((await t.call('DELETE', `${url}/a-nope`)).status, 404);
  });

  test('MLflow 2.x start, end, info and search calls', async () => {
    const start = await t.call('POST', '/api/2.0/mlflow/traces', {
      experiment_id: experimentId,
      timestamp_ms: 1_700_000_400_000,
      request_metadata: [{ key: 'mlflow.traceInputs', value: '{"x": 1}' }],
      tags: [{ key: 'mlflow.traceName', value: 'v2-trace' }],
    });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const info = start.body.trace_info;
    assert.match(info.request_id, /^tr-[0-9a-f]{32}$/);
    assert.equal(info.status, 'IN_PROGRESS');
    assert.ok(info.tags.some((tag: { key: string; value: string }) => tag.key === 'mlflow.artifactLocation' && tag.value.endsWith(`/traces/${info.request_id}/artifacts`)));
    const end = await t.call('PATCH', `/api/2.0/mlflow/traces/${info.request_id}`, {
      timestamp_ms: 1_700_000_400_250,
      status: 'OK',
      request_metadata: [{ key: 'mlflow.traceOutputs', value: '2' }],
      tags: [{ key: 'k', value: 'v' }],
    });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    assert.equal(end.body.trace_info.execution_time_ms, 250);
    assert.equal(end.body.trace_info.status, 'OK');
    const got = await t.call('GET', `/api/2.0/mlflow/traces/${info.request_id}/info`);
    assert.equal(got.body.trace_info.timestamp_ms, 1_700_000_400_000);
    assert.ok(got.body.trace_info.request_metadata.some((m: { key: string }) => m.key === 'mlflow.traceOutputs'));
    const search = await t.call('GET', '/api/2.0/mlflow/traces', { experiment_ids: [experimentId], filter: "tags.k = 'v'" });
    assert.deepEqual(search.body.traces.map((x: { request_id: string }) => x.request_id), [info.request_id]);
  });

  test('spans a client uploaded to the trace artifact (MLflow 2 or 3 layout) are served by traces/get', async () => {
    const start = await t.call('POST', '/api/2.0/mlflow/traces', { experiment_id: experimentId, timestamp_ms: 1_700_000_500_000 });
    const id = start.body.trace_info.request_id as string;
    const location = (start.body.trace_info.tags as Array<{ key: string; value: string }>).find((tag) => tag.key === 'mlflow.artifactLocation')!.value;
    const v2Spans = {
      spans: [
        {
          name: 'root',
          context: { span_id: '0x00000000000000aa', trace_id: '0x000000000000000000000000000000bb' },
          parent_id: null,
          start_time: '1700000500000000001',
          end_time: '1700000500100000000',
          status_code: 'ERROR',
          status_message: 'boom',
          attributes: { 'mlflow.spanInputs': '{"x": 1}', 'mlflow.traceRequestId': `"${id}"` },
          events: [{ name: 'exception', timestamp: '1700000500050000000', attributes: { 'exception.message': 'boom' } }],
        },
        { name: 'child', context: { span_id: '0x00000000000000cc', trace_id: '0x000000000000000000000000000000bb' }, parent_id: '0x00000000000000aa', start_time: '1700000500000000002', end_time: '1700000500000000003', status_code: 'OK', status_message: '', attributes: {}, events: [] },
      ],
    };
    const put = await t.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${location.replace(/^mlflow-artifacts:\/*/, '')}/traces.json`,
      payload: JSON.stringify(v2Spans).replace(/"(\d{19})"/g, '$1'),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(put.statusCode, 200, put.body);
    const got = await t.call('GET', '/api/3.0/mlflow/traces/get', { trace_id: id, allow_partial: 'true' });
    assert.equal(got.status, 200, JSON.stringify(got.body));
    const [root, child] = got.body.trace.spans;
    assert.equal(root.name, 'root');
    assert.equal(root.start_time_unix_nano, '1700000500000000001', 'every nanosecond digit survives');
    assert.equal(root.status.code, 'STATUS_CODE_ERROR');
    assert.equal(root.events[0].name, 'exception');
    assert.equal(child.parent_span_id, root.span_id);
    const batch = await t.call('GET', '/api/3.0/mlflow/traces/batchGet', { trace_ids: [id] });
    assert.equal(batch.body.traces[0].spans.length, 2);
  });
});
