import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { requestIdOf, rewriteProjectUrl } from './auth-hooks.ts';

function rewrite(url: string): string {
  return rewriteProjectUrl({ url, headers: {} } as IncomingMessage);
}

describe('project prefixes in URLs', () => {
  test('are stripped so every route answers under them', () => {
    assert.equal(rewrite('/projects/fraud/api/2.0/mlflow/runs/get?run_id=1'), '/api/2.0/mlflow/runs/get?run_id=1');
    assert.equal(rewrite('/projects/fraud'), '/');
    assert.equal(rewrite('/projects/fraud/'), '/');
    assert.equal(rewrite('/projects/fraud?x=1'), '/?x=1');
    assert.equal(rewrite('/api/v4/projects/12/ml/mlflow/api/2.0/mlflow/experiments/search'), '/api/2.0/mlflow/experiments/search');
    assert.equal(rewrite('/api/v4/projects/fraud/ml/mlflow/api/2.0/mlflow-artifacts/artifacts/a%20b'), '/api/2.0/mlflow-artifacts/artifacts/a%20b');
    assert.equal(rewrite('/api/2.0/mlflow/runs/get'), '/api/2.0/mlflow/runs/get');
    assert.equal(rewrite('/api/2.0/trove/projects'), '/api/2.0/trove/projects', 'the projects list is not a prefix');
    assert.equal(rewrite('/projects/a/projects/b/x'), '/projects/b/x', 'only once');
  });

  test('remember the project they name, decoded', () => {
    const raw = { url: '/api/v4/projects/group%2Fname/ml/mlflow/api/2.0/x', headers: {} } as IncomingMessage;
    rewriteProjectUrl(raw);
    const selection = Object.getOwnPropertySymbols(raw).map((s) => (raw as unknown as Record<symbol, unknown>)[s])[0];
    assert.deepEqual(selection, { via: 'gitlab', name: 'group/name', label: 'group/name' });
    const byId = { url: '/api/v4/projects/12/ml/mlflow/api/2.0/x', headers: {} } as IncomingMessage;
    rewriteProjectUrl(byId);
    assert.deepEqual(Object.getOwnPropertySymbols(byId).map((s) => (byId as unknown as Record<symbol, unknown>)[s])[0], { via: 'gitlab', id: 12, label: '12' });
  });
});

describe('request ids', () => {
  test('reuse a sane X-Request-Id and make one up otherwise', () => {
    assert.equal(requestIdOf({ headers: { 'x-request-id': 'abc-123' } } as unknown as IncomingMessage), 'abc-123');
    assert.match(requestIdOf({ headers: { 'x-request-id': 'bad id\n' } } as unknown as IncomingMessage), /^[0-9a-f-]{36}$/);
    assert.match(requestIdOf({ headers: {} } as unknown as IncomingMessage), /^[0-9a-f-]{36}$/);
  });
});
