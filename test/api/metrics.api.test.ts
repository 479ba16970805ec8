import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

interface WireMetric {
  key: string;
  value: number;
  step: number;
  timestamp: number;
  run_id?: string;
}

describe('metric history API', () => {
  let t: TestServer;
  let runId: string;
  let otherRunId: string;
  before(async () => {
    t = await startTestServer();
    runId = (await t.call('POST', 'runs/create', {})).body.run.info.run_id;
    otherRunId = (await t.call('POST', 'runs/create', {})).body.run.info.run_id;
    for (let start = 0; start < 3000; start += 1000) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({ key: 'loss', value: (start + i) / 10, timestamp: 1000 + start + i, step: start + i }));
      const res = await t.call('POST', 'runs/log-batch', { run_id: runId, metrics });
      assert.equal(res.status, 200);
    }
    await t.call('POST', 'runs/log-batch', {
      run_id: otherRunId,
      metrics: Array.from({ length: 10 }, (_, i) => ({ key: 'loss', value: i, timestamp: i, step: i * 100 })),
    });
  });
  after(async () => {
    await t.close();
  });

  test('the full history comes back in step order without a token when no page size is given', async () => {
    const res = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' });
    assert.equal(res.body.metrics.length, 3000);
    assert.equal(res.body.next_page_token, undefined);
    const steps = res.body.metrics.map((m: WireMetric) => m.step);
    assert.deepEqual(steps, [...steps].sort((a: number, b: number) => a - b));
    assert.deepEqual(res.body.metrics[1234], { key: 'loss', value: 123.4, timestamp: 2234, step: 1234 });
  });

  test('paging with max_results returns every point once and a token only while more remain', async () => {
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 1000, page_token: token });
      seen.push(...res.body.metrics.map((m: WireMetric) => m.step));
      token = res.body.next_page_token;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(seen.length, 3000);
    assert.equal(new Set(seen).size, 3000);
  });

  test('the page token is a keyset position; offset tokens written before it still page, and a token that is not a history position is INVALID_PARAMETER_VALUE', async () => {
    const first = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 1000 });
    const decoded = JSON.parse(Buffer.from(first.body.next_page_token, 'base64').toString('utf8'));
    assert.deepEqual(decoded.after, [999, 1999, 99.9]);
    const offsetToken = Buffer.from(JSON.stringify({ offset: 1500, snapshot: null })).toString('base64');
    const byOffset = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 10, page_token: offsetToken });
    assert.equal(byOffset.status, 200);
    assert.equal(byOffset.body.metrics[0].step, 1500);
    const byKeyset = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 10, page_token: byOffset.body.next_page_token });
    assert.equal(byKeyset.body.metrics[0].step, 1510);
    for (const after of [[1, 2], ['a', 2, 3], [1.5, 2, 3]]) {
      const bad = Buffer.from(JSON.stringify({ snapshot: null, after })).toString('base64');
      const res = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 10, page_token: bad });
      assert.equal(res.status, 400);
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
    }
  });

  test('an unknown metric key has an empty history and an unknown run is RESOURCE_DOES_NOT_EXIST', async () => {
    const empty = await t.call('GET', 'metrics/get-history', { run_id: runId, metric_key: 'nope' });
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body.metrics, []);
    const missing = await t.call('GET', 'metrics/get-history', { run_id: '0'.repeat(32), metric_key: 'loss' });
    assert.equal(missing.status, 404);
    const noKey = await t.call('GET', 'metrics/get-history', { run_id: runId });
    assert.equal(noKey.status, 400);
    assert.match(noKey.body.message, /metric_key/);
  });

  test('bulk-interval samples evenly per run and always keeps the first and last step', async () => {
    const res = await t.call('GET', 'metrics/get-history-bulk-interval', { run_ids: [runId, otherRunId], metric_key: 'loss', max_results: 11 });
    assert.equal(res.status, 200);
    const forRun = res.body.metrics.filter((m: WireMetric) => m.run_id === runId).map((m: WireMetric) => m.step);
    assert.equal(forRun.length, 11);
    assert.equal(forRun[0], 0);
    assert.equal(forRun.at(-1), 2999);
    const forOther = res.body.metrics.filter((m: WireMetric) => m.run_id === otherRunId);
    assert.equal(forOther.length, 10);
  });

  test('bulk-interval honours the step range and validates its limits', async () => {
    const ranged = await t.call('GET', 'metrics/get-history-bulk-interval', {
      run_ids: [runId],
      metric_key: 'loss',
      start_step: 100,
      end_step: 200,
      max_results: 2500,
    });
    const steps = ranged.body.metrics.map((m: WireMetric) => m.step);
    assert.equal(steps.length, 101);
    assert.equal(steps[0], 100);
    assert.equal(steps.at(-1), 200);
    const tooMany = await t.call('GET', 'metrics/get-history-bulk-interval', { run_ids: [runId], metric_key: 'loss', max_results: 2501 });
    assert.equal(tooMany.status, 400);
    const backwards = await t.call('GET', 'metrics/get-history-bulk-interval', { run_ids: [runId], metric_key: 'loss', start_step: 5, end_step: 1 });
    assert.equal(backwards.status, 400);
    const manyRuns = await t.call('GET', 'metrics/get-history-bulk-interval', {
      run_ids: Array.from({ length: 101 }, () => runId),
      metric_key: 'loss',
    });
    assert.equal(manyRuns.status, 400);
  });

  test('the UI bulk endpoint returns each run history tagged with its run id', async () => {
    const res = await t.call('GET', '/ajax-api/2.0/mlflow/metrics/get-history-bulk', { run_id: [otherRunId], metric_key: 'loss' });
    assert.equal(res.status, 200);
    assert.equal(res.body.metrics.length, 10);
    assert.ok(res.body.metrics.every((m: WireMetric) => m.run_id === otherRunId));
  });

  test('many concurrent writers never see a locked database and every point is stored', async () => {
    const writers = 64;
    const runs = await Promise.all(Array.from({ length: 8 }, () => t.call('POST', 'runs/create', {})));
    const ids = runs.map((r) => r.body.run.info.run_id as string);
    const responses = await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        t.call('POST', 'runs/log-batch', {
          run_id: ids[w % ids.length],
          metrics: Array.from({ length: 100 }, (_, i) => ({ key: `w${w}`, value: i, timestamp: 1, step: i })),
          params: [{ key: `p${w}`, value: 'x' }],
        }),
      ),
    );
    for (const res of responses) assert.equal(res.status, 200, JSON.stringify(res.body));
    const history = await t.call('GET', 'metrics/get-history', { run_id: ids[0], metric_key: 'w0' });
    assert.equal(history.body.metrics.length, 100);
    const run = await t.call('GET', 'runs/get', { run_id: ids[0] });
    assert.equal(run.body.run.data.metrics.length, writers / ids.length);
  });
  test('a history page is written as MLflow writes each point: key, value, timestamp, step; NaN and infinities as strings; dataset fields only where set', async () => {
    const mixed = (await t.call('POST', 'runs/create', {})).body.run.info.run_id;
    const logged = await t.call('POST', 'runs/log-batch', {
      run_id: mixed,
      metrics: [
        { key: 'mix', value: 1.5, timestamp: 1_700_000_000_000, step: 0 },
        { key: 'mix', value: 'NaN', timestamp: 11, step: 1 },
        { key: 'mix', value: 'Infinity', timestamp: 12, step: 2 },
        { key: 'mix', value: '-Infinity', timestamp: 13, step: 3 },
        { key: 'mix', value: -0, timestamp: 14, step: 4, dataset_name: 'train', dataset_digest: 'd1' },
        { key: 'mix', value: 2, timestamp: 15, step: 5 },
      ],
    });
    assert.equal(logged.status, 200);
    const response = await t.inject({ method: 'GET', url: `/api/2.0/mlflow/metrics/get-history?run_id=${mixed}&metric_key=mix&max_results=5` });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const token = (JSON.parse(response.body) as { next_page_token?: string }).next_page_token;
    assert.ok(token);
    assert.equal(
      response.body,
      '{"metrics":[' +
        '{"key":"mix","value":1.5,"timestamp":1700000000000,"step":0},' +
        '{"key":"mix","value":"NaN","timestamp":11,"step":1},' +
        '{"key":"mix","value":"Infinity","timestamp":12,"step":2},' +
        '{"key":"mix","value":"-Infinity","timestamp":13,"step":3},' +
        '{"key":"mix","value":0,"timestamp":14,"step":4,"dataset_name":"train","dataset_digest":"d1"}' +
        `],"next_page_token":${JSON.stringify(token)}}`,
    );
  });
});
