import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MlflowError } from '../errors.ts';
import {
  clientFileBaseName,
  joinArtifactPath,
  normalizeArtifactPath,
  proxyPathFromArtifactUri,
  validateArtifactFileName,
} from './artifact-path.ts';

function assertInvalidPath(run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof MlflowError);
    assert.deepEqual(error.toJSON(), { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' });
    assert.equal(error.status, 400);
    return true;
  });
}

describe('normalizeArtifactPath', () => {
  test('an ordinary nested path is returned unchanged', () => {
    assert.equal(normalizeArtifactPath('0/abc/artifacts/model/MLmodel'), '0/abc/artifacts/model/MLmodel');
  });

  test('names with dots, spaces, unicode and a literal percent sign are legitimate', () => {
    for (const path of ['a/.hidden', 'a/...', 'a/file..txt', 'a/my file.txt', 'a/données/été.csv', 'a/100%.txt', 'a/x%zz']) {
      assert.equal(normalizeArtifactPath(path), path);
    }
  });

  test('single-dot segments are dropped', () => {
    assert.equal(normalizeArtifactPath('./a/./b'), 'a/b');
  });

  test('a dot-dot segment anywhere is refused', () => {
    for (const path of ['..', '../x', 'a/../b', 'a/b/..', 'a/..', '../../etc/passwd']) {
      assertInvalidPath(() => normalizeArtifactPath(path));
    }
  });

  test('percent-encoded traversal is refused however often it was encoded', () => {
    for (const path of ['%2e%2e/x', '%2E%2E/x', 'a/%2e%2e', '.%2e/x', '%252e%252e/x', '%25252e%25252e', 'a%2f..%2fb']) {
      assertInvalidPath(() => normalizeArtifactPath(path));
    }
  });

  test('absolute POSIX paths and Windows drive or UNC paths are refused', () => {
    for (const path of ['/etc/passwd', '/', '//server/share', 'C:/Windows', 'c:', 'C:x', '%2fetc/passwd']) {
      assertInvalidPath(() => normalizeArtifactPath(path));
    }
  });

  test('backslashes, plain or encoded, are refused', () => {
    for (const path of ['a\\b', '..\\x', '\\\\server\\share', 'C:\\x', 'a%5cb', 'a%255cb']) {
      assertInvalidPath(() => normalizeArtifactPath(path));
    }
  });

  test('NUL and other control characters, plain or encoded, are refused', () => {
    for (const path of ['a\u0000b', 'a%00b', 'a%2500b', 'a\nb', 'a%0ab', 'a\u007fb']) {
      assertInvalidPath(() => normalizeArtifactPath(path));
    }
  });

  test('a hash sign is refused as upstream does', () => {
    assertInvalidPath(() => normalizeArtifactPath('a#b'));
    assertInvalidPath(() => normalizeArtifactPath('a%23b'));
  });

  test('empty segments inside a path are refused', () => {
    assertInvalidPath(() => normalizeArtifactPath('a//b'));
  });

  test('a path that keeps decoding to something new is refused', () => {
    // Eleven layers of encoding of "a": decoding never settles within upstream's ten rounds.
    let path = 'a';
    for (let i = 0; i < 11; i += 1) path = encodeURIComponent(path).replace(/a/g, '%61');
    assertInvalidPath(() => normalizeArtifactPath(path));
  });

  test('a file path may not be empty or end with a slash', () => {
    assertInvalidPath(() => normalizeArtifactPath(''));
    assertInvalidPath(() => normalizeArtifactPath('.'));
    assertInvalidPath(() => normalizeArtifactPath('a/b/'));
  });

  test('a directory path may end with one slash, which is removed', () => {
    assert.equal(normalizeArtifactPath('a/b/', { directory: true }), 'a/b');
    assertInvalidPath(() => normalizeArtifactPath('a/b//', { directory: true }));
  });

  test('the root is accepted only when allowed', () => {
    assert.equal(normalizeArtifactPath('', { directory: true, allowRoot: true }), '');
    assert.equal(normalizeArtifactPath('.', { directory: true, allowRoot: true }), '');
    assertInvalidPath(() => normalizeArtifactPath('', { directory: true }));
    assertInvalidPath(() => normalizeArtifactPath('/', { directory: true, allowRoot: true }));
  });
});

describe('file names', () => {
  test('a single valid segment is accepted', () => {
    assert.equal(validateArtifactFileName('model.bin'), 'model.bin');
  });

  test('separators and dot names are refused', () => {
    for (const name of ['', '.', '..', 'a/b', 'a\\b', '%2e%2e']) {
      assertInvalidPath(() => validateArtifactFileName(name));
    }
  });

  test('the basename of a POSIX or Windows client path is kept', () => {
    assert.equal(clientFileBaseName('/home/me/data/model.bin'), 'model.bin');
    assert.equal(clientFileBaseName('C:\\Users\\me\\model.bin'), 'model.bin');
    assert.equal(clientFileBaseName('model.bin'), 'model.bin');
  });

  test('a client path ending in a separator or dot-dot has no usable basename', () => {
    assertInvalidPath(() => clientFileBaseName('/home/me/'));
    assertInvalidPath(() => clientFileBaseName('/home/me/..'));
  });
});

describe('proxyPathFromArtifactUri', () => {
  test('an mlflow-artifacts URI without a host maps to its path', () => {
    assert.equal(proxyPathFromArtifactUri('mlflow-artifacts:/0/abc/artifacts'), '0/abc/artifacts');
  });

  test('an mlflow-artifacts URI with a host and port maps to its path', () => {
    assert.equal(proxyPathFromArtifactUri('mlflow-artifacts://localhost:5000/0/abc/artifacts'), '0/abc/artifacts');
  });

  test('the proxy root maps to the empty path', () => {
    assert.equal(proxyPathFromArtifactUri('mlflow-artifacts:/'), '');
    assert.equal(proxyPathFromArtifactUri('mlflow-artifacts://host:5000'), '');
  });

  test('other schemes are not served by the proxy', () => {
    for (const uri of ['s3://bucket/0/abc', 'file:///tmp/mlruns/0', '/tmp/mlruns/0', 'http://host/api/2.0/x']) {
      assert.equal(proxyPathFromArtifactUri(uri), undefined);
    }
  });

  test('an http(s) URL of the proxy route maps to the path after the route, as upstream serves it', () => {
    assert.equal(proxyPathFromArtifactUri('http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts'), '1/abc/artifacts');
    assert.equal(proxyPathFromArtifactUri('https://ml.example/prefix/api/2.0/mlflow-artifacts/artifacts/1'), '1');
    assert.equal(proxyPathFromArtifactUri('http://host:5000/api/2.0/mlflow-artifacts/artifacts'), '');
    assertInvalidPath(() => proxyPathFromArtifactUri('http://host/api/2.0/mlflow-artifacts/artifacts/1/../../x'));
  });

  test('a traversal inside a proxied URI is refused', () => {
    assertInvalidPath(() => proxyPathFromArtifactUri('mlflow-artifacts:/0/../../etc'));
  });
});

describe('joinArtifactPath', () => {
  test('empty parts (the root) are skipped', () => {
    assert.equal(joinArtifactPath('', 'a', '', 'b/c'), 'a/b/c');
    assert.equal(joinArtifactPath('', ''), '');
  });
});
