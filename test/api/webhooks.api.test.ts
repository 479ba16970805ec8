import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyWebhookSignature } from '../../src/domain/webhooks/signature.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const W = '/api/2.0/mlflow/webhooks';
const MODEL_VERSION_CREATED = { entity: 'MODEL_VERSION', action: 'CREATED' };
const SECRET = 'whsec-do-not-leak-7f3a';

describe('webhook API (MLflow 3 webhooks.proto)', () => {
  let t: TestServer;
  let receiver: WebhookReceiver;

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: false } });
    receiver = await WebhookReceiver.create();
  });
  after(async () => {
    await receiver.stop();
    await t.close();
  });

  async function create(fields: Record<string, unknown>): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await t.call('POST', W, { name: 'hook', url: receiver.url, events: [MODEL_VERSION_CREATED], ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.webhook;
  }

  test('creating a webhook returns it with enum names, ACTIVE by default, and never the secret', async () => {
    const res = await t.inject({
      method: 'POST',
      url: W,
      payload: {
        name: 'ci-trigger',
        url: receiver.url,
        description: 'kick off CI',
        secret: SECRET,
        events: [MODEL_VERSION_CREATED, { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
      },
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!res.body.includes(SECRET), 'the secret is never returned');
    const webhook = JSON.parse(res.body).webhook;
    assert.match(webhook.webhook_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(webhook.name, 'ci-trigger');
    assert.equal(webhook.description, 'kick off CI');
    assert.equal(webhook.url, receiver.url);
    assert.equal(webhook.status, 'ACTIVE');
    assert.equal(typeof webhook.creation_timestamp, 'number');
    assert.equal(webhook.last_updated_timestamp, webhook.creation_timestamp);
    assert.deepEqual(
      [...webhook.events].sort((a: { entity: string }, b: { entity: string }) => a.entity.localeCompare(b.entity)),
      [MODEL_VERSION_CREATED, { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }].sort((a, b) => a.entity.localeCompare(b.entity)),
    );
    assert.equal('secret' in webhook, false);

    const got = await t.inject({ method: 'GET', url: `${W}/${webhook.webhook_id}` });
    assert.equal(got.statusCode, 200);
    assert.ok(!got.body.includes(SECRET));
    assert.deepEqual(JSON.parse(got.body).webhook, webhook);
  });

  test('events are accepted as lower-case values and enum numbers, and a status can be given', async () => {
    const webhook = await create({
      name: 'mixed.spelling_1',
      // 3 = MODEL_VERSION_TAG, 4 = SET in webhooks.proto
      events: [{ entity: 'registered_model', action: 'created' }, { entity: 3, action: 4 }],
      status: 'DISABLED',
    });
    assert.equal(webhook.status, 'DISABLED');
    const names = webhook.events.map((e: { entity: string; action: string }) => `${e.entity}.${e.action}`).sort();
    assert.deepEqual(names, ['MODEL_VERSION_TAG.SET', 'REGISTERED_MODEL.CREATED']);
  });

  test('required fields are reported with MLflow\'s missing-parameter message', async () => {
    for (const [field, body] of [
      ['name', { url: receiver.url, events: [MODEL_VERSION_CREATED] }],
      ['url', { name: 'x', events: [MODEL_VERSION_CREATED] }],
      ['events', { name: 'x', url: receiver.url }],
      ['events', { name: 'x', url: receiver.url, events: [] }],
    ] as const) {
      const res = await t.call('POST', W, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.equal(res.body.message, `Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`);
    }
  });

  test('an invalid name is refused with MLflow\'s message', async () => {
    for (const name of ['-leading-dash', 'has space', 'x'.repeat(64), 'trailing.']) {
      const res = await t.call('POST', W, { name, url: receiver.url, events: [MODEL_VERSION_CREATED] });
      assert.equal(res.status, 400, name);
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(res.body.message, /^Webhook name '.*' is invalid\. It must start and end with a letter or digit/);
    }
  });

  test('a URL that is not http(s) is refused and nothing is created', async () => {
    const before = (await t.call('GET', W, { max_results: 1000 })).body.webhooks?.length ?? 0;
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'example.com/hook', '   ']) {
      const res = await t.call('POST', W, { name: 'bad-url', url, events: [MODEL_VERSION_CREATED] });
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(res.body.message, /Webhook URL|webhook URL scheme/, url);
    }
    const res = await t.call('POST', W, { name: 'bad-url', url: 'ftp://example.com/hook', events: [MODEL_VERSION_CREATED] });
    assert.equal(res.body.message, "Invalid webhook URL scheme: 'ftp'. Allowed schemes are: http, https.");
    const afterCount = (await t.call('GET', W, { max_results: 1000 })).body.webhooks?.length ?? 0;
    assert.equal(afterCount, before);
  });

  test('only the entity/action pairs MLflow defines are accepted', async () => {
    const bad = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: [{ entity: 'REGISTERED_MODEL', action: 'DELETED' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, "Invalid action 'deleted' for entity 'registered_model'. Valid actions are: ['created']");
    const tag = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: [{ entity: 'MODEL_VERSION_TAG', action: 'CREATED' }] });
    assert.equal(tag.body.message, "Invalid action 'created' for entity 'model_version_tag'. Valid actions are: ['deleted', 'set']");
    const unknownEntity = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: [{ entity: 'EXPERIMENT', action: 'CREATED' }] });
    assert.equal(unknownEntity.status, 400);
    assert.match(unknownEntity.body.message, /^Invalid webhook event entity "EXPERIMENT"/);
    const unspecified = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: [{ entity: 0, action: 1 }] });
    assert.equal(unspecified.status, 400);
    const notObject = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: ['model_version.created'] });
    assert.equal(notObject.status, 400);
    const badStatus = await t.call('POST', W, { name: 'pairs', url: receiver.url, events: [MODEL_VERSION_CREATED], status: 'PAUSED' });
    assert.equal(badStatus.status, 400);
    assert.match(badStatus.body.message, /Valid statuses are: ACTIVE, DISABLED/);
  });

  test('an unknown webhook id is a 404 for get, update, delete, test and the delivery log', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const message = `Webhook with ID ${id} not found.`;
    for (const res of [
      await t.call('GET', `${W}/${id}`),
      await t.call('PATCH', `${W}/${id}`, { name: 'x' }),
      await t.call('DELETE', `${W}/${id}`),
      await t.call('POST', `${W}/${id}/test`, {}),
      await t.call('GET', `/api/2.0/trove/webhooks/${id}/deliveries`),
    ]) {
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message });
    }
  });

  test('listing pages newest first with max_results and page_token, as upstream', async () => {
    const fresh = await startTestServer({ webhooks: { dispatcher: false } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fresh.call('POST', W, { name: `hook-${i}`, url: receiver.url, events: [MODEL_VERSION_CREATED] });
        ids.push(res.body.webhook.webhook_id);
      }
      const first = await fresh.call('GET', W, { max_results: 2 });
      assert.equal(first.status, 200);
      assert.equal(first.body.webhooks.length, 2);
      assert.ok(first.body.next_page_token);
      const second = await fresh.call('GET', W, { max_results: 2, page_token: first.body.next_page_token });
      const third = await fresh.call('GET', W, { max_results: 2, page_token: second.body.next_page_token });
      assert.equal(third.body.webhooks.length, 1);
      assert.equal(third.body.next_page_token, undefined);
      const seen = [...first.body.webhooks, ...second.body.webhooks, ...third.body.webhooks].map((w: { webhook_id: string }) => w.webhook_id);
      assert.deepEqual(seen, [...ids].reverse());

      const all = await fresh.call('GET', W);
      assert.equal(all.body.webhooks.length, 5);
      assert.equal((await fresh.call('GET', W, { max_results: 1001 })).status, 400);
      assert.equal((await fresh.call('GET', W, { max_results: 1001 })).body.message, 'max_results must be between 1 and 1000.');
      assert.equal((await fresh.call('GET', W, { page_token: 'not a token!' })).status, 400);
    } finally {
      await fresh.close();
    }
  });

  test('an empty list is an empty object', async () => {
    const fresh = await startTestServer({ webhooks: { dispatcher: false } });
    try {
      const res = await fresh.call('GET', W);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
    } finally {
      await fresh.close();
    }
  });

  test('updating changes only the fields sent; empty name, url and events mean unchanged', async () => {
    const webhook = await create({ name: 'to-update', description: 'first', secret: SECRET });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const res = await t.inject({
      method: 'PATCH',
      url: `${W}/${webhook.webhook_id}`,
      payload: { name: '', url: '', events: [], description: 'second', status: 'DISABLED' },
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!res.body.includes(SECRET));
    const updated = JSON.parse(res.body).webhook;
    assert.equal(updated.name, 'to-update');
    assert.equal(updated.url, receiver.url);
    assert.deepEqual(updated.events, [MODEL_VERSION_CREATED]);
    assert.equal(updated.description, 'second');
    assert.equal(updated.status, 'DISABLED');
    assert.ok(updated.last_updated_timestamp >= webhook.last_updated_timestamp);
    assert.equal(updated.creation_timestamp, webhook.creation_timestamp);

    const renamed = await t.call('PATCH', `${W}/${webhook.webhook_id}`, {
      name: 'renamed',
      url: `${receiver.url}?v=2`,
      events: [{ entity: 'MODEL_VERSION_TAG', action: 'SET' }],
      status: 'ACTIVE',
      description: '',
    });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.webhook.name, 'renamed');
    assert.equal(renamed.body.webhook.url, `${receiver.url}?v=2`);
    assert.deepEqual(renamed.body.webhook.events, [{ entity: 'MODEL_VERSION_TAG', action: 'SET' }]);
    assert.equal(renamed.body.webhook.status, 'ACTIVE');
    assert.equal(renamed.body.webhook.description, undefined);
  });

  test('an invalid update is refused and changes nothing', async () => {
    const webhook = await create({ name: 'stable' });
    for (const body of [
      { url: 'ftp://x/y', name: 'changed' },
      { name: 'bad name!' },
      { events: [{ entity: 'MODEL_VERSION', action: 'DELETED' }] },
      { status: 'SOMETIMES' },
    ]) {
      const res = await t.call('PATCH', `${W}/${webhook.webhook_id}`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    const got = await t.call('GET', `${W}/${webhook.webhook_id}`);
    assert.equal(got.body.webhook.name, 'stable');
    assert.equal(got.body.webhook.url, receiver.url);
    assert.deepEqual(got.body.webhook.events, [MODEL_VERSION_CREATED]);
  });

  test('deleting a webhook hides it from get and list; deleting it again is a 404', async () => {
    const webhook = await create({ name: 'to-delete' });
    const res = await t.call('DELETE', `${W}/${webhook.webhook_id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal((await t.call('GET', `${W}/${webhook.webhook_id}`)).status, 404);
    const listed = await t.call('GET', W, { max_results: 1000 });
    assert.ok(!(listed.body.webhooks ?? []).some((w: { webhook_id: string }) => w.webhook_id === webhook.webhook_id));
    assert.equal((await t.call('DELETE', `${W}/${webhook.webhook_id}`)).status, 404);
    // The delivery log of a deleted webhook stays readable.
    const log = await t.call('GET', `/api/2.0/trove/webhooks/${webhook.webhook_id}/deliveries`);
    assert.equal(log.status, 200);
    assert.deepEqual(log.body, { deliveries: [] });
  });

  test('the test endpoint sends a signed example event now and reports the answer', async () => {
    const webhook = await create({ name: 'tested', secret: SECRET, events: [MODEL_VERSION_CREATED, { entity: 'MODEL_VERSION_TAG', action: 'SET' }] });
    receiver.answer = () => ({ status: 202, body: 'accepted by receiver' });
    const count = receiver.requests.length;
    const res = await t.call('POST', `${W}/${webhook.webhook_id}/test`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { result: { success: true, response_status: 202, response_body: 'accepted by receiver' } });
    assert.equal(receiver.requests.length, count + 1);
    const request = receiver.requests[count]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    const deliveryId = String(request.headers['x-mlflow-delivery-id']);
    const timestamp = String(request.headers['x-mlflow-timestamp']);
    assert.match(deliveryId, /^[0-9a-f-]{36}$/);
    assert.match(timestamp, /^\d{10}$/);
    assert.ok(verifyWebhookSignature(SECRET, deliveryId, timestamp, request.body, String(request.headers['x-mlflow-signature'])));
    assert.equal(verifyWebhookSignature('wrong-secret', deliveryId, timestamp, request.body, String(request.headers['x-mlflow-signature'])), false);
    const body = JSON.parse(request.body);
    assert.equal(body.entity, 'model_version');
    assert.equal(body.action, 'created');
    assert.match(body.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    assert.deepEqual(body.data, {
      name: 'example_model',
      version: '1',
      source: 'models:/123',
      run_id: 'abcd1234abcd5678',
      tags: { example_key: 'example_value' },
      description: 'An example model version',
    });

    const chosen = await t.call('POST', `${W}/${webhook.webhook_id}/test`, { event: { entity: 'MODEL_VERSION_TAG', action: 'SET' } });
    assert.equal(chosen.body.result.success, true);
    const tagBody = JSON.parse(receiver.requests[count + 1]!.body);
    assert.equal(`${tagBody.entity}.${tagBody.action}`, 'model_version_tag.set');
    assert.deepEqual(tagBody.data, { name: 'example_model', version: '1', key: 'example_key', value: 'example_value' });
    receiver.answer = () => ({ status: 200, body: 'ok' });
  });

  test('the test endpoint reports a failing receiver and an unreachable one without failing itself', async () => {
    const webhook = await create({ name: 'tested-failing' });
    receiver.answer = () => ({ status: 500, body: 'boom' });
    const failing = await t.call('POST', `${W}/${webhook.webhook_id}/test`, {});
    assert.equal(failing.status, 200);
    assert.deepEqual(failing.body, { result: { success: false, response_status: 500, response_body: 'boom' } });
    receiver.answer = () => ({ status: 200, body: 'ok' });

    const down = await WebhookReceiver.create({ listening: false });
    const unreachable = await create({ name: 'tested-down', url: down.url });
    const res = await t.call('POST', `${W}/${unreachable.webhook_id}/test`, {});
    assert.equal(res.status, 200);
    assert.equal(res.body.result.success, false);
    assert.equal(res.body.result.response_status, undefined);
    assert.match(res.body.result.error_message, /^Failed to test webhook: .*ECONNREFUSED/);

    const invalidEvent = await t.call('POST', `${W}/${webhook.webhook_id}/test`, { event: { entity: 'MODEL_VERSION', action: 'SET' } });
    assert.equal(invalidEvent.status, 400);
  });

  test('the delivery log validates its paging and status filter', async () => {
    const webhook = await create({ name: 'log-params' });
    const base = `/api/2.0/trove/webhooks/${webhook.webhook_id}/deliveries`;
    assert.deepEqual((await t.call('GET', base)).body, { deliveries: [] });
    assert.equal((await t.call('GET', base, { status: 'delivered' })).status, 200);
    const badStatus = await t.call('GET', base, { status: 'lost' });
    assert.equal(badStatus.status, 400);
    assert.match(badStatus.body.message, /Valid statuses are: PENDING, DELIVERED, FAILED, CANCELLED/);
    assert.equal((await t.call('GET', base, { max_results: 0 })).status, 200);
    assert.equal((await t.call('GET', base, { max_results: 5000 })).status, 400);
    assert.equal((await t.call('GET', `/ajax-api/2.0/trove/webhooks/${webhook.webhook_id}/deliveries`)).status, 200);
  });

  test('the UI mirror under /ajax-api serves the same API', async () => {
    const res = await t.call('POST', '/ajax-api/2.0/mlflow/webhooks', { name: 'via-ajax', url: receiver.url, events: [MODEL_VERSION_CREATED] });
    assert.equal(res.status, 200);
    const got = await t.call('GET', `/ajax-api/2.0/mlflow/webhooks/${res.body.webhook.webhook_id}`);
    assert.equal(got.body.webhook.name, 'via-ajax');
  });
});

describe('webhook URL policy', () => {
  test('with https required, http URLs are refused on create and update', async () => {
    const t = await startTestServer({ webhooks: { dispatcher: false, requireHttps: true } });
    try {
      const refused = await t.call('POST', W, { name: 'plain', url: 'http://hooks.example.com/x', events: [MODEL_VERSION_CREATED] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.message, "Invalid webhook URL scheme: 'http'. Allowed schemes are: https.");
      const ok = await t.call('POST', W, { name: 'tls', url: 'https://hooks.example.com/x', events: [MODEL_VERSION_CREATED] });
      assert.equal(ok.status, 200);
      const update = await t.call('PATCH', `${W}/${ok.body.webhook.webhook_id}`, { url: 'http://hooks.example.com/x' });
      assert.equal(update.status, 400);
    } finally {
      await t.close();
    }
  });
});
