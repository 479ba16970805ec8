import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { verifyWebhookSignature } from '../../src/domain/webhooks/signature.ts';
import { WebhookDispatcher, type DispatcherOptions } from '../../src/domain/webhooks/webhook-dispatcher.ts';
import { openDatabase } from '../../src/store/sql/database.ts';
import { SqlEventsStore } from '../../src/store/sql/sql-events-store.ts';
import { LOCAL_RECEIVERS, startTestServer, type TestServer } from './test-server.ts';
import { eventually, WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver.ts';

const W = '/api/2.0/mlflow/webhooks';
const SECRET = 'delivery-secret-31337';

/** Short timings so retries happen within milliseconds; nothing below asserts on wall-clock time. */
const FAST: Omit<DispatcherOptions, 'urlPolicy' | 'secretBox' | 'logger'> = {
  pollIntervalMs: 20,
  requestTimeoutMs: 5000,
  retry: { baseDelayMs: 10, maxDelayMs: 40, jitter: 0 },
};

interface DeliveryView {
  delivery_id: string;
  event_id: number;
  entity: string;
  action: string;
  status: string;
  attempts: number;
  last_response_status?: number;
  last_error?: string;
}

async function deliveries(t: TestServer, webhookId: string): Promise<DeliveryView[]> {
  const res = await t.call('GET', `/api/2.0/trove/webhooks/${webhookId}/deliveries`, { max_results: 1000 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.deliveries as DeliveryView[];
}

async function createWebhook(t: TestServer, fields: Record<string, unknown>): Promise<string> {
  const res = await t.call('POST', W, { name: 'hook', ...fields });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.webhook.webhook_id as string;
}

async function createModel(t: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await t.call('POST', 'registered-models/create', { name, ...extra });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

function bodyOf(request: ReceivedRequest): { entity: string; action: string; timestamp: string; data: Record<string, unknown> } {
  return JSON.parse(request.body);
}

describe('webhook delivery through the outbox', () => {
  let t: TestServer;
  let receiver: WebhookReceiver;

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: FAST } });
    receiver = await WebhookReceiver.create();
  });
  after(async () => {
    await receiver.stop();
    await t.close();
  });

  test('a registry change reaches a subscribed webhook, signed with its secret', async () => {
    const webhookId = await createWebhook(t, {
      name: 'signed',
      url: `${receiver.url}/signed`,
      secret: SECRET,
      events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
    });
    await createModel(t, 'churn-signed', { description: 'predicts churn', tags: [{ key: 'team', value: 'growth' }] });

    const [request] = await receiver.waitFor(1, { filter: (r) => r.url === '/hook/signed' });
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    const deliveryId = String(request.headers['x-mlflow-delivery-id']);
    const timestamp = String(request.headers['x-mlflow-timestamp']);
    assert.match(deliveryId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 600, 'unix seconds');
    assert.ok(verifyWebhookSignature(SECRET, deliveryId, timestamp, request.body, String(request.headers['x-mlflow-signature'])));
    const body = bodyOf(request);
    assert.equal(body.entity, 'registered_model');
    assert.equal(body.action, 'created');
    assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.deepEqual(body.data, { name: 'churn-signed', tags: { team: 'growth' }, description: 'predicts churn' });

    const log = await eventually(async () => {
      const list = await deliveries(t, webhookId);
      return list[0]?.status === 'DELIVERED' ? list : undefined;
    }, { what: 'the delivery to be recorded' });
    assert.equal(log.length, 1);
    assert.equal(log[0]!.delivery_id, deliveryId);
    assert.equal(log[0]!.attempts, 1);
    assert.equal(log[0]!.last_response_status, 200);
    assert.equal(`${log[0]!.entity}.${log[0]!.action}`, 'registered_model.created');
  });

  test('a webhook without a secret gets no signature, and only its subscribed events', async () => {
    await createWebhook(t, { name: 'unsigned', url: `${receiver.url}/unsigned`, events: [{ entity: 'MODEL_VERSION_TAG', action: 'SET' }] });
    await createModel(t, 'not-for-unsigned');
    await t.call('POST', 'model-versions/create', { name: 'not-for-unsigned', source: 's3://bucket/model' });
    const tag = await t.call('POST', 'model-versions/set-tag', { name: 'not-for-unsigned', version: '1', key: 'validated', value: 'true' });
    assert.equal(tag.status, 200, JSON.stringify(tag.body));
    const [request] = await receiver.waitFor(1, { filter: (r) => r.url === '/hook/unsigned' });
    assert.equal(request!.headers['x-mlflow-signature'], undefined);
    assert.deepEqual(bodyOf(request!).data, { name: 'not-for-unsigned', version: '1', key: 'validated', value: 'true' });
    // The model and version creations before it were not subscribed: still exactly one request.
    await t.server.dispatcher!.runOnce();
    assert.equal(receiver.requests.filter((r) => r.url === '/hook/unsigned').length, 1);
  });

  test('a receiver that is down for a while gets every event, once, when it is back', async () => {
    const down = await WebhookReceiver.create({ listening: false });
    const webhookId = await createWebhook(t, {
      name: 'flaky',
      url: down.url,
      secret: SECRET,
      events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
    });
    const names = ['down-1', 'down-2', 'down-3'];
    for (const name of names) await createModel(t, name);

    // Wait until every delivery has failed to connect several times: the receiver has been down
    // for a good number of attempts (measured in attempts, not in time).
    await eventually(async () => {
      const list = await deliveries(t, webhookId);
      return list.length === 3 && list.every((d) => d.status === 'PENDING' && d.attempts >= 3) ? list : undefined;
    }, { what: 'three retried deliveries' });
    const pending = await deliveries(t, webhookId);
    assert.ok(pending.every((d) => /ECONNREFUSED/.test(d.last_error ?? '')), JSON.stringify(pending));

    await down.start();
    try {
      const received = await down.waitFor(3);
      const delivered = await eventually(async () => {
        const list = await deliveries(t, webhookId);
        return list.every((d) => d.status === 'DELIVERED') ? list : undefined;
      }, { what: 'all deliveries to succeed' });
      await t.server.dispatcher!.runOnce();
      assert.equal(down.requests.length, 3, 'each event exactly once');
      assert.deepEqual(received.map((r) => bodyOf(r).data.name).sort(), names);
      assert.deepEqual(new Set(received.map((r) => r.headers['x-mlflow-delivery-id'])), new Set(delivered.map((d) => d.delivery_id)));
      for (const r of received) {
        assert.ok(verifyWebhookSignature(SECRET, String(r.headers['x-mlflow-delivery-id']), String(r.headers['x-mlflow-timestamp']), r.body, String(r.headers['x-mlflow-signature'])));
      }
      assert.ok(delivered.every((d) => d.attempts >= 4));
    } finally {
      await down.stop();
    }
  });

  test('a 4xx answer fails the delivery at once; 429 and 5xx are retried', async () => {
    const picky = await WebhookReceiver.create();
    try {
      // /gone answers 410 forever; /busy answers 429 (Retry-After: 0), then 503, then 200.
      let busyCalls = 0;
      picky.answer = (request) => {
        if (request.url.endsWith('/gone')) return { status: 410, body: 'no such hook' };
        busyCalls += 1;
        if (busyCalls === 1) return { status: 429, body: 'slow down', headers: { 'retry-after': '0' } };
        if (busyCalls === 2) return { status: 503, body: 'restarting' };
        return { status: 204 };
      };
      const gone = await createWebhook(t, { name: 'gone', url: `${picky.url}/gone`, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
      const busy = await createWebhook(t, { name: 'busy', url: `${picky.url}/busy`, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
      await createModel(t, 'status-codes');

      const failed = await eventually(async () => {
        const list = await deliveries(t, gone);
        return list[0]?.status === 'FAILED' ? list[0] : undefined;
      }, { what: 'the 410 delivery to fail' });
      assert.equal(failed.attempts, 1);
      assert.equal(failed.last_response_status, 410);

      const retried = await eventually(async () => {
        const list = await deliveries(t, busy);
        return list[0]?.status === 'DELIVERED' ? list[0] : undefined;
      }, { what: 'the busy delivery to succeed' });
      assert.equal(retried.attempts, 3);
      assert.equal(retried.last_response_status, 204);

      await t.server.dispatcher!.runOnce();
      assert.equal(picky.requests.filter((r) => r.url.endsWith('/gone')).length, 1, 'a refused delivery is not retried');
    } finally {
      await picky.stop();
    }
  });

  test('a receiver that never answers does not slow the API request that caused the event', async () => {
    const slow = await WebhookReceiver.create();
    slow.answer = () => ({ status: 200, hang: true });
    try {
      await createWebhook(t, { name: 'hanging', url: slow.url, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
      // The API answers while the receiver still holds the delivery's request open.
      await createModel(t, 'not-slowed');
      await slow.waitFor(1);
      const got = await t.call('GET', 'registered-models/get', { name: 'not-slowed' });
      assert.equal(got.status, 200);
    } finally {
      await slow.stop();
    }
  });

  test('disabled webhooks get nothing, and deleting a webhook cancels what it still had pending', async () => {
    const down = await WebhookReceiver.create({ listening: false });
    const disabled = await createWebhook(t, { name: 'disabled', url: down.url, status: 'DISABLED', events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
    const deleted = await createWebhook(t, { name: 'deleted', url: down.url, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
    await createModel(t, 'cancel-me');
    await eventually(async () => ((await deliveries(t, deleted))[0]?.attempts ?? 0) >= 1 || undefined, { what: 'a first attempt' });
    assert.equal((await t.call('DELETE', `${W}/${deleted}`)).status, 200);
    const log = await deliveries(t, deleted);
    assert.equal(log[0]!.status, 'CANCELLED');
    assert.equal(log[0]!.last_error, 'The webhook was deleted.');
    assert.deepEqual(await deliveries(t, disabled), []);
    await down.start();
    await t.server.dispatcher!.runOnce();
    assert.equal(down.requests.length, 0);
    await down.stop();
  });

  test('a delivery claimed by a dispatcher that died is sent by another once the lease runs out', async () => {
    const target = await WebhookReceiver.create();
    const fresh = await startTestServer({ webhooks: { dispatcher: false } });
    try {
      await createWebhook(fresh, { name: 'orphan', url: target.url, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
      await createModel(fresh, 'orphaned');
      const store = new SqlEventsStore(fresh.server.database.db);
      await store.fanOutEvents(100, Date.now());
      // The "dead" dispatcher: it claims with a lease that has already run out and never reports back.
      const claimed = await store.claimDueDeliveries({ limit: 10, now: Date.now(), leaseMs: -1, leaseToken: randomUUID() });
      assert.equal(claimed.length, 1);
      const survivor = new WebhookDispatcher(store, undefined, { ...FAST, urlPolicy: LOCAL_RECEIVERS });
      assert.equal(await survivor.runOnce(), 1);
      assert.equal(target.requests.length, 1);
      // A live lease is respected: nothing is due any more, and a second round sends nothing.
      assert.equal(await survivor.runOnce(), 0);
      assert.equal(target.requests.length, 1);
    } finally {
      await fresh.close();
      await target.stop();
    }
  });
});

describe('several dispatchers over one database', () => {
  test('two dispatchers on separate connections never deliver the same event twice', async () => {
    const receiver = await WebhookReceiver.create();
    // Slow answers keep many requests in flight, so both dispatchers claim from the same queue.
    receiver.answer = () => ({ status: 200, delayMs: 5 });
    const t = await startTestServer({ webhooks: { dispatcher: false } });
    const second = await openDatabase(t.backendStoreUri);
    const dispatchers: WebhookDispatcher[] = [];
    try {
      const hooks = 3;
      const events = 40;
      for (let i = 0; i < hooks; i++) {
        await createWebhook(t, { name: `racer-${i}`, url: `${receiver.url}/${i}`, events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }] });
      }
      for (let i = 0; i < events; i++) await createModel(t, `race-${i}`);

      // Each dispatcher counts what it sends, to show both took part in the race.
      const sent = [0, 0];
      const counting = (index: number): typeof fetch => (input, init) => {
        sent[index]! += 1;
        return fetch(input, init);
      };
      const options = { ...FAST, concurrency: 4, fanOutBatch: 7 };
      dispatchers.push(new WebhookDispatcher(new SqlEventsStore(t.server.database.db), undefined, { ...options, urlPolicy: LOCAL_RECEIVERS, fetch: counting(0) }));
      dispatchers.push(new WebhookDispatcher(new SqlEventsStore(second.db), undefined, { ...options, urlPolicy: LOCAL_RECEIVERS, fetch: counting(1) }));
      for (const d of dispatchers) d.start();

      const received = await receiver.waitFor(hooks * events);
      await Promise.all(dispatchers.map((d) => d.stop()));
      // Anything still due after both stopped would be sent here.
      assert.equal(await new WebhookDispatcher(new SqlEventsStore(t.server.database.db), undefined, { ...FAST, urlPolicy: LOCAL_RECEIVERS }).runOnce(), 0);

      assert.equal(receiver.requests.length, hooks * events);
      const ids = received.map((r) => String(r.headers['x-mlflow-delivery-id']));
      assert.equal(new Set(ids).size, ids.length, 'every delivery id once');
      const pairs = received.map((r) => `${r.url} ${String(bodyOf(r).data.name)}`);
      assert.equal(new Set(pairs).size, hooks * events, 'every (webhook, event) once');
      assert.ok(sent[0]! > 0 && sent[1]! > 0, `both dispatchers delivered (${sent.join(' / ')})`);
      assert.equal(sent[0]! + sent[1]!, hooks * events);
    } finally {
      for (const d of dispatchers) await d.stop();
      await second.close();
      await t.close();
      await receiver.stop();
    }
  });
});
