import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { sessionFrom, startAuthServer, type AuthHarness } from '../support/auth-harness.ts';
import { startTestServer } from './test-server.ts';
import type { ProjectRef } from '../../src/domain/request-context.ts';

const API = '/api/2.0';

describe('access tokens', () => {
  let h: AuthHarness;
  let fraud: ProjectRef;
  let other: ProjectRef;

  before(async () => {
    h = await startAuthServer();
    await h.createUser('alice');
    fraud = await h.createProject('fraud', 'alice');
    other = await h.createProject('other', 'alice');
  });
  after(async () => h?.close());

  it('authenticate with Authorization: Bearer, as MLFLOW_TRACKING_TOKEN sends it', async () => {
    const token = await h.createToken('alice');
    assert.match(token, /^trove_pat_[A-Za-z0-9_-]{43}$/);
    const response = await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: token } });
    assert.equal(response.status, 200, response.text);
  });

  it('are accepted as the Basic password too, whatever the user name, as GitLab does', async () => {
    const token = await h.createToken('alice');
    const response = await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { basic: ['oauth2', token] } });
    assert.equal(response.status, 200, response.text);
  });

  it('are stored only as a hash and listed by hint, never in full', async () => {
    const created = await h.auth.createToken({ username: 'alice', scope: 'write', name: 'ci' });
    const listed = await h.auth.listTokens({ username: 'alice' });
    const row = listed.find((t) => t.id === created.record.id)!;
    assert.equal(row.hint, `${created.token.slice(0, 14)}…`);
    assert.ok(!JSON.stringify(listed).includes(created.token));
    const raw = await h.server.database.db.selectFrom('access_tokens' as never).selectAll().execute();
    assert.ok(!JSON.stringify(raw).includes(created.token.slice(10)), 'the secret part is not in the table');
  });

  it('answer 401 when revoked, expired, malformed or unknown, without echoing the token', async () => {
    const revoked = await h.auth.createToken({ username: 'alice', scope: 'write' });
    await h.auth.revokeToken(revoked.record.id);
    const expired = await h.auth.createToken({ username: 'alice', scope: 'write', expiresIn: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cases: Array<[string, string, RegExp]> = [
      ['revoked', revoked.token, /revoked/],
      ['expired', expired.token, /expired/],
      ['malformed', 'trove_pat_short', /Invalid access token/],
      ['unknown', `trove_pat_${'A'.repeat(43)}`, /Invalid access token/],
      ['not ours', 'ghp_abcdef', /Invalid access token/],
    ];
    for (const [label, token, message] of cases) {
      const response = await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: token } });
      assert.equal(response.status, 401, label);
      assert.equal(response.body.error_code, 'UNAUTHENTICATED', label);
      assert.match(response.body.message, message, label);
      assert.match(String(response.headers['www-authenticate']), /^Basic realm="trove"/, label);
      assert.ok(!response.text.includes(token), `${label}: the token is not echoed`);
    }
  });

  it('with the read scope may read but not write (403)', async () => {
    const token = await h.createToken('alice', { scope: 'read' });
    const read = await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: token } });
    assert.equal(read.status, 200);
    const write = await h.request('POST', `/projects/fraud${API}/mlflow/experiments/create`, { as: { bearer: token }, body: { name: 'nope' } });
    assert.equal(write.status, 403);
    assert.equal(write.body.error_code, 'PERMISSION_DENIED');
    assert.match(write.body.message, /read' scope/);
  });

  it('limited to one project are refused in another project of the same user (403)', async () => {
    const token = await h.createToken('alice', { project: 'fraud' });
    assert.equal((await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: token } })).status, 200);
    const elsewhere = await h.request('GET', `/projects/other${API}/mlflow/experiments/search`, { as: { bearer: token } });
    assert.equal(elsewhere.status, 403);
    assert.match(elsewhere.body.message, /limited to another project/);
    const projects = await h.request('GET', `${API}/trove/projects`, { as: { bearer: token } });
    assert.deepEqual(projects.body.projects.map((p: { name: string }) => p.name), ['fraud']);
    assert.ok(other.id > fraud.id);
  });

  it('cannot mint more tokens or change the password (needs a password or a session)', async () => {
    const token = await h.createToken('alice');
    const mint = await h.request('POST', `${API}/trove/tokens`, { as: { bearer: token }, body: { scope: 'write' } });
    assert.equal(mint.status, 403);
    assert.match(mint.body.message, /Access tokens cannot manage your own credentials/);
  });

  it('record when they were last used', async () => {
    const created = await h.auth.createToken({ username: 'alice', scope: 'read' });
    assert.equal(created.record.lastUsedAt, null);
    await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: created.token } });
    const after = (await h.auth.getToken(created.record.id))!;
    assert.ok(after.lastUsedAt !== null && after.lastUsedAt > 0);
  });

  it('are created, listed and revoked through the API by their owner, the secret shown once', async () => {
    const { password } = await h.createUser('carol', { password: 'carol-password-1' });
    await h.addMember(fraud, 'carol', 'reporter');
    const basic = { basic: ['carol', password] as [string, string] };
    const created = await h.request('POST', `${API}/trove/tokens`, { as: basic, body: { name: 'laptop', scope: 'read', project: 'fraud', expires_in: '90d' } });
    assert.equal(created.status, 200, created.text);
    assert.match(created.body.token, /^trove_pat_/);
    assert.equal(created.body.access_token.project, 'fraud');
    assert.equal(created.body.access_token.scope, 'read');
    assert.equal(created.body.access_token.status, 'active');
    assert.ok(created.body.access_token.expires_at > Date.now() + 89 * 86_400_000);
    const listed = await h.request('GET', `${API}/trove/tokens`, { as: basic });
    assert.equal(listed.body.tokens.length, 1);
    assert.ok(!listed.text.includes(created.body.token));
    const foreign = await h.request('POST', `${API}/trove/tokens`, { as: basic, body: { scope: 'read', project: 'other' } });
    assert.equal(foreign.status, 404, 'a project the user is not in reads as missing');
    const someoneElses = await h.request('GET', `${API}/trove/tokens`, { as: basic, query: { username: 'alice' } });
    assert.equal(someoneElses.status, 403);
    const revoked = await h.request('DELETE', `${API}/trove/tokens/${created.body.access_token.id}`, { as: basic });
    assert.equal(revoked.body.access_token.status, 'revoked');
    const use = await h.request('GET', `/projects/fraud${API}/mlflow/experiments/search`, { as: { bearer: created.body.token } });
    assert.equal(use.status, 401);
  });
});

