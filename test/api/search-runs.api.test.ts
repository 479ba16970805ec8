import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './test-server.ts';

interface WireRun {
  info: { run_id: string; run_name: string };
}

describe('runs/search', () => {
  let t: TestServer;
  let experimentId: string;
  const runIds: Record<string, string> = {};

  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'search' })).body.experiment_id;
    const specs = [
      { name: 'alpha', start: 1000, accuracy: 0.95, penalty: 'l2', model: 'LogReg', owner: 'Alice' },
      { name: 'beta', start: 2000, accuracy: 0.85, penalty: 'l1', model: 'logreg', owner: 'bob' },
      { name: 'gamma', start: 3000, accuracy: 0.75, penalty: 'l2', model: 'SVM', owner: 'carol' },
      { name: 'delta', start: 4000, accuracy: undefined, penalty: undefined, model: 'Tree', owner: 'dave' },
    ];
    for (const spec of specs) {
      const run = await t.call('POST', 'runs/create', {
        experiment_id: experimentId,
        run_name: spec.name,
        start_time: spec.start,
        tags: [{ key: 'owner', value: spec.owner }],
      });
      const runId = run.body.run.info.run_id as string;
      runIds[spec.name] = runId;
      await t.call('POST', 'runs/log-batch', {
        run_id: runId,
        metrics: spec.accuracy === undefined ? [] : [{ key: 'accuracy', value: spec.accuracy, timestamp: 1, step: 0 }],
        params: [
          ...(spec.penalty === undefined ? [] : [{ key: 'penalty', value: spec.penalty }]),
          { key: 'model', value: spec.model },
        ],
      });
    }
  });
  after(async () => {
    await t.close();
  });

  async function names(filter: string, orderBy?: string[]): Promise<string[]> {
    const res = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], filter, order_by: orderBy });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.runs ?? []).map((r: WireRun) => r.info.run_name);
  }

  test('without order_by runs come newest first', async () => {
    assert.deepEqual(await names(''), ['delta', 'gamma', 'beta', 'alpha']);
  });

  test('the issue example: metric and param clauses joined by and, ordered by the metric', async () => {
    assert.deepEqual(await names("metrics.accuracy > 0.8 and params.penalty = 'l2'", ['metrics.accuracy DESC']), ['alpha']);
  });

  test('every numeric comparator works on metrics', async () => {
    assert.deepEqual(await names('metrics.accuracy = 0.85'), ['beta']);
    assert.deepEqual(await names('metrics.accuracy != 0.85', ['metrics.accuracy']), ['gamma', 'alpha']);
    assert.deepEqual(await names('metrics.accuracy < 0.85'), ['gamma']);
    assert.deepEqual(await names('metrics.accuracy <= 0.85', ['metrics.accuracy']), ['gamma', 'beta']);
    assert.deepEqual(await names('metrics.accuracy > 0.85'), ['alpha']);
    assert.deepEqual(await names('metrics.accuracy >= 0.85', ['metrics.accuracy']), ['beta', 'alpha']);
  });

  test('a run without the key never matches, not even with !=', async () => {
    assert.ok(!(await names("params.penalty != 'l1'")).includes('delta'));
    assert.ok(!(await names('metrics.accuracy != 0')).includes('delta'));
  });

  test('LIKE is case-sensitive and ILIKE is not', async () => {
    assert.deepEqual(await names("params.model LIKE 'Log%'"), ['alpha']);
    assert.deepEqual(await names("params.model ILIKE 'log%'", ['attributes.run_name']), ['alpha', 'beta']);
    assert.deepEqual(await names("tags.owner LIKE 'a%'"), []);
    assert.deepEqual(await names("tags.owner ILIKE 'a%'"), ['alpha']);
    assert.deepEqual(await names("attributes.run_name LIKE '%ta'", ['run_name']), ['beta', 'delta']);
  });

  test('attributes filter by run_name, status, start_time and run_id lists', async () => {
    assert.deepEqual(await names("attributes.run_name = 'gamma'"), ['gamma']);
    assert.deepEqual(await names("run_name != 'gamma'"), ['delta', 'beta', 'alpha']);
    assert.deepEqual(await names("attributes.status = 'RUNNING' and attributes.start_time >= 3000"), ['delta', 'gamma']);
    assert.deepEqual(await names('attributes.created < 2000'), ['alpha']);
    assert.deepEqual(await names(`attributes.run_id IN ('${runIds.alpha}', '${runIds.gamma}')`), ['gamma', 'alpha']);
    assert.deepEqual(await names(`attributes.run_id NOT IN ('${runIds.alpha}', '${runIds.gamma}')`), ['delta', 'beta']);
  });

  test('ordering puts missing values last in both directions', async () => {
    assert.deepEqual(await names('', ['metrics.accuracy ASC']), ['gamma', 'beta', 'alpha', 'delta']);
    assert.deepEqual(await names('', ['metrics.accuracy DESC']), ['alpha', 'beta', 'gamma', 'delta']);
    assert.deepEqual(await names('', ['params.penalty DESC', 'start_time ASC']), ['alpha', 'gamma', 'beta', 'delta']);
  });

  test('paging returns every run exactly once, even with runs created in between', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1, page_token: token });
      seen.push(...res.body.runs.map((r: WireRun) => r.info.run_name));
      token = res.body.next_page_token;
      if (seen.length === 1) {
        await t.call('POST', 'runs/create', { experiment_id: experimentId, run_name: 'late', start_time: 9999 });
      }
    } while (token);
    assert.deepEqual(seen, ['delta', 'gamma', 'beta', 'alpha']);
  });

  test('an offset page token written before keyset paging still pages on, and hands out keyset tokens', async () => {
    const body = { experiment_ids: [experimentId], filter: "params.model != 'x'", order_by: ['metrics.accuracy DESC'], max_results: 1 };
    const offsetToken = Buffer.from(JSON.stringify({ offset: 2, snapshot: null })).toString('base64');
    const seen: string[] = [];
    let token: string | undefined = offsetToken;
    do {
      const res = await t.call('POST', 'runs/search', { ...body, page_token: token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.runs.map((r: WireRun) => r.info.run_name));
      token = res.body.next_page_token;
      if (token) assert.ok(JSON.parse(Buffer.from(token, 'base64').toString('utf8')).after, 'a keyset token');
    } while (token);
    assert.deepEqual(seen, ['gamma', 'delta']);
  });

  test('a page token of one order_by sent with another is INVALID_PARAMETER_VALUE', async () => {
    const first = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1 });
    const res = await t.call('POST', 'runs/search', {
      experiment_ids: [experimentId],
      max_results: 1,
      order_by: ['metrics.accuracy DESC', 'params.model ASC'],
      page_token: first.body.next_page_token,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
  });

  test('deleted runs are hidden by default and shown with DELETED_ONLY or ALL', async () => {
    const run = await t.call('POST', 'runs/create', { experiment_id: experimentId, run_name: 'removed' });
    await t.call('POST', 'runs/delete', { run_id: run.body.run.info.run_id });
    const active = await t.call('POST', 'runs/search', { experiment_ids: [experimentId] });
    assert.ok(!active.body.runs.some((r: WireRun) => r.info.run_name === 'removed'));
    const deleted = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], run_view_type: 'DELETED_ONLY' });
    assert.deepEqual(deleted.body.runs.map((r: WireRun) => r.info.run_name), ['removed']);
    const all = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], run_view_type: 'ALL' });
    assert.ok(all.body.runs.some((r: WireRun) => r.info.run_name === 'removed'));
  });

  test('bad filters, order_by, max_results and page tokens are INVALID_PARAMETER_VALUE', async () => {
    const cases: Array<Record<string, unknown>> = [
      { filter: 'metrics.accuracy > 0.8 or params.penalty = "l2"' },
      { filter: "metrics.accuracy > 'high'" },
      { filter: 'params.penalty = l2' },
      { filter: "attributes.nope = 'x'" },
      { order_by: ['metrics.accuracy SIDEWAYS'] },
      { max_results: 50001 },
      { max_results: 0 },
      { page_token: 'bm90IGpzb24=' },
      { page_token: '%%%' },
    ];
    for (const fields of cases) {
      const res = await t.call('POST', 'runs/search', { experiment_ids: [experimentId], ...fields });
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE', JSON.stringify(fields));
      assert.equal(typeof res.body.message, 'string');
    }
  });

  test('searching several experiments at once merges their runs', async () => {
    const other = (await t.call('POST', 'experiments/create', { name: 'search-other' })).body.experiment_id;
    await t.call('POST', 'runs/create', { experiment_id: other, run_name: 'elsewhere', start_time: 5 });
    const res = await t.call('POST', 'runs/search', { experiment_ids: [experimentId, other], filter: "run_name = 'elsewhere'" });
    assert.deepEqual(res.body.runs.map((r: WireRun) => r.info.run_name), ['elsewhere']);
  });
});
