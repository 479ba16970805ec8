import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackingApiError, TrackingClient, withTransientRetries } from './tracking-client.ts';

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

/** A server on loopback whose handler gets each request; @returns its URL and a closer. */
async function server(handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) {
  const http = await import('node:http');
  const s = http.createServer(handle);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => s.close(() => resolve())) };
}

test('a connection broken while the answer is read is a broken connection: retried for a repeatable request, not for another', async () => {
  let calls = 0;
  const s = await server((req, res) => {
    calls++;
    req.resume();
    // Headers and half the announced body, then the socket is reset.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"run":');
    setTimeout(() => req.socket.resetAndDestroy(), 20);
  });
  try {
    const client = new TrackingClient({ trackingUri: s.url, env: {} });
    const error = await client.post('/api/2.0/mlflow/runs/create', {}).catch((e: unknown) => e);
    assert.ok(error instanceof TrackingApiError);
    assert.equal(error.connection, 'broken');
    calls = 0;
    await assert.rejects(withTransientRetries(() => client.post('/api/2.0/mlflow/runs/create', {}), 2, { repeatable: false }), TrackingApiError);
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(withTransientRetries(() => client.post('/api/2.0/mlflow/runs/search', {}), 2, { repeatable: true }), TrackingApiError);
    assert.equal(calls, 3);
  } finally {
    await s.close();
  }
});

test('a refused connection never sent the request: it is retried even when the request is not repeatable', async () => {
  const s = await server(() => undefined);
  const url = s.url;
  await s.close();
  const client = new TrackingClient({ trackingUri: url, env: {} });
  let calls = 0;
  const error = await withTransientRetries(
    () => {
      calls++;
      return client.post('/api/2.0/mlflow/runs/create', {});
    },
    1,
    { repeatable: false },
  ).catch((e: unknown) => e);
  assert.ok(error instanceof TrackingApiError);
  assert.equal(error.connection, 'not-sent');
  assert.equal(calls, 2);
});

/** A stand-in fetch answering each call with the next of `answers` (status, MLflow error body). */
function answering(answers: { status: number; message?: string }[]): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  const fake = (async () => {
    const answer = answers[Math.min(calls++, answers.length - 1)]!;
    const body = answer.status === 200 ? { run: { info: { run_id: 'r1' } } } : { error_code: 'BAD_REQUEST', message: answer.message ?? 'bad' };
    return new Response(JSON.stringify(body), { status: answer.status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
  return { fetch: fake, calls: () => calls };
}

test("MLflow's HTTP 400 for a connection pool that timed out is retried, even for a request not safe to repeat (nothing was applied)", async () => {
  const pool = 'QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/21/3o7r)';
  const server = answering([{ status: 400, message: pool }, { status: 400, message: '(sqlite3.OperationalError) database is locked' }, { status: 200 }]);
  const client = new TrackingClient({ trackingUri: 'http://mlflow.test', fetch: server.fetch });
  const answer = await withTransientRetries(() => client.post<{ run: { info: { run_id: string } } }>('/api/2.0/mlflow/runs/create', {}), 5, { repeatable: false });
  assert.equal(answer.run.info.run_id, 'r1');
  assert.equal(server.calls(), 3);
});

test('any other HTTP 400 from the server is a client mistake and is not retried', async () => {
  const server = answering([{ status: 400, message: "Invalid value 'x' for parameter 'max_results'" }, { status: 200 }]);
  const client = new TrackingClient({ trackingUri: 'http://mlflow.test', fetch: server.fetch });
  await assert.rejects(withTransientRetries(() => client.post('/api/2.0/mlflow/runs/search', {}), 5), /HTTP 400: Invalid value/);
  assert.equal(server.calls(), 1);
});
