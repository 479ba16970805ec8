import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { sessionFrom, startAuthServer, type AuthHarness, type CallResult, type Credential } from '../support/auth-harness.ts';

/**
 * The audit log: every kind of change leaves one entry naming who, in which project, what, on
 * which entity, when, in which request and from where; entries are written in the change's own
 * transaction (a change that fails leaves none, an entry that cannot be written undoes the
 * change); the log can be filtered, paged and exported as NDJSON.
 */

const API = '/api/2.0';

interface Entry {
  id: number;
  time: number;
  project: string | null;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  request_id: string | null;
  source_address: string | null;
  details: Record<string, unknown> | null;
}

describe('audit log', () => {
  let h: AuthHarness;
  let admin: Credential;
  let dev: Credential;
  let maint: Credential;
  const started = Date.now();

  before(async () => {
    h = await startAuthServer();
    const a = await h.createUser('auditor', { admin: true });
    const d = await h.createUser('dev');
    const m = await h.createUser('maint');
    await h.createUser('extra');
    const project = await h.createProject('audited', 'auditor');
    await h.addMember(project, 'dev', 'developer');
    await h.addMember(project, 'maint', 'maintainer');
    admin = { basic: [a.username, a.password] };
    dev = { basic: [d.username, d.password] };
    maint = { basic: [m.username, m.password] };
  });
  after(async () => h?.close());

  /** Calls in project `audited` and returns the response with the entries its request wrote. */
  async function change(method: 'POST' | 'PATCH' | 'DELETE' | 'PUT', path: string, as: Credential, body?: unknown, project = 'audited'): Promise<{ response: CallResult; entries: Entry[] }> {
    const url = `${project ? `/projects/${project}` : ''}${path.startsWith('/') ? path : `${API}/mlflow/${path}`}`;
    const response =
      method === 'PUT'
        ? await h.request(method, url, { as, body: String(body), headers: { 'content-type': 'application/octet-stream' } })
        : await h.request(method, url, { as, body: body ?? {} });
    const requestId = String(response.headers['x-request-id']);
    const log = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { max_results: '1000' } });
    assert.equal(log.status, 200, log.text);
    return { response, entries: (log.body.entries as Entry[]).filter((e) => e.request_id === requestId) };
  }

  function one(entries: Entry[], action: string): Entry {
    const found = entries.filter((e) => e.action === action);
    assert.equal(found.length, 1, `one ${action} entry, got ${JSON.stringify(entries.map((e) => e.action))}`);
    return found[0]!;
  }

  it('records each kind of tracking change with who, project, entity, time, request and address', async () => {
    const created = await change('POST', 'experiments/create', dev, { name: 'exp-a' });
    const experimentId = created.response.body.experiment_id as string;
    const entry = one(created.entries, 'experiment.create');
    assert.equal(entry.actor, 'dev');
    assert.equal(entry.project, 'audited');
    assert.equal(entry.entity_type, 'experiment');
    assert.equal(entry.entity_id, experimentId);
    assert.equal(entry.source_address, '127.0.0.1');
    assert.ok(entry.time >= started && entry.time <= Date.now());
    assert.deepEqual(entry.details, { name: 'exp-a' });

    one((await change('POST', 'experiments/update', dev, { experiment_id: experimentId, new_name: 'exp-b' })).entries, 'experiment.rename');
    one((await change('POST', 'experiments/set-experiment-tag', dev, { experiment_id: experimentId, key: 'k', value: 'v' })).entries, 'experiment.set_tag');
    one((await change('POST', 'experiments/delete-experiment-tag', dev, { experiment_id: experimentId, key: 'k' })).entries, 'experiment.delete_tag');

    const run = await change('POST', 'runs/create', dev, { experiment_id: experimentId });
    const runId = run.response.body.run.info.run_id as string;
    assert.equal(one(run.entries, 'run.create').entity_id, runId);
    const logged = one((await change('POST', 'runs/log-batch', dev, { run_id: runId, metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }], params: [{ key: 'p', value: '1' }] })).entries, 'run.log');
    assert.deepEqual(logged.details, { metrics: 1, params: 1, tags: 0 });
    one((await change('POST', 'runs/log-metric', dev, { run_id: runId, key: 'm', value: 2, timestamp: 2, step: 1 })).entries, 'run.log');
    one((await change('POST', 'runs/set-tag', dev, { run_id: runId, key: 't', value: 'v' })).entries, 'run.log');
    one((await change('POST', 'runs/delete-tag', dev, { run_id: runId, key: 't' })).entries, 'run.delete_tag');
    one((await change('POST', 'runs/update', dev, { run_id: runId, status: 'FINISHED' })).entries, 'run.update');
    one((await change('POST', 'runs/log-inputs', dev, { run_id: runId, datasets: [] })).entries, 'run.log_inputs');
    const model = await change('POST', 'logged-models', dev, { experiment_id: experimentId, name: 'lm' });
    const modelId = model.response.body.model.info.model_id as string;
    one(model.entries, 'logged_model.create');
    one((await change('POST', `logged-models/${modelId}/params`, dev, { params: [{ key: 'a', value: '1' }] })).entries, 'logged_model.log_params');
    one((await change('PATCH', `logged-models/${modelId}/tags`, dev, { tags: [{ key: 'a', value: '1' }] })).entries, 'logged_model.set_tags');
    one((await change('DELETE', `logged-models/${modelId}/tags/a`, dev)).entries, 'logged_model.delete_tag');
    one((await change('PATCH', `logged-models/${modelId}`, dev, { status: 'LOGGED_MODEL_READY' })).entries, 'logged_model.finalize');
    one((await change('POST', 'runs/outputs', dev, { run_id: runId, models: [{ model_id: modelId, step: 0 }] })).entries, 'run.log_outputs');
    one((await change('DELETE', `logged-models/${modelId}`, maint)).entries, 'logged_model.delete');

    const artifactPath = String(run.response.body.run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    const upload = one((await change('PUT', `${API}/mlflow-artifacts/artifacts/${artifactPath}/notes.txt`, dev, 'hello')).entries, 'artifact.upload');
    assert.equal(upload.entity_id, `${artifactPath}/notes.txt`);
    one((await change('DELETE', `${API}/mlflow-artifacts/artifacts/${artifactPath}/notes.txt`, maint)).entries, 'artifact.delete');

    one((await change('POST', 'runs/delete', maint, { run_id: runId })).entries, 'run.delete');
    one((await change('POST', 'runs/restore', maint, { run_id: runId })).entries, 'run.restore');
    const deleted = one((await change('POST', 'experiments/delete', maint, { experiment_id: experimentId })).entries, 'experiment.delete');
    assert.equal(deleted.actor, 'maint');
    one((await change('POST', 'experiments/restore', maint, { experiment_id: experimentId })).entries, 'experiment.restore');
  });

  it('records each kind of registry and webhook change', async () => {
    const experiment = await change('POST', 'experiments/create', dev, { name: 'reg-exp' });
    const run = await change('POST', 'runs/create', dev, { experiment_id: experiment.response.body.experiment_id });
    const runId = run.response.body.run.info.run_id as string;
    const path = String(run.response.body.run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    await change('PUT', `${API}/mlflow-artifacts/artifacts/${path}/model/MLmodel`, dev, 'flavors: {}');

    const model = one((await change('POST', 'registered-models/create', dev, { name: 'reg-model' })).entries, 'registered_model.create');
    assert.equal(model.entity_type, 'registered_model');
    assert.equal(model.entity_id, 'reg-model');
    one((await change('PATCH', 'registered-models/update', dev, { name: 'reg-model', description: 'd' })).entries, 'registered_model.update');
    one((await change('POST', 'registered-models/set-tag', dev, { name: 'reg-model', key: 'k', value: 'v' })).entries, 'registered_model.update');
    const version = one((await change('POST', 'model-versions/create', dev, { name: 'reg-model', source: `runs:/${runId}/model` })).entries, 'model_version.create');
    assert.equal(version.entity_id, 'reg-model/1');
    one((await change('POST', 'model-versions/set-tag', dev, { name: 'reg-model', version: '1', key: 'k', value: 'v' })).entries, 'model_version.set_tag');
    one((await change('DELETE', 'model-versions/delete-tag', dev, { name: 'reg-model', version: '1', key: 'k' })).entries, 'model_version.delete_tag');
    one((await change('PATCH', 'model-versions/update', dev, { name: 'reg-model', version: '1', description: 'v1' })).entries, 'model_version.update');
    const alias = one((await change('POST', 'registered-models/alias', maint, { name: 'reg-model', alias: 'production', version: '1' })).entries, 'registered_model_alias.set');
    assert.equal(alias.entity_id, 'reg-model@production');
    assert.equal(alias.details?.version, '1');
    const stage = await change('POST', 'model-versions/transition-stage', maint, { name: 'reg-model', version: '1', stage: 'Staging', archive_existing_versions: false });
    assert.equal(one(stage.entries, 'model_version.update').details?.current_stage, 'Staging');
    one((await change('DELETE', 'registered-models/alias', maint, { name: 'reg-model', alias: 'production' })).entries, 'registered_model_alias.delete');
    one((await change('DELETE', 'model-versions/delete', maint, { name: 'reg-model', version: '1' })).entries, 'model_version.delete');
    one((await change('DELETE', 'registered-models/delete', maint, { name: 'reg-model' })).entries, 'registered_model.delete');

    const hook = await change('POST', 'webhooks', maint, { name: 'h', url: 'http://127.0.0.1:9/h', events: [{ entity: 'model_version', action: 'created' }], secret: 'hook-secret-value' });
    const webhookId = hook.response.body.webhook.webhook_id as string;
    one(hook.entries, 'webhook.create');
    const updated = one((await change('PATCH', `webhooks/${webhookId}`, maint, { url: 'http://127.0.0.1:9/x?token=user-pw' })).entries, 'webhook.update');
    assert.deepEqual(updated.details, { fields: ['url'] }, 'which fields, never their values');
    one((await change('DELETE', `webhooks/${webhookId}`, maint)).entries, 'webhook.delete');
    const all = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { max_results: '1000' } });
    assert.ok(!all.text.includes('hook-secret-value') && !all.text.includes('user-pw'), 'no secret in the log');
  });

  it('records changes to projects, members, tokens, users and sessions', async () => {
    one((await change('POST', `${API}/trove/projects`, admin, { name: 'side', owner: 'dev' }, '')).entries, 'project.create');
    const member = one((await change('POST', `${API}/trove/project/members`, maint, { username: 'extra', role: 'guest' }, 'audited')).entries, 'member.add');
    assert.deepEqual([member.project, member.entity_id, member.details?.role], ['audited', 'extra', 'guest']);
    one((await change('PATCH', `${API}/trove/project/members/extra`, maint, { role: 'reporter' }, 'audited')).entries, 'member.update');
    one((await change('DELETE', `${API}/trove/project/members/extra`, maint, undefined, 'audited')).entries, 'member.remove');
    one((await change('PATCH', `${API}/trove/project`, admin, { description: 'x' }, 'side')).entries, 'project.update');
    const token = await change('POST', `${API}/trove/tokens`, dev, { scope: 'read', name: 'n' }, '');
    const tokenEntry = one(token.entries, 'token.create');
    assert.ok(!JSON.stringify(tokenEntry).includes(token.response.body.token));
    one((await change('DELETE', `${API}/trove/tokens/${token.response.body.access_token.id}`, dev, undefined, '')).entries, 'token.revoke');
    one((await change('POST', `${API}/trove/users`, admin, { username: 'temp', password: 'temp-password' }, '')).entries, 'user.create');
    one((await change('PATCH', `${API}/trove/users/temp`, admin, { is_admin: true }, '')).entries, 'user.set_admin');
    one((await change('PATCH', `${API}/trove/users/temp`, admin, { password: 'temp-password-2' }, '')).entries, 'user.set_password');
    one((await change('DELETE', `${API}/trove/users/temp`, admin, undefined, '')).entries, 'user.delete');
    const login = await change('POST', `${API}/trove/auth/login`, undefined, { username: 'dev', password: 'wrong-password' }, '');
    const failed = one(login.entries, 'user.login_failed');
    assert.equal(failed.entity_id, 'dev');
    assert.equal(failed.actor, 'anonymous');
    const session = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'maint', password: (maint as { basic: [string, string] }).basic[1] } });
    const cookie = sessionFrom(session);
    const log = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { action: 'session.', max_results: '10' } });
    assert.equal(log.body.entries[0].action, 'session.create');
    assert.equal(log.body.entries[0].details.username, 'maint');
    one((await change('POST', `${API}/trove/auth/logout`, { cookie }, undefined, '')).entries, 'session.delete');
  });

  it('writes an entry only when its change commits, and undoes a change whose entry cannot be written', async () => {
    const experiment = await change('POST', 'experiments/create', dev, { name: 'tx-exp' });
    const run = await change('POST', 'runs/create', dev, { experiment_id: experiment.response.body.experiment_id });
    const runId = run.response.body.run.info.run_id as string;
    await change('POST', 'runs/log-parameter', dev, { run_id: runId, key: 'lr', value: '0.1' });
    const refused = await change('POST', 'runs/log-batch', dev, { run_id: runId, params: [{ key: 'lr', value: '0.2' }], metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }] });
    assert.equal(refused.response.status, 400);
    assert.deepEqual(refused.entries, [], 'a rolled-back change has no entry');
    const duplicate = await change('POST', 'experiments/create', dev, { name: 'tx-exp' });
    assert.equal(duplicate.response.status, 400);
    assert.deepEqual(duplicate.entries, []);

    // Break the audit table: the change itself must not happen either.
    const db = h.server.database.db;
    await sql`alter table audit_log rename to audit_log_hidden`.execute(db);
    try {
      const blocked = await h.request('POST', `/projects/audited${API}/mlflow/runs/log-metric`, { as: dev, body: { run_id: runId, key: 'blocked', value: 1, timestamp: 1, step: 0 } });
      assert.equal(blocked.status, 500);
      const renamed = await h.request('POST', `/projects/audited${API}/mlflow/experiments/update`, { as: dev, body: { experiment_id: experiment.response.body.experiment_id, new_name: 'never' } });
      assert.equal(renamed.status, 500);
    } finally {
      await sql`alter table audit_log_hidden rename to audit_log`.execute(db);
    }
    const after = await h.request('GET', `/projects/audited${API}/mlflow/runs/get`, { as: dev, query: { run_id: runId } });
    assert.ok(!after.body.run.data.metrics?.some((m: { key: string }) => m.key === 'blocked'), 'the metric was rolled back with its entry');
    const name = await h.request('GET', `/projects/audited${API}/mlflow/experiments/get`, { as: dev, query: { experiment_id: experiment.response.body.experiment_id } });
    assert.equal(name.body.experiment.name, 'tx-exp');
  });

  it('filters, pages and exports the log; a project’s log shows only that project', async () => {
    const byActor = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { actor: 'maint', max_results: '1000' } });
    assert.ok(byActor.body.entries.length > 5);
    assert.ok(byActor.body.entries.every((e: Entry) => e.actor === 'maint'));
    const runs = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { action: 'run.', project: 'audited', max_results: '1000' } });
    assert.ok(runs.body.entries.length > 5 && runs.body.entries.every((e: Entry) => e.action.startsWith('run.') && e.project === 'audited'));
    const exact = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { action: 'run.delete', max_results: '1000' } });
    assert.deepEqual([...new Set(exact.body.entries.map((e: Entry) => e.action))], ['run.delete']);
    const entity = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { entity_type: 'registered_model', entity_id: 'reg-model' } });
    assert.ok(entity.body.entries.length >= 3);
    const future = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { since: String(Date.now() + 60_000) } });
    assert.deepEqual(future.body.entries, []);
    const past = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { until: '1d', max_results: '5' } });
    assert.deepEqual(past.body.entries, [], 'nothing is older than a day');
    const badTime = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { since: 'yesterday-ish' } });
    assert.equal(badTime.status, 400);

    // Paging: newest first, the token continues below the last id.
    const first = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { max_results: '3' } });
    assert.equal(first.body.entries.length, 3);
    const second = await h.request('GET', `${API}/trove/audit`, { as: admin, query: { max_results: '3', page_token: first.body.next_page_token } });
    assert.ok(second.body.entries[0].id < first.body.entries[2].id);

    const projectLog = await h.request('GET', `/projects/audited${API}/trove/project/audit`, { as: maint, query: { max_results: '1000' } });
    assert.equal(projectLog.status, 200);
    assert.ok(projectLog.body.entries.every((e: Entry) => e.project === 'audited'));
    const forbidden = await h.request('GET', `/projects/audited${API}/trove/project/audit`, { as: dev });
    assert.equal(forbidden.status, 403, 'developers do not read the audit log');
    const instance = await h.request('GET', `${API}/trove/audit`, { as: maint });
    assert.equal(instance.status, 403, 'the instance log is for admins');

    const exported = await h.request('GET', `/projects/audited${API}/trove/project/audit/export`, { as: maint, query: { action: 'experiment.' } });
    assert.equal(exported.status, 200);
    assert.match(String(exported.headers['content-type']), /^application\/x-ndjson/);
    const lines = exported.text.trim().split('\n').map((line) => JSON.parse(line) as Entry);
    assert.ok(lines.length >= 5);
    assert.ok(lines.every((e) => e.action.startsWith('experiment.') && e.project === 'audited'));
    assert.ok(lines.every((e, i) => i === 0 || e.id > lines[i - 1]!.id), 'oldest first');
    const all = await h.request('GET', `${API}/trove/audit/export`, { as: admin });
    assert.ok(all.text.trim().split('\n').length > lines.length);
  });
});
