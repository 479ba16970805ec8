import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { startAuthServer, type AuthHarness, type Credential } from '../support/auth-harness.ts';
import { declaredRoutes, installAuthHooks, type DeclaredRoute } from '../../src/http/auth-hooks.ts';
import { PERMISSION_RULES, type Permission } from '../../src/domain/auth/permissions.ts';
import { AuthService } from '../../src/domain/auth/auth-service.ts';
import { ROLES, type ProjectRef, type Role } from '../../src/domain/request-context.ts';

/**
 * The permission matrix: every registered route × every kind of principal × the principal's own
 * project and another one, generated from the routes' declarations. Each cell asserts either
 * "allowed" (the request got past the gate: no 401/403 and not the project's 404) or the exact
 * deny status, error code and message shape.
 *
 * The expected outcome is worked out here from the documented rules (roles guest < reporter <
 * developer < maintainer < owner; admins act as owners everywhere; read-scoped tokens change
 * nothing; tokens cannot manage credentials), not by calling the server's decide().
 */

interface Principal {
  label: string;
  /** Role in the own project (alpha); undefined for non-members. */
  role?: Role;
  admin?: boolean;
  anonymous?: boolean;
  token?: 'read' | 'write';
  credential: () => Credential;
}

type Expectation = { allowed: true } | { status: 401 | 403 | 404; code: string };

const ROLE_ORDER: readonly Role[] = ROLES;

function expectation(permission: Permission, principal: Principal, target: 'own' | 'other'): Expectation {
  const rule = PERMISSION_RULES[permission];
  if (permission === 'public') return { allowed: true };
  if (principal.anonymous) return { status: 401, code: 'UNAUTHENTICATED' };
  const role: Role | undefined = principal.admin ? 'owner' : target === 'own' ? principal.role : undefined;
  if (rule.scope === 'project' && role === undefined) return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST' };
  if (principal.token && rule.passwordOrSession) return { status: 403, code: 'PERMISSION_DENIED' };
  if (principal.token === 'read' && rule.writes) return { status: 403, code: 'PERMISSION_DENIED' };
  if (rule.scope === 'instance') return rule.admin && !principal.admin ? { status: 403, code: 'PERMISSION_DENIED' } : { allowed: true };
  const needed = ROLE_ORDER.indexOf(rule.minRole!);
  return ROLE_ORDER.indexOf(role!) >= needed ? { allowed: true } : { status: 403, code: 'PERMISSION_DENIED' };
}

/** A concrete URL for a route pattern, in the target project. */
function concreteUrl(route: DeclaredRoute, project: ProjectRef): string {
  let url = route.url
    .replace(':model_id', 'm-00000000000000000000000000000000')
    .replace(':webhook_id', 'no-such-webhook')
    .replace(':username', 'nobody')
    .replace(':token_id', '999999');
  if (url.includes('*')) {
    const fill = url.includes('mlflow-artifacts') ? `projects/${project.id}/matrix/file.txt` : url.includes('/tags/') ? 'some-key' : 'some/page';
    url = url.replace('*', fill);
  }
  // The SSE stream would stay open; an invalid resume id makes it answer at once (after the gate).
  if (url.endsWith('/registry/events')) url += '?last_event_id=not-a-number';
  return `/projects/${project.name}${url}`;
}

