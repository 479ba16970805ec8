import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startAuthServer, type AuthHarness, type Credential } from '../support/auth-harness.ts';
import { sourceRun } from '../support/migration-source.ts';

/**
 * The bulk import API behind `trove import --to` (/api/2.0/trove/import/...), through Fastify
 * inject on a server with auth on: who may open a session (maintainers and admins, in the project
 * of the URL), what bad input answers (MLflow error JSON, 4xx), and that a file whose digest does
 * not match what arrived is refused and reported, not stored.
 */

const BASE = '/projects/alpha/api/2.0/trove/import/sessions';
const SOURCE = { key: 'test:source', description: 'a test source', warnings: [] };

describe('the bulk import API', () => {
  let h: AuthHarness;
  const as: Record<string, Credential> = {};

  before(async () => {
    h = await startAuthServer();
    await h.createUser('owner');
    await h.createUser('maint');
    await h.createUser('dev');
    await h.createUser('outsider');
    await h.createUser('root', { admin: true });
    const project = await h.createProject('alpha', 'owner');
    await h.addMember(project, 'maint', 'maintainer');
    await h.addMember(project, 'dev', 'developer');
    for (const name of ['maint', 'dev', 'outsider', 'root']) as[name] = { bearer: await h.createToken(name) };
    as.readOnly = { bearer: await h.createToken('maint', { scope: 'read' }) };
  });

  after(async () => {
    await h?.close();
  });

  test('maintainers and admins may open an import; developers, read tokens, outsiders and anonymous callers may not', async () => {
    let n = 0;
    const open = (who: Credential) => h.request('POST', BASE, { as: who, body: { source: { ...SOURCE, key: `who-${n++}` }, options: { dry_run: true } } });
    const maint = await open(as.maint);
    assert.equal(maint.status, 200, maint.text);
    assert.equal(maint.body.project, 'alpha');
    assert.match(maint.body.session_id, /^[0-9a-f]{32}$/);
    const admin = await open(as.root);
    assert.equal(admin.status, 200, admin.text);

    const dev = await open(as.dev);
    assert.equal(dev.status, 403);
    assert.equal(dev.body.error_code, 'PERMISSION_DENIED');
    assert.match(dev.body.message, /maintainer/);
    const readOnly = await open(as.readOnly);
    assert.equal(readOnly.status, 403);
    assert.equal(readOnly.body.error_code, 'PERMISSION_DENIED');
    const outsider = await open(as.outsider);
    assert.equal(outsider.status, 404);
    assert.equal(outsider.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const anonymous = await open(undefined);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error_code, 'UNAUTHENTICATED');
  });

  test('bad requests answer 4xx with MLflow error JSON', async () => {
    const noSource = await h.request('POST', BASE, { as: as.maint, body: { options: {} } });
    assert.equal(noSource.status, 400);
    assert.equal(noSource.body.error_code, 'INVALID_PARAMETER_VALUE');
    const badPolicy = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'k2' }, options: { on_conflict: 'explode' } } });
    assert.equal(badPolicy.status, 400);
    assert.equal(badPolicy.body.error_code, 'INVALID_PARAMETER_VALUE');
    const badConcurrency = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'k3' }, options: { concurrency: 1000 } } });
    assert.equal(badConcurrency.status, 400);
    const notJson = await h.request('POST', BASE, { as: as.maint, body: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error_code, 'MALFORMED_REQUEST');
    const unknown = await h.request('POST', `${BASE}/0123456789abcdef0123456789abcdef/poll`, { as: as.maint, body: { wait_ms: 0 } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  test("a session answers only to whoever opened it; another user's import of the same source is refused, the same user's replaces it", async () => {
    const opened = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'owned' } } });
    assert.equal(opened.status, 200, opened.text);
    const byAdmin = await h.request('POST', `${BASE}/${opened.body.session_id}/poll`, { as: as.root, body: { wait_ms: 0 } });
    assert.equal(byAdmin.status, 404);
    const byOther = await h.request('POST', BASE, { as: as.root, body: { source: { ...SOURCE, key: 'owned' } } });
    assert.equal(byOther.status, 409);
    assert.equal(byOther.body.error_code, 'RESOURCE_CONFLICT');

    // The command was killed and is run again: the old session ends, the new one goes ahead.
    const again = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'owned' } } });
    assert.equal(again.status, 200, again.text);
    assert.notEqual(again.body.session_id, opened.body.session_id);
    let old: Record<string, unknown> | undefined;
    for (let i = 0; i < 20 && !old; i++) old = (await h.request('POST', `${BASE}/${opened.body.session_id}/poll`, { as: as.maint, body: { wait_ms: 1000 } })).body.outcome;
    assert.equal(old?.status, 'failed');
    assert.match(String(old?.message), /replaced by a new import/);
    const fresh = await h.request('POST', `${BASE}/${again.body.session_id}/poll`, { as: as.maint, body: { wait_ms: 5000 } });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.body.calls[0]?.method, 'experiments');
  });

  test('an answer that would escape a path or lacks fields is refused with 400 and fails the import, not the server', async () => {
    const opened = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'malformed' } } });
    const session = `${BASE}/${opened.body.session_id}`;
    const first = await h.request('POST', `${session}/poll`, { as: as.maint, body: { wait_ms: 5000 } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.calls[0].method, 'experiments');
    const answer = await h.request('POST', `${session}/calls/${first.body.calls[0].call_id}`, {
      as: as.maint,
      body: { result: [{ experimentId: '../../etc', name: 'x', creationTime: 1, tags: [] }] },
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(answer.body.message, /experimentId/);
    let outcome: Record<string, unknown> | undefined;
    for (let i = 0; i < 20 && !outcome; i++) outcome = (await h.request('POST', `${session}/poll`, { as: as.maint, body: { wait_ms: 2000 } })).body.outcome;
    assert.equal(outcome?.status, 'failed');
    assert.match(String(outcome?.message), /experimentId/);
  });

  test('a file whose digest does not match the bytes that arrived is refused, reported, and not stored, even when the digest arrives before the bytes', async () => {
    const opened = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'digest' } } });
    assert.equal(opened.status, 200, opened.text);
    const session = `${BASE}/${opened.body.session_id}`;
    const runId = 'a'.repeat(32);
    const answers: Record<string, unknown> = {
      experiments: [{ experimentId: '9001', name: 'digest-exp', artifactLocation: 'mlflow-artifacts:/9001', lifecycleStage: 'active', creationTime: 1, lastUpdateTime: 1, tags: [] }],
      runs: [sourceRun(runId, '9001', { runName: 'r', artifactUri: 'mlflow-artifacts:/9001/r/artifacts' })],
      list_artifacts: [{ path: 'f.txt', size: 5 }],
      logged_models: [],
      registered_models: [],
    };
    let outcome: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
    let put: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 50 && !outcome; i++) {
      const polled = await h.request('POST', `${session}/poll`, { as: as.maint, body: { wait_ms: 2000 } });
      assert.equal(polled.status, 200, polled.text);
      outcome = polled.body.outcome;
      for (const call of polled.body.calls as Array<{ call_id: number; method: string }>) {
        const url = `${session}/calls/${call.call_id}`;
        if (call.method === 'open_artifact') {
          // The digest first: the command posts it right after the last byte on another
          // connection, so it can reach the server before the body's request does.
          const wrong = createHash('sha256').update('HELLO').digest('hex');
          const digestReply = await h.request('POST', url, { as: as.maint, body: { sha256: wrong } });
          assert.equal(digestReply.status, 200, digestReply.text);
          const response = await h.inject({ method: 'PUT', url: `${url}/content`, payload: Buffer.from('hello'), headers: { authorization: `Bearer ${(as.maint as { bearer: string }).bearer}`, 'content-type': 'application/octet-stream' } });
          put = { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
        } else {
          const reply = await h.request('POST', url, { as: as.maint, body: { result: answers[call.method] } });
          assert.equal(reply.status, 200, `${call.method}: ${reply.text}`);
        }
      }
    }
    assert.equal(put?.status, 400);
    assert.equal(put?.body.error_code, 'BAD_REQUEST');
    assert.match(String(put?.body.message), /checksum mismatch/);
    assert.equal(outcome?.status, 'done');
    assert.equal(outcome?.report.failures.length, 1);
    assert.match(outcome?.report.failures[0].message, /f\.txt/);
    assert.equal(outcome?.report.artifactFiles, 0);
    const listed = await h.request('GET', `/projects/alpha/api/2.0/mlflow/artifacts/list`, { as: as.maint, query: { run_id: runId } });
    assert.deepEqual(listed.body.files ?? [], []);
  });

  test('traces come across over the API into the URL\'s project with ids kept; a malformed trace is refused with 400 and reported as failed', async () => {
    const opened = await h.request('POST', BASE, { as: as.maint, body: { source: { ...SOURCE, key: 'traces', traces: true } } });
    assert.equal(opened.status, 200, opened.text);
    const session = `${BASE}/${opened.body.session_id}`;
    const good = `tr-${'1'.repeat(32)}`;
    const bad = `tr-${'2'.repeat(32)}`;
    const spanId = Buffer.alloc(8, 7).toString('base64');
    const trace = (traceId: string, span: string) => ({
      info: {
        traceId,
        experimentId: '9100',
        requestTime: 1_700_000_000_000,
        executionDuration: 40,
        state: 'OK',
        clientRequestId: null,
        requestPreview: '{"q": "why"}',
        responsePreview: '"42"',
        metadata: { 'mlflow.trace_schema.version': '3' },
        tags: { user: 'u1', 'mlflow.traceName': 'answer' },
        assessments: [{ assessmentId: `a-${traceId.slice(3)}`, createTime: 1_700_000_000_100, lastUpdateTime: 1_700_000_000_100, body: { assessment_name: 'correct', feedback: { value: true }, source: { source_type: 'HUMAN', source_id: 'rev' } } }],
      },
      spans: [
        {
          trace_id: Buffer.from(traceId.slice(3), 'hex').toString('base64'),
          span_id: span,
          parent_span_id: null,
          name: 'answer',
          kind: 'SPAN_KIND_INTERNAL',
          start_time_unix_nano: '1700000000000000000',
          end_time_unix_nano: '1700000000040000000',
          events: [],
          status: { code: 'STATUS_CODE_OK', message: '' },
          attributes: { 'mlflow.spanType': '"CHAIN"', 'mlflow.traceRequestId': JSON.stringify(traceId) },
          links: [],
        },
      ],
    });
    const answers: Record<string, unknown> = {
      experiments: [{ experimentId: '9100', name: 'traces-exp', artifactLocation: 'mlflow-artifacts:/9100', lifecycleStage: 'active', creationTime: 1, lastUpdateTime: 1, tags: [] }],
      runs: [],
      logged_models: [],
      trace_ids: { traceIds: [good, bad] },
      registered_models: [],
    };
    let outcome: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- reads arbitrary JSON
    let refused: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 50 && !outcome; i++) {
      const polled = await h.request('POST', `${session}/poll`, { as: as.maint, body: { wait_ms: 2000 } });
      assert.equal(polled.status, 200, polled.text);
      outcome = polled.body.outcome;
      for (const call of polled.body.calls as Array<{ call_id: number; method: string; trace_id?: string }>) {
        const url = `${session}/calls/${call.call_id}`;
        if (call.method === 'trace') {
          const reply = await h.request('POST', url, { as: as.maint, body: { result: call.trace_id === good ? trace(good, spanId) : trace(bad, 'not-a-span-id') } });
          if (call.trace_id === good) assert.equal(reply.status, 200, reply.text);
          else refused = { status: reply.status, body: reply.body };
        } else {
          const reply = await h.request('POST', url, { as: as.maint, body: { result: answers[call.method] } });
          assert.equal(reply.status, 200, `${call.method}: ${reply.text}`);
        }
      }
    }
    assert.equal(refused?.status, 400);
    assert.equal(refused?.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(String(refused?.body.message), /span_id/);
    assert.equal(outcome?.status, 'done');
    assert.deepEqual(outcome?.report.counts.find((c: { kind: string }) => c.kind === 'traces'), { kind: 'traces', created: 1, updated: 0, unchanged: 0, skipped: 0, deleted: 0, failed: 1 });
    assert.equal(outcome?.report.failures[0].id, bad);

    const got = await h.request('GET', '/projects/alpha/api/3.0/mlflow/traces/get', { as: as.dev, query: { trace_id: good } });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.trace.trace_info.trace_location.mlflow_experiment.experiment_id, '9100');
    assert.equal(got.body.trace.trace_info.tags.user, 'u1');
    assert.equal(got.body.trace.trace_info.assessments[0].assessment_id, `a-${'1'.repeat(32)}`);
    assert.equal(got.body.trace.spans[0].span_id, spanId);
    const missing = await h.request('GET', '/projects/alpha/api/3.0/mlflow/traces/get', { as: as.dev, query: { trace_id: bad } });
    assert.equal(missing.status, 404);
    const audit = await h.request('GET', '/projects/alpha/api/2.0/trove/project/audit', { as: as.maint, query: { action: 'import.finish' } });
    assert.ok((audit.body.entries as Array<{ entity_id?: string; details?: { counts?: Array<{ kind: string }> } }>).some((e) => e.details?.counts?.some((c) => c.kind === 'traces')), audit.text);
  });

  test('opening and finishing an import are in the audit log', async () => {
    const entries = await h.request('GET', '/projects/alpha/api/2.0/trove/project/audit', { as: as.maint, query: { action: 'import.start' } });
    assert.equal(entries.status, 200, entries.text);
    assert.ok((entries.body.entries as unknown[]).length > 0, entries.text);
    const finished = await h.request('GET', '/projects/alpha/api/2.0/trove/project/audit', { as: as.maint, query: { action: 'import.finish' } });
    assert.ok((finished.body.entries as Array<{ details?: { status?: string } }>).some((e) => e.details?.status === 'done'), finished.text);
  });
});
