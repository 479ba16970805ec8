import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { readSse } from '../../src/cli/models/sse.ts';
import { verifyWebhookSignature } from '../../src/domain/webhooks/signature.ts';
import { startTestServer } from './test-server.ts';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.ts';

test('creating a model version notifies a signed webhook and an SSE client of the same event', async () => {
  const secret = 'e2e-secret';
  const receiver = await WebhookReceiver.create();
  const t = await startTestServer({
    webhooks: { dispatcher: { pollIntervalMs: 20, retry: { baseDelayMs: 10, maxDelayMs: 40 } }, stream: { pollIntervalMs: 25 } },
  });
  const abort = new AbortController();
  try {
    await t.server.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.server.app.server.address() as AddressInfo).port}`;
    const post = async (path: string, body: Record<string, unknown>): Promise<Record<string, any>> => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const res = await fetch(`${base}/api/2.0/mlflow/${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return JSON.parse(text);
    };

    await post('webhooks', { name: 'deploy', url: receiver.url, secret, events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }] });
    const stream = await fetch(`${base}/api/2.0/trove/registry/events?name=e2e-churn`, { signal: abort.signal });
    assert.equal(stream.status, 200);
    const streamed: Array<{ id: number; entity: string; action: string; data: Record<string, unknown> }> = [];
    void (async () => {
      try {
        for await (const item of readSse(stream.body!, abort.signal)) {
          if (item.kind === 'message') streamed.push(JSON.parse(item.message.data));
        }
      } catch {
        // aborted at the end of the test
      }
    })();

    await post('registered-models/create', { name: 'e2e-churn' });
    const created = await post('model-versions/create', { name: 'e2e-churn', source: 's3://models/churn/1', run_id: 'f'.repeat(32), description: 'first' });
    assert.equal(created.model_version.version, '1');

    const [request] = await receiver.waitFor(1);
    const headers = request!.headers;
    assert.ok(
      verifyWebhookSignature(secret, String(headers['x-mlflow-delivery-id']), String(headers['x-mlflow-timestamp']), request!.body, String(headers['x-mlflow-signature'])),
      'the signature verifies with the webhook secret',
    );
    const delivered = JSON.parse(request!.body);
    assert.equal(delivered.entity, 'model_version');
    assert.equal(delivered.action, 'created');
    assert.deepEqual(delivered.data, { name: 'e2e-churn', version: '1', source: 's3://models/churn/1', run_id: 'f'.repeat(32), tags: {}, description: 'first' });

    const seen = await eventually(() => (streamed.length >= 2 ? streamed : undefined), { what: 'two streamed events' });
    assert.deepEqual(seen.map((e) => `${e.entity}.${e.action}`), ['registered_model.created', 'model_version.created']);
    assert.deepEqual(seen[1]!.data, delivered.data);
  } finally {
    abort.abort();
    await t.close();
    await receiver.stop();
  }
});
