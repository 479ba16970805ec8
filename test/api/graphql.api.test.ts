import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildSchema } from 'graphql';
import { startTestServer, type TestServer } from './test-server.ts';
import { startAuthServer, type AuthHarness, type Credential } from '../support/auth-harness.ts';
import { GRAPHQL_SCHEMA } from '../../src/http/graphql/schema.ts';
import { GRAPHQL_FIELD_PERMISSIONS } from '../../src/http/graphql/field-permissions.ts';
import type { ProjectRef } from '../../src/domain/request-context.ts';

// The MLflow 3.18 web UI's own run page query (mlflow/server/js/src/.../useGetRunQuery.tsx), field for field.
const UI_GET_RUN_QUERY = `
  query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetRun(input: $data) {
      apiError { helpUrl code message }
      run {
        info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId }
        experiment { experimentId name tags { key value } artifactLocation lifecycleStage lastUpdateTime }
        modelVersions { status version name source }
        data { metrics { key value step timestamp } params { key value } tags { key value } }
        inputs {
          datasetInputs { dataset { digest name profile schema source sourceType } tags { key value } }
          modelInputs { modelId }
        }
        outputs { modelOutputs { modelId step } }
      }
    }
  }`;

// The MLflow 3.18 UI's experiment page and run search queries (from its built bundle).
const UI_GET_EXPERIMENT_QUERY = `
  query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetExperiment(input: $input) {
      apiError { code message }
      experiment { artifactLocation creationTime effectiveTraceArchivalRetention experimentId lastUpdateTime lifecycleStage name tags { key value } }
    }
  }`;
const UI_SEARCH_RUNS_QUERY = `
  query SearchRuns($data: MlflowSearchRunsInput!) {
    mlflowSearchRuns(input: $data) {
      apiError { helpUrl code message }
      runs {
        info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId }
        experiment { experimentId name tags { key value } artifactLocation lifecycleStage lastUpdateTime }
        data { metrics { key value step timestamp } params { key value } tags { key value } }
        inputs { datasetInputs { dataset { digest name profile schema source sourceType } tags { key value } } modelInputs { modelId } }
        outputs { modelOutputs { modelId step } }
        modelVersions { version name creationTimestamp status source }
      }
    }
  }`;

interface GraphqlAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
  body: { data: any; errors: string[] | null };
}

