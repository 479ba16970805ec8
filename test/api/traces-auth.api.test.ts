import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAuthServer, type AuthHarness } from '../support/auth-harness.ts';
import { hexId, otlpJsonRequest, otlpProtobufRequest } from '../support/otlp.ts';

/**
 * Traces follow the project roles of runs: OTLP ingest and StartTraceV3 need `write` (developer),
 * reads `read` (guest and up), deleting traces `delete` (maintainer). `/projects/<name>/v1/traces`
 * selects the project as every other project URL does, and traces of one project are invisible
 * from another.
 */
describe('traces and OTLP ingest with authentication', () => {
  let t: AuthHarness;
  const pw: Record<string, string> = {};
  let experimentId: string;

  before(async () => {
    t = await startAuthServer();
    for (const name of ['owner', 'alice', 'rita', 'mallory']) pw[name] = (await t.createUser(name)).password;
    const alpha = await t.createProject('alpha', 'owner');
    await t.addMember(alpha, 'alice', 'developer');
    await t.addMember(alpha, 'rita', 'reporter');
    await t.createProject('other', 'mallory');
    const created = await t.request('POST', '/projects/alpha/api/2.0/mlflow/experiments/create', { as: { basic: ['alice', pw.alice!] }, body: { name: 'traced' } });
    assert.equal(created.status, 200, created.text);
    experimentId = created.body.experiment_id;
  });
  after(async () => {
    await t.close();
  });

  function spans() {
    const traceId = hexId(16);
    return { traceId, body: JSON.stringify(otlpJsonRequest([{ traceId, spanId: hexId(8), name: 'root', startMs: 1_700_000_000_000, endMs: 1_700_000_000_010 }])) };
  }

  function otlp(as: NonNullable<Parameters<AuthHarness['request']>[2]>['as'], body: string | Buffer, project = 'alpha', contentType = 'application/json') {
    return t.request('POST', `/projects/${project}/v1/traces`, { as, body, headers: { 'content-type': contentType, 'x-mlflow-experiment-id': experimentId } });
  }

  test('a developer sends spans to /projects/<name>/v1/traces and a reporter reads the trace there', async () => {
    const { traceId, body } = spans();
    const sent = await otlp({ basic: ['alice', pw.alice!] }, body);
    assert.equal(sent.status, 200, sent.text);
    const read = await t.request('GET', '/projects/alpha/api/3.0/mlflow/traces/get', { as: { basic: ['rita', pw.rita!] }, query: { trace_id: `tr-${traceId}` } });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.trace.spans.length, 1);
    const token = await t.createToken('alice', { project: 'alpha' });
    const viaToken = await otlp({ bearer: token }, otlpProtobufRequest([{ traceId: hexId(16), spanId: hexId(8), name: 'r', startMs: 1, endMs: 2 }]), 'alpha', 'application/x-protobuf');
    assert.equal(viaToken.status, 200, viaToken.text);
  });

  test('an OTLP request without credentials, from a reporter, a read token, or a non-member is refused', async () => {
    const { body } = spans();
    assert.equal((await otlp(undefined, body)).status, 401);
    const reporter = await otlp({ basic: ['rita', pw.rita!] }, body);
    assert.equal(reporter.status, 403);
    assert.equal(reporter.body.error_code, 'PERMISSION_DENIED');
    const readToken = await t.createToken('alice', { scope: 'read' });
    assert.equal((await otlp({ bearer: readToken }, body)).status, 403);
    const outsider = await otlp({ basic: ['mallory', pw.mallory!] }, body);
    assert.equal(outsider.status, 404);
  });

  test('traces of a project are not visible from another project, even to an admin', async () => {
    const { traceId, body } = spans();
    assert.equal((await otlp({ basic: ['alice', pw.alice!] }, body)).status, 200);
    const fromDefault = await t.request('GET', `/api/3.0/mlflow/traces/tr-${traceId}`, { as: { basic: ['owner', pw.owner!] } });
    // owner is not admin and not a member of `default`.
    assert.equal(fromDefault.status, 404);
    const admin = await t.createUser('root', { admin: true });
    const asAdmin = await t.request('GET', `/api/3.0/mlflow/traces/tr-${traceId}`, { as: { basic: [admin.username, admin.password] } });
    assert.equal(asAdmin.status, 404, 'the default project holds no such trace');
    const inAlpha = await t.request('GET', `/projects/alpha/api/3.0/mlflow/traces/tr-${traceId}`, { as: { basic: [admin.username, admin.password] } });
    assert.equal(inAlpha.status, 200);
  });

  test('deleting traces needs the maintainer role; tagging and assessments need developer', async () => {
    const { traceId, body } = spans();
    assert.equal((await otlp({ basic: ['alice', pw.alice!] }, body)).status, 200);
    const id = `tr-${traceId}`;
    const tagByReporter = await t.request('PATCH', `/projects/alpha/api/2.0/mlflow/traces/${id}/tags`, { as: { basic: ['rita', pw.rita!] }, body: { key: 'k', value: 'v' } });
    assert.equal(tagByReporter.status, 403);
    const feedbackByDeveloper = await t.request('POST', `/projects/alpha/api/3.0/mlflow/traces/${id}/assessments`, {
      as: { basic: ['alice', pw.alice!] },
      body: { assessment: { assessment_name: 'ok', trace_id: id, source: { source_type: 'HUMAN', source_id: 'alice' }, feedback: { value: true } } },
    });
    assert.equal(feedbackByDeveloper.status, 200, feedbackByDeveloper.text);
    const deleteBody = { experiment_id: experimentId, request_ids: [id] };
    const byDeveloper = await t.request('POST', '/projects/alpha/api/2.0/mlflow/traces/delete-traces', { as: { basic: ['alice', pw.alice!] }, body: deleteBody });
    assert.equal(byDeveloper.status, 403);
    const byOwner = await t.request('POST', '/projects/alpha/api/2.0/mlflow/traces/delete-traces', { as: { basic: ['owner', pw.owner!] }, body: deleteBody });
    assert.equal(byOwner.status, 200, byOwner.text);
    assert.equal(byOwner.body.traces_deleted, 1);
  });
});
