import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackingApiError, withTransientRetries } from './tracking-client.ts';

test('a transient failure (503) is tried again until it succeeds', async () => {
  let calls = 0;
  const value = await withTransientRetries(async () => {
    calls++;
    if (calls < 3) throw new TrackingApiError('busy', 503, undefined);
    return 'ok';
  }, 5);
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
});

test('a client mistake (400) and errors that are not from the server are not retried', async () => {
  let calls = 0;
  await assert.rejects(
    withTransientRetries(async () => {
      calls++;
      throw new TrackingApiError('bad', 400, 'INVALID_PARAMETER_VALUE');
    }, 5),
    /bad/,
  );
  assert.equal(calls, 1);
  await assert.rejects(withTransientRetries(async () => Promise.reject(new TypeError('bug')), 5), TypeError);
});

test('after the allowed retries the last transient error is thrown', async () => {
  let calls = 0;
  await assert.rejects(
    withTransientRetries(async () => {
      calls++;
      throw new TrackingApiError('down', null, undefined);
    }, 1),
    /down/,
  );
  assert.equal(calls, 2);
});