describe('permission matrix', () => {
  let harness: AuthHarness;
  let alpha: ProjectRef;
  let beta: ProjectRef;
  let routes: DeclaredRoute[];
  const principals: Principal[] = [];

  before(async () => {
    harness = await startAuthServer();
    const admin = await harness.createUser('root-admin', { admin: true });
    await harness.createUser('beta-owner');
    alpha = await harness.createProject('alpha');
    beta = await harness.createProject('beta', 'beta-owner');
    // Both projects hold a run, so DELETE /project is refused (400) rather than deleting them.
    for (const project of [alpha, beta]) {
      const created = await harness.request('POST', `/projects/${project.name}/api/2.0/mlflow/experiments/create`, {
        as: { basic: [admin.username, admin.password] },
        body: { name: 'keep-me' },
      });
      assert.equal(created.status, 200, created.text);
      const run = await harness.request('POST', `/projects/${project.name}/api/2.0/mlflow/runs/create`, {
        as: { basic: [admin.username, admin.password] },
        body: { experiment_id: created.body.experiment_id },
      });
      assert.equal(run.status, 200, run.text);
    }
    principals.push({ label: 'anonymous', anonymous: true, credential: () => undefined });
    for (const role of ROLES) {
      const user = await harness.createUser(`u-${role}`);
      await harness.addMember(alpha, user.username, role);
      principals.push({ label: role, role, credential: () => ({ basic: [user.username, user.password] }) });
    }
    principals.push({ label: 'admin', admin: true, credential: () => ({ basic: [admin.username, admin.password] }) });
    const outsider = await harness.createUser('outsider');
    principals.push({ label: 'non-member', credential: () => ({ basic: [outsider.username, outsider.password] }) });
    const dev = await harness.createUser('token-dev');
    await harness.addMember(alpha, dev.username, 'developer');
    const readToken = await harness.createToken(dev.username, { scope: 'read' });
    const writeToken = await harness.createToken(dev.username, { scope: 'write' });
    principals.push({ label: 'developer, read token', role: 'developer', token: 'read', credential: () => ({ bearer: readToken }) });
    principals.push({ label: 'developer, write token', role: 'developer', token: 'write', credential: () => ({ bearer: writeToken }) });
    // HEAD mirrors GET (same declaration); every other method is exercised.
    routes = declaredRoutes(harness.server.app).filter((r) => r.method !== 'HEAD');
  });

  after(async () => {
    await harness?.close();
  });

  it('covers every registered route, each with a permission from the one table', () => {
    const all = declaredRoutes(harness.server.app);
    assert.ok(all.length > 200, `only ${all.length} routes declared`);
    for (const route of all) assert.ok(Object.hasOwn(PERMISSION_RULES, route.permission), `${route.method} ${route.url}`);
    const keys = new Set(all.map((r) => `${r.method} ${r.url}`));
    for (const expected of [
      'POST /api/2.0/mlflow/runs/log-batch',
      'PUT /api/2.0/mlflow-artifacts/artifacts/*',
      'POST /ajax-api/2.0/mlflow/registered-models/alias',
      'GET /api/2.0/trove/capabilities',
      'GET /health',
      'GET /*',
    ]) {
      assert.ok(keys.has(expected), `missing ${expected}`);
    }
  });

  it('refuses to register a route that declares no permission', async () => {
    const app = Fastify();
    installAuthHooks(app, AuthService.openWithoutStore());
    assert.throws(() => app.get('/undeclared', async () => ({})), /Route GET \/undeclared declares no permission/);
    app.get('/declared', { config: { permission: 'read' } }, async () => ({}));
    await app.ready();
    assert.deepEqual(declaredRoutes(app).map((r) => `${r.method} ${r.url} ${r.permission}`), ['GET /declared read', 'HEAD /declared read']);
    await app.close();
  });

  for (const target of ['own', 'other'] as const) {
    it(`answers every route for every principal in ${target === 'own' ? 'its own project' : 'another project'} as the rules say`, async () => {
      const failures: string[] = [];
      let cells = 0;
      for (const route of routes) {
        for (const principal of principals) {
          const project = target === 'own' ? alpha : beta;
          const url = concreteUrl(route, project);
          const isArtifactUpload = route.method === 'PUT';
          const response = await harness.request(route.method as 'GET', url, {
            as: principal.credential(),
            ...(route.method === 'GET' ? {} : isArtifactUpload ? { body: 'x', headers: { 'content-type': 'application/octet-stream' } } : { body: {} }),
          });
          cells += 1;
          const expected = expectation(route.permission, principal, target);
          const where = `${route.method} ${route.url} [${route.permission}] as ${principal.label} in ${project.name}`;
          if ('allowed' in expected) {
            const gated =
              response.status === 401 ||
              response.status === 403 ||
              (response.status === 404 && /does not exist or you are not a member/.test(String(response.body.message)));
            if (gated) failures.push(`${where}: expected allowed, got ${response.status} ${response.text.slice(0, 160)}`);
            continue;
          }
          if (response.status !== expected.status || response.body.error_code !== expected.code) {
            failures.push(`${where}: expected ${expected.status} ${expected.code}, got ${response.status} ${response.text.slice(0, 160)}`);
            continue;
          }
          if (expected.status === 401) {
            const challenge = response.headers['www-authenticate'];
            if (url.includes('/ajax-api/')) {
              if (challenge !== undefined) failures.push(`${where}: the web UI's calls get no Basic challenge`);
            } else if (!/^Basic realm="trove"/.test(String(challenge))) {
              failures.push(`${where}: 401 without WWW-Authenticate: Basic`);
            }
          }
          if (expected.status === 404 && !response.body.message.includes(`Project '${project.name}' does not exist or you are not a member of it.`)) {
            failures.push(`${where}: 404 with an unexpected message: ${response.body.message}`);
          }
        }
      }
      assert.ok(cells > 2000, `only ${cells} cells`);
      assert.deepEqual(failures, [], `${failures.length} of ${cells} cells differ:\n${failures.slice(0, 40).join('\n')}`);
    });
  }
});
