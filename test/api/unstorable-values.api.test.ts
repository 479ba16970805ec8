import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * A NUL byte is valid JSON text that PostgreSQL cannot store in a text column. It is a client
 * mistake there (400, nothing written), never a 500 the MLflow client would retry seven times.
 * SQLite stores it as sent.
 */
describe('values the database cannot store', () => {
  let t: TestServer;
  let runId: string;
  const onPostgres = process.env.TROVE_TEST_DATABASE === 'postgres';
  before(async () => {
    t = await startTestServer();
    const experimentId = (await t.call('POST', 'experiments/create', { name: 'unstorable' })).body.experiment_id;
    runId = (await t.call('POST', 'runs/create', { experiment_id: experimentId })).body.run.info.run_id;
  });
  after(async () => t?.close());

  test('a NUL byte in a param, tag or batch never answers 5xx, and on PostgreSQL is refused whole', async () => {
    const requests: [string, Record<string, unknown>][] = [
      ['runs/log-parameter', { run_id: runId, key: 'p', value: 'a\u0000b' }],
      ['runs/set-tag', { run_id: runId, key: 't', value: '\u0000' }],
      ['runs/log-batch', { run_id: runId, params: [{ key: 'q', value: 'ok' }, { key: 'r', value: 'x\u0000' }], tags: [] }],
    ];
    for (const [route, body] of requests) {
      const res = await t.call('POST', route, body);
      assert.ok(res.status < 500, `${route} answered ${res.status} ${JSON.stringify(res.body)}`);
      if (onPostgres) {
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
      }
    }
    if (onPostgres) {
      const run = await t.call('GET', 'runs/get', { run_id: runId });
      assert.deepEqual(run.body.run.data.params ?? [], [], 'the refused batch wrote nothing, not even its valid param');
    }
  });
});
