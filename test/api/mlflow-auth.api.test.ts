import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthHarness, type Credential } from '../support/auth-harness.ts';

/**
 * MLflow's basic-auth admin API (what `mlflow.server.get_app_client("basic-auth", uri)` calls),
 * mapped onto Trove users and project roles.
 */

const API = '/api/2.0/mlflow';

describe('MLflow basic-auth admin API', () => {
  let h: AuthHarness;
  let admin: Credential;

  before(async () => {
    h = await startAuthServer();
    const a = await h.createUser('boss', { admin: true });
    admin = { basic: [a.username, a.password] };
    await h.createProject('ml', 'boss');
  });
  after(async () => h?.close());

  it('creates, reads, updates and deletes users as upstream does', async () => {
    const created = await h.request('POST', `${API}/users/create`, { as: admin, body: { username: 'ivan', password: 'ivan-password-1' } });
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.body.user, { id: created.body.user.id, username: 'ivan', is_admin: false, experiment_permissions: [], registered_model_permissions: [] });
    const again = await h.request('POST', `${API}/users/create`, { as: admin, body: { username: 'ivan', password: 'ivan-password-1' } });
    assert.equal(again.body.error_code, 'RESOURCE_ALREADY_EXISTS');
    const ivan: Credential = { basic: ['ivan', 'ivan-password-1'] };
    const self = await h.request('GET', `${API}/users/get`, { as: ivan, query: { username: 'ivan' } });
    assert.equal(self.body.user.username, 'ivan');
    const other = await h.request('GET', `${API}/users/get`, { as: ivan, query: { username: 'boss' } });
    assert.equal(other.status, 403);
    const current = await h.request('GET', `${API}/users/current`, { as: ivan });
    assert.equal(current.body.user.username, 'ivan');
    const createByUser = await h.request('POST', `${API}/users/create`, { as: ivan, body: { username: 'x', password: 'x-password-1' } });
    assert.equal(createByUser.status, 403);

    const changed = await h.request('PATCH', `${API}/users/update-password`, { as: ivan, body: { username: 'ivan', password: 'ivan-password-2' } });
    assert.equal(changed.status, 200, changed.text);
    const withOld = await h.request('GET', `${API}/users/current`, { as: ivan });
    assert.equal(withOld.status, 401);
    const ivan2: Credential = { basic: ['ivan', 'ivan-password-2'] };
    const wrongCurrent = await h.request('PATCH', `${API}/users/update-password`, { as: ivan2, body: { username: 'ivan', password: 'ivan-password-3', current_password: 'nope' } });
    assert.equal(wrongCurrent.status, 403, 'MLflow 3 sends current_password for self-service; it must be right');
    const byAdmin = await h.request('PATCH', `${API}/users/update-password`, { as: admin, body: { username: 'ivan', password: 'ivan-password-3' } });
    assert.equal(byAdmin.status, 200);
    const forOthers = await h.request('PATCH', `${API}/users/update-password`, { as: { basic: ['ivan', 'ivan-password-3'] }, body: { username: 'boss', password: 'hijacked-pass' } });
    assert.equal(forOthers.status, 403);

    const promoted = await h.request('PATCH', `${API}/users/update-admin`, { as: admin, body: { username: 'ivan', is_admin: true } });
    assert.equal(promoted.status, 200);
    assert.equal((await h.request('GET', `${API}/users/get`, { as: admin, query: { username: 'ivan' } })).body.user.is_admin, true);
    const deleted = await h.request('DELETE', `${API}/users/delete`, { as: admin, body: { username: 'ivan' } });
    assert.equal(deleted.status, 200);
    const gone = await h.request('GET', `${API}/users/get`, { as: admin, query: { username: 'ivan' } });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('maps experiment permissions onto the role in the experiment’s project', async () => {
    await h.createUser('judy', { password: 'judy-password-1' });
    const experiment = await h.request('POST', `/projects/ml${API}/experiments/create`, { as: admin, body: { name: 'perm-exp' } });
    const experimentId = experiment.body.experiment_id as string;
    const judy: Credential = { basic: ['judy', 'judy-password-1'] };
    assert.equal((await h.request('GET', `/projects/ml${API}/experiments/get`, { as: judy, query: { experiment_id: experimentId } })).status, 404);

    const created = await h.request('POST', `/projects/ml${API}/experiments/permissions/create`, { as: admin, body: { experiment_id: experimentId, username: 'judy', permission: 'READ' } });
    assert.equal(created.status, 200, created.text);
    assert.deepEqual(created.body.experiment_permission, { experiment_id: experimentId, user_id: created.body.experiment_permission.user_id, permission: 'READ' });
    assert.equal((await h.request('GET', `/projects/ml${API}/experiments/get`, { as: judy, query: { experiment_id: experimentId } })).status, 200);
    const members = await h.request('GET', `/projects/ml/api/2.0/trove/project/members`, { as: admin });
    assert.ok(members.body.members.some((m: { username: string; role: string }) => m.username === 'judy' && m.role === 'reporter'));
    const dup = await h.request('POST', `/projects/ml${API}/experiments/permissions/create`, { as: admin, body: { experiment_id: experimentId, username: 'judy', permission: 'EDIT' } });
    assert.equal(dup.body.error_code, 'RESOURCE_ALREADY_EXISTS');

    const updated = await h.request('PATCH', `/projects/ml${API}/experiments/permissions/update`, { as: admin, body: { experiment_id: experimentId, username: 'judy', permission: 'EDIT' } });
    assert.equal(updated.status, 200);
    const got = await h.request('GET', `/projects/ml${API}/experiments/permissions/get`, { as: admin, query: { experiment_id: experimentId, username: 'judy' } });
    assert.equal(got.body.experiment_permission.permission, 'EDIT');
    assert.equal((await h.request('POST', `/projects/ml${API}/runs/create`, { as: judy, body: { experiment_id: experimentId } })).status, 200, 'EDIT = developer: may log runs');

    const bad = await h.request('PATCH', `/projects/ml${API}/experiments/permissions/update`, { as: admin, body: { experiment_id: experimentId, username: 'judy', permission: 'OWNER' } });
    assert.equal(bad.status, 400);
    const byJudy = await h.request('PATCH', `/projects/ml${API}/experiments/permissions/update`, { as: judy, body: { experiment_id: experimentId, username: 'judy', permission: 'MANAGE' } });
    assert.equal(byJudy.status, 403, 'a developer cannot raise their own role');

    const removed = await h.request('DELETE', `/projects/ml${API}/experiments/permissions/delete`, { as: admin, body: { experiment_id: experimentId, username: 'judy' } });
    assert.equal(removed.status, 200);
    const none = await h.request('GET', `/projects/ml${API}/experiments/permissions/get`, { as: admin, query: { experiment_id: experimentId, username: 'judy' } });
    assert.equal(none.status, 404);
    const unknownExperiment = await h.request('POST', `/projects/ml${API}/experiments/permissions/create`, { as: admin, body: { experiment_id: '99999', username: 'judy', permission: 'READ' } });
    assert.equal(unknownExperiment.status, 404, 'the experiment names the project: it must exist there');
  });

  it('maps registered-model permissions the same way, NO_PERMISSIONS removing the membership', async () => {
    await h.createUser('kim', { password: 'kim-password-1' });
    await h.request('POST', `/projects/ml${API}/registered-models/create`, { as: admin, body: { name: 'perm-model' } });
    const created = await h.request('POST', `/projects/ml${API}/registered-models/permissions/create`, { as: admin, body: { name: 'perm-model', username: 'kim', permission: 'MANAGE' } });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.registered_model_permission.permission, 'MANAGE');
    const got = await h.request('GET', `/projects/ml${API}/registered-models/permissions/get`, { as: admin, query: { name: 'perm-model', username: 'kim' } });
    assert.deepEqual(got.body.registered_model_permission, { name: 'perm-model', user_id: got.body.registered_model_permission.user_id, permission: 'MANAGE' });
    const kim: Credential = { basic: ['kim', 'kim-password-1'] };
    assert.equal((await h.request('POST', `/projects/ml${API}/registered-models/alias`, { as: kim, body: { name: 'perm-model', alias: 'a', version: '1' } })).status, 404, 'MANAGE = maintainer: past the gate (no version 1)');
    const revoked = await h.request('PATCH', `/projects/ml${API}/registered-models/permissions/update`, { as: admin, body: { name: 'perm-model', username: 'kim', permission: 'NO_PERMISSIONS' } });
    assert.equal(revoked.status, 200);
    assert.equal((await h.request('GET', `/projects/ml${API}/registered-models/get`, { as: kim, query: { name: 'perm-model' } })).status, 404);
    const unknownModel = await h.request('GET', `/projects/ml${API}/registered-models/permissions/get`, { as: admin, query: { name: 'nope', username: 'kim' } });
    assert.equal(unknownModel.status, 404);
  });

  it('maps MLflow 3’s grant, revoke and get onto project roles (experiment, registered_model, workspace)', async () => {
    await h.createUser('liam', { password: 'liam-password-1' });
    const experiment = await h.request('POST', `/projects/ml${API}/experiments/create`, { as: admin, body: { name: 'v3-exp' } });
    const experimentId = experiment.body.experiment_id as string;
    const V3 = '/api/3.0/mlflow/users/permissions';
    const grant = await h.request('POST', `/projects/ml${V3}/grant`, { as: admin, body: { username: 'liam', resource_type: 'experiment', resource_id: experimentId, permission: 'EDIT' } });
    assert.equal(grant.status, 200, grant.text);
    const got = await h.request('GET', `/projects/ml${V3}/get`, { as: admin, query: { username: 'liam', resource_type: 'experiment', resource_id: experimentId } });
    assert.deepEqual(got.body, { allowed: true, permission: 'EDIT' });
    const unknownResource = await h.request('GET', `/projects/ml${V3}/get`, { as: admin, query: { username: 'liam', resource_type: 'experiment', resource_id: '424242' } });
    assert.deepEqual(unknownResource.body, { allowed: false, permission: 'NO_PERMISSIONS' }, 'deny by default, as upstream');
    // A workspace grant names the project, from any URL.
    const viaWorkspace = await h.request('POST', `${V3}/grant`, { as: admin, body: { username: 'liam', resource_type: 'workspace', resource_id: 'ml', permission: 'READ' } });
    assert.equal(viaWorkspace.status, 200, viaWorkspace.text);
    const asRead = await h.request('GET', `${V3}/get`, { as: admin, query: { username: 'liam', resource_type: 'workspace', resource_id: 'ml' } });
    assert.deepEqual(asRead.body, { allowed: false, permission: 'READ' });
    const liam: Credential = { basic: ['liam', 'liam-password-1'] };
    const byLiam = await h.request('POST', `${V3}/grant`, { as: liam, body: { username: 'liam', resource_type: 'workspace', resource_id: 'ml', permission: 'MANAGE' } });
    assert.equal(byLiam.status, 403, 'a reporter cannot grant');
    const deny = await h.request('POST', `${V3}/grant`, { as: admin, body: { username: 'liam', resource_type: 'workspace', resource_id: 'ml', permission: 'DENY' } });
    assert.equal(deny.status, 400);
    const scorer = await h.request('POST', `/projects/ml${V3}/grant`, { as: admin, body: { username: 'liam', resource_type: 'scorer', resource_id: 'x', permission: 'READ' } });
    assert.equal(scorer.status, 400);
    const revoked = await h.request('POST', `${V3}/revoke`, { as: admin, body: { username: 'liam', resource_type: 'workspace', resource_id: 'ml' } });
    assert.equal(revoked.status, 200);
    assert.equal((await h.request('GET', `/projects/ml${API}/experiments/get`, { as: liam, query: { experiment_id: experimentId } })).status, 404);
  });
});