describe('passwords', () => {
  let h: AuthHarness;

  before(async () => {
    h = await startAuthServer();
    const project = await h.createProject('p1');
    for (const name of ['bob', 'dave', 'erin']) {
      await h.createUser(name, { password: `${name}-password-ok` });
      await h.addMember(project, name, 'developer');
    }
  });
  after(async () => h?.close());

  it('are stored as salted scrypt hashes with their parameters', async () => {
    const user = (await h.auth.findUser('bob'))!;
    assert.match(user.passwordHash!, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const again = await h.auth.createUser({ username: 'bob2', password: 'bob-password-ok' });
    assert.notEqual(again.user.passwordHash, user.passwordHash, 'salted: the same password hashes differently');
  });

  it('a user name with a NUL byte or other control characters answers 401, never a storage error', async () => {
    for (const name of ['bob\u0000x', 'nul\u0000', '\u0001\u007f']) {
      const response = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { basic: [name, 'whatever-password'] } });
      assert.equal(response.status, 401, response.text);
    }
    const ok = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { basic: ['bob', 'bob-password-ok'] } });
    assert.equal(ok.status, 200, ok.text);
  });

  it('authenticate Basic requests (MLFLOW_TRACKING_USERNAME/PASSWORD); a wrong one answers 401 without echoing it', async () => {
    const ok = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { basic: ['bob', 'bob-password-ok'] } });
    assert.equal(ok.status, 200);
    const wrong = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { basic: ['bob', 'Wrong-Secret-123'] } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error_code, 'UNAUTHENTICATED');
    assert.equal(wrong.body.message, 'Invalid user name or password.');
    assert.ok(!wrong.text.includes('Wrong-Secret-123'));
    const unknown = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { basic: ['nobody-here', 'x'] } });
    assert.equal(unknown.body.message, 'Invalid user name or password.', 'an unknown user reads the same');
    const malformed = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { raw: 'Basic !!!' } });
    assert.equal(malformed.status, 401);
    const scheme = await h.request('GET', `/projects/p1${API}/mlflow/experiments/search`, { as: { raw: 'Digest abc' } });
    assert.equal(scheme.status, 401);
  });

  it('change through the API: a session must give the current password', async () => {
    const h2 = await startAuthServer();
    try {
      await h2.createUser('fay', { password: 'fay-password-1' });
      const login = await h2.request('POST', `${API}/trove/auth/login`, { body: { username: 'fay', password: 'fay-password-1' } });
      const session = { cookie: sessionFrom(login), csrf: login.body.csrf_token as string };
      const missing = await h2.request('POST', `${API}/trove/auth/password`, { as: session, body: { new_password: 'fay-password-2' } });
      assert.equal(missing.status, 400);
      const wrong = await h2.request('POST', `${API}/trove/auth/password`, { as: session, body: { new_password: 'fay-password-2', current_password: 'nope' } });
      assert.equal(wrong.status, 403);
      const ok = await h2.request('POST', `${API}/trove/auth/password`, { as: session, body: { new_password: 'fay-password-2', current_password: 'fay-password-1' } });
      assert.equal(ok.status, 200, ok.text);
      const old = await h2.request('GET', `${API}/trove/projects`, { as: { basic: ['fay', 'fay-password-1'] } });
      assert.equal(old.status, 401);
      const fresh = await h2.request('GET', `${API}/trove/projects`, { as: { basic: ['fay', 'fay-password-2'] } });
      assert.equal(fresh.status, 200);
      const sessionAfter = await h2.request('GET', `${API}/trove/projects`, { as: session });
      assert.equal(sessionAfter.status, 401, 'changing the password ends the sessions');
    } finally {
      await h2.close();
    }
  });
});

