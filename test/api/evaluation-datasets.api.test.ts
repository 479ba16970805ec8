import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './test-server.ts';

/**
 * MLflow 3 evaluation datasets over HTTP (/api/3.0/mlflow/datasets/*): the wire shapes the
 * MLflow client reads (JSON text fields written as Python writes them), merge-by-inputs upserts,
 * schema/profile/digest, record and search paging, tags, experiment links, errors, and
 * isolation between projects.
 */

const V3 = '/api/3.0/mlflow/datasets';

describe('evaluation datasets API', () => {
  let t: TestServer;
  let experimentId: string;

  before(async () => {
    t = await startTestServer();
    experimentId = (await t.call('POST', 'experiments/create', { name: 'datasets-exp' })).body.experiment_id;
  });

  after(async () => t?.close());

  async function create(fields: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const response = await t.call('POST', `${V3}/create`, { name: 'qa', experiment_ids: [experimentId], ...fields });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.dataset;
  }

  async function upsert(datasetId: string, records: unknown[]): Promise<Record<string, any>> {
    const response = await t.call('POST', `${V3}/${datasetId}/records`, { records: JSON.stringify(records) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body;
  }

  async function recordsOf(datasetId: string, query: Record<string, unknown> = {}): Promise<{ records: any[]; text: string; token?: string }> {
    const response = await t.call('GET', `${V3}/${datasetId}/records`, query);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return { records: JSON.parse(response.body.records), text: response.body.records, token: response.body.next_page_token };
  }

  it('answers create with the dataset, its tags as Python JSON text and its experiment ids', async () => {
    const dataset = await create({ name: 'golden', tags: '{"team": "ml", "mlflow.user": "root"}' });
    assert.match(dataset.dataset_id, /^d-[0-9a-f]{32}$/);
    assert.deepEqual(Object.keys(dataset), ['dataset_id', 'name', 'tags', 'digest', 'created_time', 'last_update_time', 'created_by', 'last_updated_by', 'experiment_ids']);
    assert.equal(dataset.tags, '{"mlflow.user": "root", "team": "ml"}');
    assert.equal(dataset.created_by, 'root');
    assert.deepEqual(dataset.experiment_ids, [experimentId]);
    assert.equal(dataset.digest, createHash('sha256').update(`golden:${dataset.created_time}`).digest('hex').slice(0, 8));

    const got = await t.call('GET', `${V3}/${dataset.dataset_id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.dataset.experiment_ids, undefined, 'get leaves experiment ids to GET .../experiment-ids, as upstream');
    const ids = await t.call('GET', `${V3}/${dataset.dataset_id}/experiment-ids`);
    assert.deepEqual(ids.body, { experiment_ids: [experimentId] });
  });

  it('inserts records, then merges a record with the same inputs into the stored one', async () => {
    const dataset = await create();
    const first = await upsert(dataset.dataset_id, [
      { inputs: { q: '2+2?', n: 1 }, expectations: { answer: '4', level: 'easy' }, outputs: 'four-ish', tags: { 'mlflow.user': 'ann', kind: 'math' }, source: { source_type: 'human', source_data: { source_id: 'ann@x' } } },
      { inputs: { q: 'capital?' } },
    ]);
    assert.deepEqual(first, { inserted_count: 2, updated_count: 0 });
    // Same inputs with keys in another order; the same inputs twice in one request merge too.
    const second = await upsert(dataset.dataset_id, [
      { inputs: { n: 1, q: '2+2?' }, expectations: { answer: 'four' }, tags: { 'mlflow.user': 'bob' } },
      { inputs: { q: 'new' }, expectations: { a: 1 } },
      { inputs: { q: 'new' }, expectations: { b: 2 } },
    ]);
    assert.deepEqual(second, { inserted_count: 1, updated_count: 2 });

    const { records } = await recordsOf(dataset.dataset_id);
    const byQ = new Map(records.map((r) => [r.inputs.q, r]));
    const math = byQ.get('2+2?');
    assert.deepEqual(math.expectations, { answer: 'four', level: 'easy' });
    assert.deepEqual(math.tags, { 'mlflow.user': 'bob', kind: 'math' });
    assert.equal(math.outputs, 'four-ish', 'outputs stay unless the new record names them');
    assert.deepEqual(math.source, { source_type: 'HUMAN', source_data: { source_id: 'ann@x' } });
    assert.equal(math.source_type, 'HUMAN');
    assert.equal(math.source_id, 'ann@x');
    assert.equal(math.created_by, 'ann');
    assert.equal(math.last_updated_by, 'bob');
    assert.deepEqual(byQ.get('new').expectations, { a: 1, b: 2 });
    const capital = byQ.get('capital?');
    assert.deepEqual(Object.keys(capital), ['dataset_record_id', 'dataset_id', 'inputs', 'tags', 'created_time', 'last_update_time', 'outputs']);
    assert.deepEqual(capital.outputs, {});
    assert.deepEqual(capital.tags, {});

    const fresh = (await t.call('GET', `${V3}/${dataset.dataset_id}`)).body.dataset;
    assert.equal(fresh.profile, '{"num_records": 3}');
    // Outputs that are not an object give the schema's outputs a type of their own, as upstream.
    assert.equal(fresh.schema, '{"inputs": {"q": "string", "n": "integer"}, "outputs": "string", "expectations": {"answer": "string", "level": "string", "a": "integer", "b": "integer"}, "version": "1.0"}');
    assert.equal(fresh.digest, createHash('sha256').update(`qa:${fresh.last_update_time}`).digest('hex').slice(0, 8));
    // The dataset's last updater is the last user a record of the request named...
    assert.equal(fresh.last_updated_by, 'bob');
    // ...and none when no record names one, as upstream.
    await upsert(dataset.dataset_id, [{ inputs: { q: 'anonymous' } }]);
    assert.equal((await t.call('GET', `${V3}/${dataset.dataset_id}`)).body.dataset.last_updated_by, undefined);
  });

  it('merges concurrent upserts of the same inputs into one record without a server error', async () => {
    const dataset = await create();
    const responses = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => t.call('POST', `${V3}/${dataset.dataset_id}/records`, { records: JSON.stringify([{ inputs: { q: 'same' }, expectations: { [`k${i}`]: i } }]) })),
    );
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(responses.reduce((n, r) => n + r.body.inserted_count, 0), 1);
    const { records } = await recordsOf(dataset.dataset_id);
    assert.equal(records.length, 1);
    assert.deepEqual(Object.keys(records[0].expectations).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('writes record JSON as Python does: float text, key order and non-ASCII escapes survive', async () => {
    const dataset = await create();
    const body = '[{"inputs": {"2": "b", "1": "a", "x": 1.0, "big": 1e400, "text": "caf\\u00e9 \\ud83d\\ude00"}}]';
    const response = await t.call('POST', `${V3}/${dataset.dataset_id}/records`, { records: body });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const { text } = await recordsOf(dataset.dataset_id);
    assert.match(text, /"inputs": \{"2": "b", "1": "a", "x": 1\.0, "big": 1e400, "text": "caf\\u00e9 \\ud83d\\ude00"\}/);
    const schema = JSON.parse((await t.call('GET', `${V3}/${dataset.dataset_id}`)).body.dataset.schema);
    assert.equal(schema.inputs.x, 'float');
  });

  it('pages records by a cursor in creation order and refuses a malformed page token', async () => {
    const dataset = await create();
    await upsert(dataset.dataset_id, [0, 1, 2, 3, 4].map((i) => ({ inputs: { i } })));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await recordsOf(dataset.dataset_id, { max_results: 2, ...(token ? { page_token: token } : {}) });
      seen.push(...page.records.map((r) => r.dataset_record_id));
      token = page.token;
      pages += 1;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 5);
    const bad = await t.call('GET', `${V3}/${dataset.dataset_id}/records`, { page_token: 'not a token!' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
  });

  it('deletes records by id and recounts the profile', async () => {
    const dataset = await create();
    await upsert(dataset.dataset_id, [{ inputs: { i: 1 } }, { inputs: { i: 2 } }]);
    const ids = (await recordsOf(dataset.dataset_id)).records.map((r) => r.dataset_record_id);
    const response = await t.inject({ method: 'DELETE', url: `${V3}/${dataset.dataset_id}/records`, payload: { dataset_record_ids: [ids[0], 'dr-nope'] } });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(JSON.parse(response.body), { deleted_count: 1 });
    assert.equal((await t.call('GET', `${V3}/${dataset.dataset_id}`)).body.dataset.profile, '{"num_records": 1}');
  });

  it('refuses malformed records, sources and tags with INVALID_PARAMETER_VALUE', async () => {
    const dataset = await create();
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [`${V3}/${dataset.dataset_id}/records`, { records: 'not json' }, /Invalid JSON in 'records'/],
      [`${V3}/${dataset.dataset_id}/records`, { records: '{"inputs": {}}' }, /must be a JSON list/],
      [`${V3}/${dataset.dataset_id}/records`, { records: '[{"inputs": "x"}]' }, /'inputs' must be a JSON object/],
      [`${V3}/${dataset.dataset_id}/records`, { records: '[{"inputs": {"a": 1}, "source": {"source_type": "ROBOT"}}]' }, /Invalid dataset record source type: ROBOT/],
      [`${V3}/${dataset.dataset_id}/records`, {}, /Missing value for required parameter 'records'/],
      [`${V3}/create`, { experiment_ids: [experimentId] }, /Missing value for required parameter 'name'/],
      [`${V3}/create`, { name: 'x', tags: '[1]' }, /'tags' must be a JSON object/],
    ];
    for (const [url, fields, message] of cases) {
      const response = await t.call('POST', url, fields);
      assert.equal(response.status, 400, `${url} ${JSON.stringify(fields)}`);
      assert.equal(response.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(response.body.message, message);
    }
  });

  it('searches by experiments, filters and order, newest first by default, with page tokens', async () => {
    const exp2 = (await t.call('POST', 'experiments/create', { name: 'datasets-exp-2' })).body.experiment_id;
    const a = await create({ name: 'search-a', experiment_ids: [exp2], tags: '{"team": "ml"}' });
    const b = await create({ name: 'search-b', experiment_ids: [exp2], tags: '{"team": "data"}' });
    const search = async (fields: Record<string, unknown>) => {
      const response = await t.call('POST', `${V3}/search`, fields);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body;
    };
    assert.deepEqual((await search({ experiment_ids: [exp2], order_by: ['name ASC'] })).datasets.map((d: any) => d.name), ['search-a', 'search-b']);
    assert.deepEqual((await search({ experiment_ids: [exp2], filter_string: "tags.team = 'ml'" })).datasets.map((d: any) => d.dataset_id), [a.dataset_id]);
    assert.deepEqual((await search({ filter_string: 'name = "search-b"' })).datasets.map((d: any) => d.dataset_id), [b.dataset_id]);
    const newestFirst = (await search({ experiment_ids: [exp2] })).datasets.map((d: any) => d.created_time);
    assert.deepEqual(newestFirst, [...newestFirst].sort((x, y) => y - x));
    const page1 = await search({ experiment_ids: [exp2], max_results: 1, order_by: ['name DESC'] });
    assert.equal(page1.datasets[0].name, 'search-b');
    const page2 = await search({ experiment_ids: [exp2], max_results: 1, order_by: ['name DESC'], page_token: page1.next_page_token });
    assert.equal(page2.datasets[0].name, 'search-a');
    assert.equal(page2.next_page_token, undefined);
    assert.deepEqual(await search({ experiment_ids: ['987654'] }), {}, 'no match: no datasets field, as MLflow writes an empty list');
    const get = await t.call('GET', `${V3}/search`, { experiment_ids: exp2, filter_string: "name LIKE 'search-%'" });
    assert.equal(get.body.datasets.length, 2);

    for (const filter of ["color = 'red'", "tags.team > 'a'", "name = 'a' OR name = 'b'", 'created_time = 1.5', "params.x = '1'"]) {
      const response = await t.call('POST', `${V3}/search`, { filter_string: filter });
      assert.equal(response.status, 400, filter);
      assert.equal(response.body.error_code, 'INVALID_PARAMETER_VALUE', filter);
    }
    const badOrder = await t.call('POST', `${V3}/search`, { order_by: ['created_by ASC'] });
    assert.equal(badOrder.status, 400);
  });

  it('sets tags by merging, deletes one, and says so when the dataset is unknown', async () => {
    const dataset = await create({ tags: '{"env": "dev", "keep": "1"}' });
    assert.equal((await t.call('PATCH', `${V3}/${dataset.dataset_id}/tags`, { tags: '{"env": "prod", "n": 2, "b": true}' })).status, 200);
    assert.equal((await t.call('DELETE', `${V3}/${dataset.dataset_id}/tags/keep`)).status, 200);
    assert.equal((await t.call('GET', `${V3}/${dataset.dataset_id}`)).body.dataset.tags, '{"b": "True", "env": "prod", "n": "2"}');
    const unknown = await t.call('PATCH', `${V3}/d-unknown/tags`, { tags: '{"a": "b"}' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, 'Could not find evaluation dataset with ID d-unknown');
    assert.equal((await t.call('DELETE', `${V3}/d-unknown/tags/a`)).status, 200);
  });

  it('adds and removes experiment links; unknown datasets and experiments are not found', async () => {
    const dataset = await create();
    const exp3 = (await t.call('POST', 'experiments/create', { name: 'datasets-exp-3' })).body.experiment_id;
    const added = await t.call('POST', `${V3}/${dataset.dataset_id}/add-experiments`, { experiment_ids: [exp3, experimentId] });
    assert.equal(added.status, 200);
    assert.equal(added.body.dataset.dataset_id, dataset.dataset_id);
    assert.deepEqual((await t.call('GET', `${V3}/${dataset.dataset_id}/experiment-ids`)).body.experiment_ids.sort(), [experimentId, exp3].sort());
    const removed = await t.call('POST', `${V3}/${dataset.dataset_id}/remove-experiments`, { experiment_ids: [experimentId, exp3, '424242'] });
    assert.equal(removed.status, 200);
    assert.deepEqual((await t.call('GET', `${V3}/${dataset.dataset_id}/experiment-ids`)).body, {});

    const noExperiment = await t.call('POST', `${V3}/${dataset.dataset_id}/add-experiments`, { experiment_ids: ['424242'] });
    assert.equal(noExperiment.status, 404);
    assert.equal(noExperiment.body.message, 'No Experiment with id=424242');
    const noDataset = await t.call('POST', `${V3}/d-unknown/add-experiments`, { experiment_ids: [experimentId] });
    assert.equal(noDataset.status, 404);
    assert.equal(noDataset.body.message, "Dataset 'd-unknown' not found");
    const createMissing = await t.call('POST', `${V3}/create`, { name: 'x', experiment_ids: ['424242'] });
    assert.equal(createMissing.status, 404);
  });

  it('deletes a dataset with its records; deleting it again is not an error', async () => {
    const dataset = await create();
    await upsert(dataset.dataset_id, [{ inputs: { a: 1 } }]);
    assert.equal((await t.call('DELETE', `${V3}/${dataset.dataset_id}`)).status, 200);
    const gone = await t.call('GET', `${V3}/${dataset.dataset_id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal(gone.body.message, `Evaluation dataset with id '${dataset.dataset_id}' not found`);
    assert.equal((await t.call('GET', `${V3}/${dataset.dataset_id}/records`)).status, 404);
    assert.equal((await t.call('DELETE', `${V3}/${dataset.dataset_id}`)).status, 200);
  });

  it('keeps a soft-deleted experiment linked, as upstream', async () => {
    const exp = (await t.call('POST', 'experiments/create', { name: 'datasets-soft-deleted' })).body.experiment_id;
    const dataset = await create({ experiment_ids: [exp] });
    assert.equal((await t.call('POST', 'experiments/delete', { experiment_id: exp })).status, 200);
    assert.deepEqual((await t.call('GET', `${V3}/${dataset.dataset_id}/experiment-ids`)).body, { experiment_ids: [exp] });
  });

  it('serves the same API under /ajax-api/3.0 for the web UI', async () => {
    const dataset = await create({ name: 'ajax' });
    const response = await t.call('GET', `/ajax-api/3.0/mlflow/datasets/${dataset.dataset_id}`);
    assert.equal(response.status, 200);
    assert.equal(response.body.dataset.name, 'ajax');
  });

  it('records every change in the audit log', async () => {
    const dataset = await create({ name: 'audited' });
    await upsert(dataset.dataset_id, [{ inputs: { a: 1 } }]);
    const page = await t.server.services.audit!.query({ entityType: 'evaluation_dataset', entityId: dataset.dataset_id }, {});
    assert.deepEqual(page.entries.map((e) => e.action).sort(), ['evaluation_dataset.create', 'evaluation_dataset.upsert_records']);
  });
});

describe('evaluation datasets across projects', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    await t.server.services.auth!.createProject({ name: 'alpha' });
    await t.server.services.auth!.createProject({ name: 'beta' });
  });

  after(async () => t?.close());

  it('answers a dataset or experiment of another project as one that does not exist', async () => {
    const betaExp = (await t.call('POST', '/projects/beta/api/2.0/mlflow/experiments/create', { name: 'b' })).body.experiment_id;
    const created = await t.call('POST', `/projects/beta${V3}/create`, { name: 'beta-ds', experiment_ids: [betaExp] });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = created.body.dataset.dataset_id;
    await t.call('POST', `/projects/beta${V3}/${id}/records`, { records: '[{"inputs": {"a": 1}}]' });

    assert.equal((await t.call('GET', `/projects/alpha${V3}/${id}`)).status, 404);
    assert.equal((await t.call('GET', `${V3}/${id}`)).status, 404, 'the bare URL is the default project');
    assert.equal((await t.call('GET', `/projects/alpha${V3}/${id}/records`)).status, 404);
    assert.equal((await t.call('POST', `/projects/alpha${V3}/${id}/records`, { records: '[{"inputs": {"b": 1}}]' })).status, 404);
    assert.equal((await t.call('PATCH', `/projects/alpha${V3}/${id}/tags`, { tags: '{"x": "y"}' })).status, 404);
    assert.deepEqual((await t.call('POST', `/projects/alpha${V3}/search`, {})).body, {});
    assert.deepEqual((await t.call('POST', `/projects/alpha${V3}/search`, { experiment_ids: [betaExp] })).body, {});
    const alphaDs = (await t.call('POST', `/projects/alpha${V3}/create`, { name: 'alpha-ds' })).body.dataset.dataset_id;
    const link = await t.call('POST', `/projects/alpha${V3}/${alphaDs}/add-experiments`, { experiment_ids: [betaExp] });
    assert.equal(link.status, 404);
    assert.equal((await t.call('POST', `/projects/alpha${V3}/create`, { name: 'x', experiment_ids: [betaExp] })).status, 404);
    // Deleting from the wrong project deletes nothing.
    assert.equal((await t.inject({ method: 'DELETE', url: `/projects/alpha${V3}/${id}` })).statusCode, 200);
    const still = await t.call('GET', `/projects/beta${V3}/${id}`);
    assert.equal(still.status, 200);
    assert.equal(still.body.dataset.profile, '{"num_records": 1}');
  });
});

describe('experiments/search-datasets (run input datasets)', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
  });

  after(async () => t?.close());

  it('refuses a request without experiment ids or with more than 20, as upstream', async () => {
    for (const fields of [{}, { experiment_ids: [] }]) {
      const response = await t.call('POST', '/ajax-api/2.0/mlflow/experiments/search-datasets', fields);
      assert.equal(response.status, 400);
      assert.equal(response.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal(response.body.message, 'SearchDatasets request must specify at least one experiment_id.');
    }
    const tooMany = await t.call('POST', '/ajax-api/2.0/mlflow/experiments/search-datasets', { experiment_ids: Array.from({ length: 21 }, (_, i) => String(i)) });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.message, /cannot specify more than 20 experiment_ids/);
  });
});
