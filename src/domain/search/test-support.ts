/**
 * Assertion helper shared by this folder's tests (not a test file itself). Every parser error must
 * be an MlflowError with INVALID_PARAMETER_VALUE (HTTP 400) and, where upstream has one, MLflow's
 * exact message — clients and upstream tests match on the text.
 */
import assert from 'node:assert/strict';
import { MlflowError } from '../errors.ts';

export function assertInvalid(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MlflowError, `expected an MlflowError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_PARAMETER_VALUE');
    assert.equal(err.status, 400);
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  });
}