describe('web sessions', () => {
  let h: AuthHarness;

  before(async () => {
    h = await startAuthServer();
    await h.createUser('gina', { password: 'gina-password-1' });
    const project = await h.createProject('web', 'gina');
    assert.ok(project.id > 1);
  });
  after(async () => h?.close());

  it('sign in with a password and set an HttpOnly, SameSite=Strict session cookie', async () => {
    const login = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'gina', password: 'gina-password-1' } });
    assert.equal(login.status, 200, login.text);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /^trove_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.equal(login.body.user.username, 'gina');
    assert.match(login.body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!login.text.includes('gina-password-1'));
  });

  it('read with the cookie alone; writes need the CSRF token in X-CSRF-Token', async () => {
    const login = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'gina', password: 'gina-password-1' } });
    const cookie = sessionFrom(login);
    const csrf = login.body.csrf_token as string;
    const read = await h.request('GET', `/projects/web/ajax-api/2.0/mlflow/experiments/search`, { as: { cookie } });
    assert.equal(read.status, 200);
    const noCsrf = await h.request('POST', `/projects/web/ajax-api/2.0/mlflow/experiments/create`, { as: { cookie }, body: { name: 'e1' } });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.body.message, /CSRF/);
    const badCsrf = await h.request('POST', `/projects/web/ajax-api/2.0/mlflow/experiments/create`, { as: { cookie, csrf: 'x'.repeat(43) }, body: { name: 'e1' } });
    assert.equal(badCsrf.status, 403);
    const ok = await h.request('POST', `/projects/web/ajax-api/2.0/mlflow/experiments/create`, { as: { cookie, csrf }, body: { name: 'e1' } });
    assert.equal(ok.status, 200, ok.text);
    const session = await h.request('GET', `${API}/trove/auth/session`, { as: { cookie } });
    assert.deepEqual(
      { authenticated: session.body.authenticated, user: session.body.user.username, via: session.body.via, csrf: session.body.csrf_token },
      { authenticated: true, user: 'gina', via: 'session', csrf },
      'a reloaded page gets its CSRF token back',
    );
  });

  it('end with logout: the cookie is cleared and no longer accepted', async () => {
    const login = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'gina', password: 'gina-password-1' } });
    const cookie = sessionFrom(login);
    const out = await h.request('POST', `${API}/trove/auth/logout`, { as: { cookie, csrf: login.body.csrf_token } });
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /^trove_session=; .*Max-Age=0/);
    const after = await h.request('GET', `${API}/trove/projects`, { as: { cookie } });
    assert.equal(after.status, 401);
    assert.equal(after.headers['www-authenticate'], 'Basic realm="trove", charset="UTF-8"');
    const ui = await h.request('GET', `/ajax-api/2.0/trove/projects`, { as: { cookie } });
    assert.equal(ui.status, 401);
    assert.equal(ui.headers['www-authenticate'], undefined, 'no browser dialog for the web UI');
  });

  it('report an anonymous visitor as not signed in', async () => {
    const session = await h.request('GET', `${API}/trove/auth/session`);
    assert.deepEqual(session.body, { auth_enabled: true, authenticated: false });
    const bogus = await h.request('GET', `${API}/trove/auth/session`, { as: { cookie: 'A'.repeat(43) } });
    assert.equal(bogus.body.authenticated, false);
  });

  it('refuse a wrong password with 401 and never set a cookie', async () => {
    const login = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'gina', password: 'nope-nope' } });
    assert.equal(login.status, 401);
    assert.equal(login.headers['set-cookie'], undefined);
  });
});

