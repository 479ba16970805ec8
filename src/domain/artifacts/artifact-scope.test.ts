import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProxiedLocation, checkProxyPath, pathWithinProject, projectArtifactPrefix, registryArtifactRoot } from './artifact-scope.ts';
import { MlflowError } from '../errors.ts';

function code(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof MlflowError);
    return error.code;
  }
}

describe('artifact paths per project', () => {
  test('the default project keeps the root layout, others live under projects/<id>', () => {
    assert.equal(projectArtifactPrefix(1), '');
    assert.equal(projectArtifactPrefix(7), 'projects/7');
    assert.equal(registryArtifactRoot(1), 'registry');
    assert.equal(registryArtifactRoot(7), 'projects/7/registry');
    assert.equal(pathWithinProject('3/abc/artifacts', 1), '3/abc/artifacts');
    assert.equal(pathWithinProject('projects/7/3', 1), undefined);
    assert.equal(pathWithinProject('projects', 1), undefined);
    assert.equal(pathWithinProject('projects/7/3', 7), '3');
    assert.equal(pathWithinProject('projects/70/3', 7), undefined);
    assert.equal(pathWithinProject('3', 7), undefined);
  });

  test('another project reads as missing, lists as empty, and cannot be written', () => {
    assert.equal(code(() => checkProxyPath('projects/8/1/f', 'read', 7)), 'RESOURCE_DOES_NOT_EXIST');
    assert.equal(checkProxyPath('projects/8/1', 'list', 7), false);
    assert.equal(code(() => checkProxyPath('projects/8/1/f', 'write', 7)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxyPath('projects/8/1/f', 'write', 1)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxyPath('1/f', 'read', 7)), 'RESOURCE_DOES_NOT_EXIST');
    assert.equal(checkProxyPath('projects/7/1/f', 'write', 7), true);
    assert.equal(checkProxyPath('1/f', 'write', 1), true);
  });

  test('frozen registry copies are readable but never writable, nor is a project root', () => {
    assert.equal(checkProxyPath('registry/3/abc/MLmodel', 'read', 1), true);
    assert.equal(code(() => checkProxyPath('registry/3/abc/MLmodel', 'write', 1)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxyPath('registry', 'write', 1)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxyPath('projects/7/registry/3/x', 'write', 7)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxyPath('projects/7', 'write', 7)), 'PERMISSION_DENIED');
    assert.equal(checkProxyPath('registry-notes/x', 'write', 1), true, 'only the registry folder itself');
  });

  test('experiment locations in the proxy must lie in the project; other schemes are the client’s', () => {
    assert.equal(code(() => checkProxiedLocation('mlflow-artifacts:/projects/8/x', 7)), 'PERMISSION_DENIED');
    assert.equal(code(() => checkProxiedLocation('mlflow-artifacts://host:5000/projects/7/x', 7)), 'ok');
    assert.equal(code(() => checkProxiedLocation('s3://bucket/anything', 7)), 'ok');
    assert.equal(code(() => checkProxiedLocation('mlflow-artifacts:/registry/1', 1)), 'PERMISSION_DENIED');
  });
});