async function graphql(server: TestServer, query: string, variables?: object, url = '/graphql'): Promise<GraphqlAnswer> {
  const response = await server.inject({
    method: 'POST',
    url,
    payload: { query, ...(variables ? { variables } : {}) },
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  return { status: response.statusCode, body: JSON.parse(response.body) as GraphqlAnswer['body'] };
}

describe('GraphQL endpoint', () => {
  let server: TestServer;
  let experimentId: string;
  let runId: string;
  let otherRunId: string;

  before(async () => {
    server = await startTestServer();
    experimentId = (await server.call('POST', 'experiments/create', { name: 'GraphqlTest' })).body.experiment_id;
    runId = (await server.call('POST', 'runs/create', { experiment_id: experimentId, start_time: 1000, run_name: 'first' })).body.run.info.run_id;
    otherRunId = (await server.call('POST', 'runs/create', { experiment_id: experimentId, start_time: 2000 })).body.run.info.run_id;
    for (let step = 0; step < 5; step += 1) {
      await server.call('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: step / 2, timestamp: 100 + step, step });
    }
    await server.call('POST', 'runs/log-metric', { run_id: runId, key: 'broken', value: 'NaN', timestamp: 1, step: 1 });
    await server.call('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' });
    await server.call('POST', 'runs/log-inputs', {
      run_id: runId,
      datasets: [{ dataset: { name: 'train', digest: 'd1', source_type: 'local', source: 'x' }, tags: [{ key: 'mlflow.data.context', value: 'training' }] }],
    });
    await server.call('POST', 'registered-models/create', { name: 'GraphqlModel' });
    const version = await server.call('POST', 'model-versions/create', { name: 'GraphqlModel', source: `runs:/${runId}/model`, run_id: runId });
    assert.equal(version.status, 200, JSON.stringify(version.body));
    const file = await server.inject({ method: 'PUT', url: `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/dir/a.txt`, payload: 'hello world' });
    assert.equal(file.statusCode, 200);
    await server.inject({ method: 'PUT', url: `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/top.txt`, payload: 'hi' });
  });
  after(async () => server.close());

  it('answers the echo field with data and a null errors list', async () => {
    const answer = await graphql(server, 'query testQuery { test(inputString: "abc") { output } }');
    assert.deepEqual(answer, { status: 200, body: { data: { test: { output: 'abc' } }, errors: null } });
  });

  it('answers the MLflow UI run page query with MLflow field names, int64 as strings and proto defaults', async () => {
    const answer = await graphql(server, UI_GET_RUN_QUERY, { data: { runId } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.errors, null);
    const result = answer.body.data.mlflowGetRun;
    assert.equal(result.apiError, null);
    const { run } = result;
    assert.equal(run.info.runUuid, runId);
    assert.equal(run.info.runName, 'first');
    assert.equal(run.info.status, 'RUNNING');
    assert.equal(run.info.startTime, '1000');
    assert.equal(run.info.endTime, '0', 'an unset int64 reads as its default 0, as upstream');
    assert.equal(run.info.experimentId, experimentId);
    assert.equal(run.experiment.name, 'GraphqlTest');
    assert.equal(typeof run.experiment.lastUpdateTime, 'string');
    assert.deepEqual(run.modelVersions, [{ status: 'READY', version: '1', name: 'GraphqlModel', source: `runs:/${runId}/model` }]);
    const loss = run.data.metrics.find((m: { key: string }) => m.key === 'loss');
    assert.deepEqual(loss, { key: 'loss', value: 2, step: '4', timestamp: '104' });
    assert.deepEqual(run.data.params, [{ key: 'lr', value: '0.1' }]);
    assert.deepEqual(run.inputs.datasetInputs, [
      { dataset: { digest: 'd1', name: 'train', profile: '', schema: '', source: 'x', sourceType: 'local' }, tags: [{ key: 'mlflow.data.context', value: 'training' }] },
    ]);
    assert.deepEqual(run.inputs.modelInputs, []);
    assert.deepEqual(run.outputs, { modelOutputs: [] });
  });

  it('answers the MLflow 3.18 UI experiment page and run search queries', async () => {
    const experiment = await graphql(server, UI_GET_EXPERIMENT_QUERY, { input: { experimentId } });
    assert.equal(experiment.body.errors, null);
    assert.equal(experiment.body.data.mlflowGetExperiment.experiment.name, 'GraphqlTest');
    assert.equal(experiment.body.data.mlflowGetExperiment.experiment.effectiveTraceArchivalRetention, '');
    assert.match(experiment.body.data.mlflowGetExperiment.experiment.creationTime, /^\d+$/);
    const search = await graphql(server, UI_SEARCH_RUNS_QUERY, { data: { experimentIds: [experimentId], filter: "attributes.run_name = 'first'" } });
    assert.equal(search.body.errors, null);
    const [run] = search.body.data.mlflowSearchRuns.runs;
    assert.equal(run.info.runUuid, runId);
    assert.equal(run.modelVersions[0].name, 'GraphqlModel');
    assert.match(run.modelVersions[0].creationTimestamp, /^\d+$/);
  });

  it('reports NaN metric values as null instead of failing the whole run', async () => {
    const answer = await graphql(server, `query { mlflowGetRun(input: {runId: "${runId}"}) { run { data { metrics { key value } } } } }`);
    assert.equal(answer.body.errors, null);
    const broken = answer.body.data.mlflowGetRun.run.data.metrics.find((m: { key: string }) => m.key === 'broken');
    assert.deepEqual(broken, { key: 'broken', value: null });
  });

  it('reports an unknown run in the errors list with the REST message, and null data for the field', async () => {
    const answer = await graphql(server, 'query { mlflowGetRun(input: {runId: "0123456789abcdef0123456789abcdef"}) { run { info { runId } } } }');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.data, { mlflowGetRun: null });
    assert.deepEqual(answer.body.errors, ['Run with id=0123456789abcdef0123456789abcdef not found']);
  });

  it('gets an experiment by id', async () => {
    const answer = await graphql(server, 'query Q($input: MlflowGetExperimentInput!) { mlflowGetExperiment(input: $input) { apiError { code } experiment { experimentId name tags { key } } } }', {
      input: { experimentId },
    });
    assert.deepEqual(answer.body, { data: { mlflowGetExperiment: { apiError: null, experiment: { experimentId, name: 'GraphqlTest', tags: [] } } }, errors: null });
  });

  it('searches runs as a query and as a mutation, newest first, with their experiment and model versions', async () => {
    for (const operation of ['query', 'mutation']) {
      const answer = await graphql(
        server,
        `${operation} S($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) { runs { info { runId } experiment { name } modelVersions { version } } nextPageToken } }`,
        { data: { experimentIds: [experimentId], runViewType: 'ACTIVE_ONLY' } },
      );
      assert.equal(answer.body.errors, null, operation);
      assert.deepEqual(answer.body.data.mlflowSearchRuns, {
        runs: [
          { info: { runId: otherRunId }, experiment: { name: 'GraphqlTest' }, modelVersions: [] },
          { info: { runId }, experiment: { name: 'GraphqlTest' }, modelVersions: [{ version: '1' }] },
        ],
        nextPageToken: '',
      });
    }
  });

  it('returns sampled metric history for several runs', async () => {
    const answer = await graphql(server, `query { mlflowGetMetricHistoryBulkInterval(input: {runIds: ["${runId}"], metricKey: "loss"}) { __typename metrics { key value step runId } apiError { code } } }`);
    assert.equal(answer.body.errors, null);
    const result = answer.body.data.mlflowGetMetricHistoryBulkInterval;
    assert.equal(result.__typename, 'MlflowGetMetricHistoryBulkIntervalResponse');
    assert.deepEqual(
      result.metrics,
      [0, 1, 2, 3, 4].map((step) => ({ key: 'loss', value: step / 2, step: String(step), runId })),
    );
  });

  it('lists run artifacts with sizes as strings and 0 for folders', async () => {
    const top = await graphql(server, `query { files: mlflowListArtifacts(input: {runId: "${runId}"}) { rootUri files { path isDir fileSize } } }`);
    assert.equal(top.body.errors, null);
    assert.equal(top.body.data.files.rootUri, `mlflow-artifacts:/${experimentId}/${runId}/artifacts`);
    assert.deepEqual(top.body.data.files.files, [
      { path: 'dir', isDir: true, fileSize: '0' },
      { path: 'top.txt', isDir: false, fileSize: '2' },
    ]);
    const sub = await graphql(server, `query { mlflowListArtifacts(input: {runUuid: "${runId}", path: "dir"}) { files { path fileSize } } }`);
    assert.deepEqual(sub.body.data.mlflowListArtifacts.files, [{ path: 'dir/a.txt', fileSize: '11' }]);
  });

  it('refuses an artifact path that leaves the run root', async () => {
    const answer = await graphql(server, `query { mlflowListArtifacts(input: {runId: "${runId}", path: "../x"}) { files { path } } }`);
    assert.deepEqual(answer.body, { data: { mlflowListArtifacts: null }, errors: ['Invalid path'] });
  });

  it('searches model versions and dataset summaries', async () => {
    const versions = await graphql(server, `query { mlflowSearchModelVersions(input: {filter: "name = 'GraphqlModel'", maxResults: 10}) { modelVersions { name version runId description } } }`);
    assert.deepEqual(versions.body, { data: { mlflowSearchModelVersions: { modelVersions: [{ name: 'GraphqlModel', version: '1', runId, description: '' }] } }, errors: null });
    const datasets = await graphql(server, `mutation { mlflowSearchDatasets(input: {experimentIds: ["${experimentId}"]}) { datasetSummaries { experimentId name digest context } } }`);
    assert.deepEqual(datasets.body.data.mlflowSearchDatasets.datasetSummaries, [{ experimentId, name: 'train', digest: 'd1', context: 'training' }]);
  });

  it('reports syntax and validation errors as messages with a 200, as upstream', async () => {
    const syntax = await graphql(server, 'query { test(inputString: "a") { output }');
    assert.equal(syntax.status, 200);
    assert.equal(syntax.body.data, null);
    assert.match(syntax.body.errors![0]!, /^Syntax Error/);
    const unknown = await graphql(server, 'query { mlflowGetRun(input: {runId: "x"}) { run { info { nope } } } }');
    assert.deepEqual(unknown.body, { data: null, errors: ['Cannot query field "nope" on type "MlflowRunInfo".'] });
    const badVariable = await graphql(server, 'query Q($d: MlflowGetRunInput!) { mlflowGetRun(input: $d) { run { info { runId } } } }', { d: { nope: 1 } });
    assert.equal(badVariable.body.data, null);
    assert.match(badVariable.body.errors![0]!, /nope/);
  });

  it('refuses requests that are not one GraphQL query with MLflow-shaped 400s', async () => {
    const missing = await server.inject({ method: 'POST', url: '/graphql', payload: {}, headers: { 'content-type': 'application/json' } });
    assert.equal(missing.statusCode, 400);
    assert.equal(JSON.parse(missing.body).error_code, 'INVALID_PARAMETER_VALUE');
    const batched = await server.inject({ method: 'POST', url: '/graphql', payload: [{ query: '{ test { output } }' }], headers: { 'content-type': 'application/json' } });
    assert.equal(batched.statusCode, 400);
    assert.match(JSON.parse(batched.body).message, /Batched/);
  });

  it('answers GET with the query in the URL, and under /ajax-api/graphql and a project prefix', async () => {
    const get = await server.inject({ method: 'GET', url: '/graphql', query: { query: 'query Q($s: String) { test(inputString: $s) { output } }', variables: '{"s":"hey"}' } });
    assert.deepEqual(JSON.parse(get.body), { data: { test: { output: 'hey' } }, errors: null });
    for (const url of ['/ajax-api/graphql', '/projects/default/graphql']) {
      const answer = await graphql(server, '{ test(inputString: "x") { output } }', undefined, url);
      assert.deepEqual(answer.body.data, { test: { output: 'x' } }, url);
    }
  });

  it('serves no GraphiQL or other mercurius route', async () => {
    const { declaredRoutes } = await import('../../src/http/auth-hooks.ts');
    const graphqlRoutes = declaredRoutes(server.server.app).filter((r) => /graph/i.test(r.url)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(graphqlRoutes.sort(), ['GET /ajax-api/graphql', 'GET /graphql', 'HEAD /ajax-api/graphql', 'HEAD /graphql', 'POST /ajax-api/graphql', 'POST /graphql']);
  });

  it('declares a permission for every root field and run extension field of the schema', () => {
    const schema = buildSchema(GRAPHQL_SCHEMA);
    const fields = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((f) => `Query.${f}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((f) => `Mutation.${f}`),
      'MlflowRunExtension.experiment',
      'MlflowRunExtension.modelVersions',
    ];
    assert.deepEqual(fields.filter((f) => GRAPHQL_FIELD_PERMISSIONS[f] === undefined), []);
  });
});

describe('GraphQL cost limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  const echo = 'test(inputString: "abc") { output }';

  it('refuses more than 10 root fields, naming the setting that raises the limit', async () => {
    const query = `query { ${Array.from({ length: 11 }, (_, i) => `k${i}: ${echo}`).join(' ')} }`;
    const answer = await graphql(server, query);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      data: null,
      errors: [
        'GraphQL queries should have at most 10 root fields, got 11 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable.',
      ],
    });
    const ten = await graphql(server, `query { ${Array.from({ length: 10 }, (_, i) => `k${i}: ${echo}`).join(' ')} }`);
    assert.equal(ten.body.errors, null);
  });

  it('refuses more than 10 aliases in one selection set', async () => {
    const query = `query { mlflowGetExperiment(input: {experimentId: "0"}) { ${Array.from({ length: 12 }, (_, i) => `e${i}: experiment { name }`).join(' ')} } }`;
    const answer = await graphql(server, query);
    assert.match(answer.body.errors![0]!, /queries should have at most 10 aliases, got 12 aliases.*MLFLOW_SERVER_GRAPHQL_MAX_ALIASES/);
  });

  it('refuses selections nested deeper than 10, even through fragments', async () => {
    let inner = 'name';
    for (let i = 0; i < 12; i += 1) inner = `name { ${inner} }`;
    const direct = await graphql(server, `query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ${inner} } } }`);
    assert.deepEqual(direct.body, { data: null, errors: ['Query exceeds maximum depth of 10'] });
    // Each fragment is shallow on its own; followed from the query they nest 14 levels deep.
    const chain = Array.from({ length: 12 }, (_, i) => `fragment F${i} on MlflowExperiment { name { ${i < 11 ? `...F${i + 1}` : 'name'} } }`).join(' ');
    const viaFragments = await graphql(server, `query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ...F0 } } } ${chain}`);
    assert.deepEqual(viaFragments.body, { data: null, errors: ['Query exceeds maximum depth of 10'] });
    // Inline fragments and spreads add no level of their own.
    let wrapped = 'runId';
    for (let i = 0; i < 9; i += 1) wrapped = `... on MlflowRunInfo { ${wrapped} }`;
    const inline = await graphql(server, `query { mlflowGetRun(input: {runId: "x"}) { run { info { ${wrapped} } } } }`);
    assert.deepEqual(inline.body.errors, ['Run with id=x not found']);
    const cyclic = await graphql(server, 'query { mlflowSearchRuns(input: {}) { runs { ...R } } } fragment R on MlflowRunExtension { info { runId } ...R }');
    assert.equal(cyclic.status, 200);
    assert.match(cyclic.body.errors![0]!, /Cannot spread fragment "R" within itself/);
  });

  it('refuses more than 1000 selections in total', async () => {
    const selections = Array.from({ length: 1001 }, (_, i) => `f${i}: name`).join(' ');
    const answer = await graphql(server, `query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ${selections} } } }`);
    assert.deepEqual(answer.body, { data: null, errors: ['Query exceeds maximum total selections of 1000'] });
  });

  it('stops parsing a flood of tokens and refuses bodies over 1 MB', async () => {
    const flood = await graphql(server, `query { test(inputString: "a") { output ${'__typename '.repeat(60_000)} } }`);
    assert.equal(flood.status, 200);
    assert.match(flood.body.errors![0]!, /Document contains more tha[nt] 50000 tokens/);
    const huge = await server.inject({
      method: 'POST',
      url: '/graphql',
      payload: { query: `{ test(inputString: "${'x'.repeat(1024 * 1024)}") { output } }` },
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(huge.statusCode, 400);
    assert.deepEqual(JSON.parse(huge.body), { error_code: 'INVALID_PARAMETER_VALUE', message: 'Request body is too large.' });
  });

  it('counts a fragment once per use, so spreads cannot multiply work unseen', async () => {
    // 30 uses of a 40-field fragment: 1230 selections, although the text holds only 70.
    const fields = Array.from({ length: 40 }, () => 'key').join(' ');
    const uses = Array.from({ length: 30 }, () => 'tags { ...T }').join(' ');
    const answer = await graphql(server, `query { mlflowGetExperiment(input: {experimentId: "0"}) { experiment { ${uses} } } } fragment T on MlflowExperimentTag { ${fields} }`);
    assert.deepEqual(answer.body, { data: null, errors: ['Query exceeds maximum total selections of 1000'] });
  });
});

describe('GraphQL limits from the environment', () => {
  it('honours MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS and MLFLOW_SERVER_GRAPHQL_MAX_ALIASES', async () => {
    process.env.MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS = '2';
    process.env.MLFLOW_SERVER_GRAPHQL_MAX_ALIASES = '20';
    let server: TestServer | undefined;
    try {
      server = await startTestServer();
      const three = await graphql(server, `query { a: test(inputString: "1") { output } b: test(inputString: "2") { output } c: test(inputString: "3") { output } }`);
      assert.match(three.body.errors![0]!, /at most 2 root fields, got 3/);
      const aliases = Array.from({ length: 15 }, (_, i) => `e${i}: experiment { name }`).join(' ');
      const many = await graphql(server, `query { mlflowGetExperiment(input: {experimentId: "0"}) { ${aliases} } }`);
      assert.equal(many.body.errors, null);
    } finally {
      delete process.env.MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS;
      delete process.env.MLFLOW_SERVER_GRAPHQL_MAX_ALIASES;
      await server?.close();
    }
  });

  it('refuses to start with a limit that is not a number', async () => {
    process.env.MLFLOW_SERVER_GRAPHQL_MAX_ALIASES = 'many';
    try {
      await assert.rejects(startTestServer(), /MLFLOW_SERVER_GRAPHQL_MAX_ALIASES must be a non-negative integer/);
    } finally {
      delete process.env.MLFLOW_SERVER_GRAPHQL_MAX_ALIASES;
    }
  });
});

describe('GraphQL with authentication', () => {
  let harness: AuthHarness;
  let alpha: ProjectRef;
  let admin: Credential;
  let reporter: Credential;
  let stranger: Credential;
  let alphaRun: string;
  let betaRun: string;

  const ask = async (as: Credential, project: string, query: string, variables?: object) =>
    harness.request('POST', `/projects/${project}/graphql`, { as, body: { query, ...(variables ? { variables } : {}) } });

  before(async () => {
    harness = await startAuthServer();
    const root = await harness.createUser('gql-admin', { admin: true });
    admin = { basic: [root.username, root.password] };
    const rep = await harness.createUser('gql-reporter');
    reporter = { basic: [rep.username, rep.password] };
    const other = await harness.createUser('gql-stranger');
    stranger = { basic: [other.username, other.password] };
    alpha = await harness.createProject('alpha');
    await harness.createProject('beta');
    await harness.addMember(alpha, rep.username, 'reporter');
    for (const project of ['alpha', 'beta']) {
      const exp = await harness.request('POST', `/projects/${project}/api/2.0/mlflow/experiments/create`, { as: admin, body: { name: `gql-${project}` } });
      const run = await harness.request('POST', `/projects/${project}/api/2.0/mlflow/runs/create`, { as: admin, body: { experiment_id: exp.body.experiment_id } });
      if (project === 'alpha') alphaRun = run.body.run.info.run_id;
      else betaRun = run.body.run.info.run_id;
    }
  });
  after(async () => harness.close());

  const getRun = (id: string) => `query { mlflowGetRun(input: {runId: "${id}"}) { run { info { runId } experiment { name } } } }`;

  it('lets a reporter read its project', async () => {
    const answer = await ask(reporter, 'alpha', getRun(alphaRun));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { data: { mlflowGetRun: { run: { info: { runId: alphaRun }, experiment: { name: 'gql-alpha' } } } }, errors: null });
  });

  it('keeps another project’s run invisible, even when its id is known', async () => {
    const answer = await ask(reporter, 'alpha', getRun(betaRun));
    assert.deepEqual(answer.body, { data: { mlflowGetRun: null }, errors: [`Run with id=${betaRun} not found`] });
    const search = await ask(admin, 'alpha', `query { mlflowSearchRuns(input: {experimentIds: ["1", "2", "3"]}) { runs { info { runId } } } }`);
    assert.deepEqual(search.body.data.mlflowSearchRuns.runs.map((r: { info: { runId: string } }) => r.info.runId), [alphaRun]);
  });

  it('selects the project by the X-MLFLOW-WORKSPACE header as MLflow clients send it', async () => {
    const inAlpha = await harness.request('POST', '/graphql', { as: reporter, headers: { 'x-mlflow-workspace': 'alpha' }, body: { query: getRun(alphaRun) } });
    assert.equal(inAlpha.body.errors, null);
    const inBeta = await harness.request('POST', '/graphql', { as: admin, headers: { 'x-mlflow-workspace': 'beta' }, body: { query: getRun(alphaRun) } });
    assert.deepEqual(inBeta.body, { data: { mlflowGetRun: null }, errors: [`Run with id=${alphaRun} not found`] });
  });

  it('answers a non-member as for an unknown project, and a caller without credentials with 401', async () => {
    const outsider = await ask(stranger, 'alpha', getRun(alphaRun));
    assert.equal(outsider.status, 404);
    assert.equal(outsider.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const anonymous = await ask(undefined, 'alpha', '{ test(inputString: "x") { output } }');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error_code, 'UNAUTHENTICATED');
  });

  it('accepts a read-scoped token, GraphQL changing nothing', async () => {
    const token = await harness.createToken('gql-reporter', { scope: 'read' });
    const answer = await ask({ bearer: token }, 'alpha', getRun(alphaRun));
    assert.equal(answer.body.errors, null);
    assert.equal(answer.body.data.mlflowGetRun.run.info.runId, alphaRun);
  });
});