describe('projects, members and capabilities through the API', () => {
  let h: AuthHarness;
  let admin: { username: string; password: string };
  let owner: { username: string; password: string };
  let maint: { username: string; password: string };
  let reporter: { username: string; password: string };

  before(async () => {
    h = await startAuthServer();
    admin = await h.createUser('admin1', { admin: true });
    owner = await h.createUser('own1');
    maint = await h.createUser('maint1');
    reporter = await h.createUser('rep1');
  });
  after(async () => h?.close());

  const as = (u: { username: string; password: string }) => ({ basic: [u.username, u.password] as [string, string] });

  it('admins create projects with an owner; users list only the projects they belong to', async () => {
    const created = await h.request('POST', `${API}/trove/projects`, { as: as(admin), body: { name: 'team-a', description: 'Team A', owner: 'own1' } });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.project.name, 'team-a');
    const dup = await h.request('POST', `${API}/trove/projects`, { as: as(admin), body: { name: 'team-a' } });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error_code, 'RESOURCE_ALREADY_EXISTS');
    const bad = await h.request('POST', `${API}/trove/projects`, { as: as(admin), body: { name: 'Team A!' } });
    assert.equal(bad.status, 400);
    const byOwner = await h.request('POST', `${API}/trove/projects`, { as: as(owner), body: { name: 'mine' } });
    assert.equal(byOwner.status, 403, 'only admins create projects');
    const mine = await h.request('GET', `${API}/trove/projects`, { as: as(owner) });
    assert.deepEqual(mine.body.projects.map((p: { name: string; role: string }) => [p.name, p.role]), [['team-a', 'owner']]);
    const all = await h.request('GET', `${API}/trove/projects`, { as: as(admin) });
    assert.deepEqual(all.body.projects.map((p: { name: string }) => p.name), ['default', 'team-a']);
    const none = await h.request('GET', `${API}/trove/projects`, { as: as(reporter) });
    assert.deepEqual(none.body.projects, []);
  });

  it('maintainers manage members up to their own role; only owners grant owner; the last owner stays', async () => {
    const add = await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(owner), body: { username: 'maint1', role: 'maintainer' } });
    assert.equal(add.status, 200, add.text);
    const rep = await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(maint), body: { username: 'rep1', role: 'reporter' } });
    assert.equal(rep.status, 200, rep.text);
    const again = await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(maint), body: { username: 'rep1', role: 'guest' } });
    assert.equal(again.status, 400);
    const toOwner = await h.request('PATCH', `/projects/team-a${API}/trove/project/members/rep1`, { as: as(maint), body: { role: 'owner' } });
    assert.equal(toOwner.status, 403);
    const demoteOwner = await h.request('PATCH', `/projects/team-a${API}/trove/project/members/own1`, { as: as(maint), body: { role: 'developer' } });
    assert.equal(demoteOwner.status, 403);
    const lastOwner = await h.request('DELETE', `/projects/team-a${API}/trove/project/members/own1`, { as: as(owner) });
    assert.equal(lastOwner.status, 400);
    assert.match(lastOwner.body.message, /at least one owner/);
    const byReporter = await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(reporter), body: { username: 'admin1', role: 'guest' } });
    assert.equal(byReporter.status, 403);
    const members = await h.request('GET', `/projects/team-a${API}/trove/project/members`, { as: as(reporter) });
    assert.deepEqual(members.body.members.map((m: { username: string; role: string }) => [m.username, m.role]), [['maint1', 'maintainer'], ['own1', 'owner'], ['rep1', 'reporter']]);
    const promote = await h.request('PATCH', `/projects/team-a${API}/trove/project/members/rep1`, { as: as(maint), body: { role: 'developer' } });
    assert.equal(promote.body.member.role, 'developer');
    const demote = await h.request('PATCH', `/projects/team-a${API}/trove/project/members/rep1`, { as: as(maint), body: { role: 'reporter' } });
    assert.equal(demote.body.member.role, 'reporter');
  });

  it('capabilities say what the UI may offer: a reporter reads but cannot promote', async () => {
    const rep = await h.request('GET', `/projects/team-a${API}/trove/capabilities`, { as: as(reporter) });
    assert.equal(rep.status, 200);
    assert.equal(rep.body.role, 'reporter');
    assert.equal(rep.body.actions.promote, false);
    assert.equal(rep.body.actions.create_run, false);
    assert.equal(rep.body.actions.view_members, true);
    assert.equal(rep.body.permissions.read, true);
    const m = await h.request('GET', `/projects/team-a${API}/trove/capabilities`, { as: as(maint) });
    assert.equal(m.body.actions.promote, true);
    assert.equal(m.body.actions.set_alias, true);
    assert.equal(m.body.actions.delete_project, false);
    const o = await h.request('GET', `/projects/team-a${API}/trove/capabilities`, { as: as(owner) });
    assert.equal(o.body.actions.delete_project, true);
    const a = await h.request('GET', `/projects/team-a${API}/trove/capabilities`, { as: as(admin) });
    assert.equal(a.body.is_admin, true);
    assert.equal(a.body.role, 'owner');
  });

  it('promoting a run with an alias needs the maintainer role (the alias is a release decision)', async () => {
    await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(owner), body: { username: 'admin1', role: 'developer' } });
    const dev = await h.createUser('dev1');
    await h.request('POST', `/projects/team-a${API}/trove/project/members`, { as: as(owner), body: { username: 'dev1', role: 'developer' } });
    const withAlias = await h.request('POST', `/projects/team-a${API}/trove/registry/promote`, { as: as(dev), body: { run_id: 'x', model_name: 'm', alias: 'production' } });
    assert.equal(withAlias.status, 403);
    const without = await h.request('POST', `/projects/team-a${API}/trove/registry/promote`, { as: as(dev), body: { run_id: 'x', model_name: 'm' } });
    assert.equal(without.status, 404, 'past the gate: the run does not exist');
  });

  it('owners rename and describe a project; an empty project can be deleted, the default one never', async () => {
    const renamed = await h.request('PATCH', `/projects/team-a${API}/trove/project`, { as: as(owner), body: { new_name: 'team-b', description: 'B' } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.project.name, 'team-b');
    const byMaint = await h.request('PATCH', `/projects/team-b${API}/trove/project`, { as: as(maint), body: { description: 'x' } });
    assert.equal(byMaint.status, 403);
    const defaultDelete = await h.request('DELETE', `${API}/trove/project`, { as: as(admin) });
    assert.equal(defaultDelete.status, 400);
    const exp = await h.request('POST', `/projects/team-b${API}/mlflow/experiments/create`, { as: as(owner), body: { name: 'e' } });
    assert.equal(exp.status, 200);
    const run = await h.request('POST', `/projects/team-b${API}/mlflow/runs/create`, { as: as(owner), body: { experiment_id: exp.body.experiment_id } });
    await h.request('POST', `/projects/team-b${API}/mlflow/runs/delete`, { as: as(owner), body: { run_id: run.body.run.info.run_id } });
    const notEmpty = await h.request('DELETE', `/projects/team-b${API}/trove/project`, { as: as(owner) });
    assert.equal(notEmpty.status, 400);
    assert.match(notEmpty.body.message, /not empty: it holds 1 run\(s\) \(deleted ones included\)/);

    // What does not keep a project: an empty experiment (its Default one, made by a read),
    // a deleted model (its registry events stay) and a deleted webhook.
    await h.request('POST', `${API}/trove/projects`, { as: as(admin), body: { name: 'scratch', owner: 'own1' } });
    assert.equal((await h.request('GET', `/projects/scratch${API}/mlflow/experiments/get`, { as: as(owner), query: { experiment_id: '0' } })).status, 200);
    await h.request('POST', `/projects/scratch${API}/mlflow/registered-models/create`, { as: as(owner), body: { name: 'tmp' } });
    await h.request('DELETE', `/projects/scratch${API}/mlflow/registered-models/delete`, { as: as(owner), body: { name: 'tmp' } });
    const hook = await h.request('POST', `/projects/scratch${API}/mlflow/webhooks`, {
      as: as(owner),
      body: { name: 'h', url: 'http://127.0.0.1:9/h', events: [{ entity: 'model_version', action: 'created' }] },
    });
    const liveHook = await h.request('DELETE', `/projects/scratch${API}/trove/project`, { as: as(owner) });
    assert.equal(liveHook.status, 400, 'a live webhook keeps it');
    await h.request('DELETE', `/projects/scratch${API}/mlflow/webhooks/${hook.body.webhook.webhook_id}`, { as: as(owner) });
    const gone = await h.request('DELETE', `/projects/scratch${API}/trove/project`, { as: as(owner) });
    assert.equal(gone.status, 200, gone.text);
    const after = await h.request('GET', `/projects/scratch${API}/trove/project`, { as: as(owner) });
    assert.equal(after.status, 404);
  });

  it('admins manage users; the last admin cannot be removed', async () => {
    const created = await h.request('POST', `${API}/trove/users`, { as: as(admin), body: { username: 'newbie' } });
    assert.equal(created.status, 200);
    assert.equal(created.body.password.length, 20, 'a generated password, shown once');
    const listed = await h.request('GET', `${API}/trove/users`, { as: as(admin) });
    assert.ok(listed.body.users.some((u: { username: string }) => u.username === 'newbie'));
    assert.ok(!listed.text.includes('scrypt'), 'hashes never leave the server');
    const reset = await h.request('PATCH', `${API}/trove/users/newbie`, { as: as(admin), body: { reset_password: true } });
    assert.equal(reset.body.password.length, 20);
    const demoteSelf = await h.request('PATCH', `${API}/trove/users/admin1`, { as: as(admin), body: { is_admin: false } });
    assert.equal(demoteSelf.status, 400);
    assert.match(demoteSelf.body.message, /last instance administrator/);
    const deleted = await h.request('DELETE', `${API}/trove/users/newbie`, { as: as(admin) });
    assert.equal(deleted.status, 200);
    const byUser = await h.request('GET', `${API}/trove/users`, { as: as(owner) });
    assert.equal(byUser.status, 403);
  });
});

