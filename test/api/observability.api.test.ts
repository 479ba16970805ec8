import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';
import { startAuthServer } from '../support/auth-harness.ts';
import { formatLogLine } from '../../src/http/access-log.ts';

function captureLog(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('Prometheus /metrics', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => t.close());

  test('requests are counted and timed by route pattern and status, with ingest points, artifact bytes, queries and process metrics', async () => {
    const run = await t.call('POST', 'runs/create', { experiment_id: '0' });
    const runId = run.body.run.info.run_id as string;
    await t.call('GET', 'runs/get', { run_id: runId });
    await t.call('GET', 'runs/get', { run_id: 'does-not-exist' });
    await t.call('POST', 'runs/log-batch', { run_id: runId, metrics: [1, 2, 3].map((step) => ({ key: 'loss', value: step, timestamp: 1, step })) });
    await t.inject({ method: 'PUT', url: `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/a.txt`, payload: 'twelve bytes' });

    const res = await t.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const body = res.body;
    assert.equal(sample(body, 'trove_http_requests_total', { method: 'GET', route: '/api/2.0/mlflow/runs/get', status: '200' }), 1);
    assert.equal(sample(body, 'trove_http_requests_total', { method: 'GET', route: '/api/2.0/mlflow/runs/get', status: '404' }), 1);
    assert.equal(sample(body, 'trove_http_request_duration_seconds_count', { route: '/api/2.0/mlflow/runs/get', status: '200' }), 1);
    assert.equal(body.includes(runId), false, 'no ids in labels: the route pattern, not the URL');
    assert.equal(sample(body, 'trove_ingest_metric_points_total'), 3);
    assert.equal(sample(body, 'trove_artifact_bytes_total', { direction: 'in' }), 12);
    assert.ok((sample(body, 'trove_db_query_duration_seconds_count', { outcome: 'ok' }) ?? 0) > 0);
    assert.equal(sample(body, 'trove_webhook_deliveries_pending'), 0);
    assert.ok(sample(body, 'trove_process_cpu_user_seconds_total') !== undefined);
    assert.ok(body.includes('trove_sse_clients'));
  });
});

describe('metrics token', () => {
  test('with TROVE_METRICS_TOKEN a scrape needs the bearer token', async () => {
    const t = await startTestServer({ env: { ...process.env, TROVE_METRICS_TOKEN: 'scrape-secret-123' } });
    try {
      const anonymous = await t.inject({ method: 'GET', url: '/metrics' });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.json().error_code, 'UNAUTHENTICATED');
      const wrong = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.statusCode, 401);
      const ok = await t.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-secret-123' } });
      assert.equal(ok.statusCode, 200);
    } finally {
      await t.close();
    }
  });
});

describe('access log', () => {
  test('one JSON line per request with method, route, status, duration, bytes, request id and the token’s user, never the credential', async () => {
    const log = captureLog();
    const h = await startAuthServer({ config: { logger: { level: 'info', stream: log.stream } } });
    try {
      await h.createUser('lou', { admin: true });
      const token = await h.createToken('lou');
      const res = await h.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/search?max_results=5', headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-abc-123' } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-request-id'], 'req-abc-123', 'the request id is echoed');
      const denied = await h.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/search' });
      assert.equal(denied.statusCode, 401);

      const access = log.lines().filter((l) => l.access === true);
      const line = access.find((l) => l.reqId === 'req-abc-123');
      assert.ok(line, log.text());
      assert.equal(line.level, 30, 'info');
      assert.equal(line.method, 'GET');
      assert.equal(line.route, '/api/2.0/mlflow/experiments/search');
      assert.equal(line.path, '/api/2.0/mlflow/experiments/search', 'no query string');
      assert.equal(line.status, 200);
      assert.equal(typeof line.durationMs, 'number');
      assert.equal(typeof line.bytes, 'number');
      assert.equal(line.user, 'lou');
      assert.equal(typeof line.tokenId, 'number');
      assert.ok(access.some((l) => l.status === 401), 'refused requests are logged too');
      assert.equal(log.text().includes(token), false, 'never the token');
    } finally {
      await h.close();
    }
  });

  test('the human format reads as one short line per request', () => {
    const line = formatLogLine(
      JSON.stringify({ level: 30, time: Date.parse('2026-01-02T03:04:05.678Z'), access: true, method: 'GET', path: '/api/2.0/mlflow/runs/get', status: 200, durationMs: 1.5, bytes: 320, user: 'lou', tokenId: 7, reqId: 'r1' }),
    );
    assert.equal(line, '03:04:05.678 INFO GET /api/2.0/mlflow/runs/get 200 1.5ms 320B lou (token 7) [r1]');
  });
});