describe('authentication off (the default)', () => {
  it('lets every request through as an anonymous admin of every project, as MLflow without auth', async () => {
    const server = await startTestServer();
    try {
      const capabilities = await server.call('GET', '/api/2.0/trove/capabilities');
      assert.equal(capabilities.status, 200);
      assert.equal(capabilities.body.auth_enabled, false);
      assert.ok(Object.values(capabilities.body.actions).every((v) => v === true));
      const login = await server.call('POST', '/api/2.0/trove/auth/login', { username: 'a', password: 'b' });
      assert.equal(login.status, 400);
      assert.match(login.body.message, /not enabled/);
      const session = await server.call('GET', '/api/2.0/trove/auth/session');
      assert.deepEqual(session.body, { auth_enabled: false, authenticated: true, user: { id: null, username: 'anonymous', is_admin: true }, via: 'none' });
      const ignored = await server.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/search', headers: { authorization: 'Bearer garbage' } });
      assert.equal(ignored.statusCode, 200, 'credentials are not checked');
      const unknown = await server.call('GET', '/projects/nope/api/2.0/mlflow/experiments/search');
      assert.equal(unknown.status, 404, 'projects still exist or not');
    } finally {
      await server.close();
    }
  });
});

describe('first start with --auth', () => {
  it('creates the admin once, with a random password that works', async () => {
    const h = await startAuthServer();
    try {
      const first = await h.auth.ensureInitialAdmin();
      assert.equal(first?.username, 'admin');
      assert.equal(first!.password.length, 20);
      assert.equal(await h.auth.ensureInitialAdmin(), undefined, 'only when there are no users');
      const me = await h.request('GET', `${API}/trove/projects`, { as: { basic: ['admin', first!.password] } });
      assert.deepEqual(me.body.projects.map((p: { name: string; role: string }) => [p.name, p.role]), [['default', 'owner']]);
    } finally {
      await h.close();
    }
  });
});

describe('secrets and logs', () => {
  it('never write passwords, tokens, cookies or CSRF tokens to the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h = await startAuthServer({ config: { logger: { level: 'trace', stream: sink } } });
    try {
      await h.createUser('henry', { password: 'henry-Secret-Pass' });
      const token = await h.createToken('henry');
      const login = await h.request('POST', `${API}/trove/auth/login`, { body: { username: 'henry', password: 'henry-Secret-Pass' } });
      const cookie = sessionFrom(login);
      await h.request('GET', `${API}/trove/projects`, { as: { bearer: token } });
      await h.request('GET', `${API}/trove/projects`, { as: { basic: ['henry', 'Wrong-Secret-Pass'] } });
      await h.request('GET', `${API}/trove/projects`, { as: { cookie } });
      await h.request('POST', `${API}/trove/auth/login`, { body: '{"username": "henry", "password": "Broken-Secret-Json', headers: { 'content-type': 'application/json' } });
      const broken = await h.request('POST', `${API}/trove/auth/login`, { body: '{"username": "henry", "password": Unquoted-Secret}', headers: { 'content-type': 'application/json' } });
      assert.equal(broken.status, 400);
      assert.ok(!broken.text.includes('Unquoted-Secret'), `the parse error does not quote the body: ${broken.text}`);
      const log = lines.join('');
      assert.ok(log.length > 0, 'something was logged');
      for (const secret of ['henry-Secret-Pass', 'Wrong-Secret-Pass', 'Broken-Secret-Json', 'Unquoted-Secret', token, cookie, login.body.csrf_token as string]) {
        assert.ok(!log.includes(secret), `the log contains a secret (${secret.slice(0, 6)}…)`);
      }
    } finally {
      await h.close();
    }
  });
});

describe('behind a reverse proxy', () => {
  it('takes the client address from X-Forwarded-For only when the proxy is trusted (audit log, rate limits)', async () => {
    const trusting = await startAuthServer({ config: { trustProxy: '127.0.0.1' }, signInLimits: { pair: { freeFailures: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } } });
    try {
      await trusting.createUser('lena', { password: 'lena-password-1' });
      for (const address of ['203.0.113.9', '203.0.113.9']) {
        const wrong = await trusting.request('POST', `${API}/trove/auth/login`, { body: { username: 'lena', password: 'nope-nope' }, headers: { 'x-forwarded-for': address } });
        assert.equal(wrong.status, 401);
      }
      const blocked = await trusting.request('POST', `${API}/trove/auth/login`, { body: { username: 'lena', password: 'lena-password-1' }, headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(blocked.status, 429, 'that client address has to wait');
      const other = await trusting.request('POST', `${API}/trove/auth/login`, { body: { username: 'lena', password: 'lena-password-1' }, headers: { 'x-forwarded-for': '198.51.100.7' } });
      assert.equal(other.status, 200, 'another client behind the same proxy is not blocked');
      const entries = await trusting.server.services.audit!.query({ action: 'session.create' }, {});
      assert.equal(entries.entries[0]!.sourceAddress, '198.51.100.7');
    } finally {
      await trusting.close();
    }
  });
});
