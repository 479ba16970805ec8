import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LookupAddress } from 'node:dns';
import { startTestServer, type TestServer } from './test-server.ts';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.ts';
import { privateAddressReason, webhookUrlPolicyFromEnv } from '../../src/domain/webhooks/url-guard.ts';
import { SECRET_KEY_FILE_NAME } from '../../src/domain/webhooks/secret-box.ts';
import { verifyWebhookSignature } from '../../src/domain/webhooks/signature.ts';
import { SqlEventsStore } from '../../src/store/sql/sql-events-store.ts';

const W = '/api/2.0/mlflow/webhooks';
const EVENTS = [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }];
const MLFLOW_DEFAULTS = { allowedSchemes: ['https'], allowPrivateIps: false };

/** Loopback, metadata and private destinations in the spellings an attacker would try. */
const INTERNAL_URLS = [
  'https://127.0.0.1/hook',
  'https://localhost/hook',
  'https://LOCALHOST./hook',
  'https://api.localhost/hook',
  'https://127.1/hook',
  'https://2130706433/hook',
  'https://0x7f000001/hook',
  'https://0177.0.0.1/hook',
  'https://0.0.0.0/hook',
  'https://[::1]/hook',
  'https://[::]/hook',
  'https://[::ffff:127.0.0.1]/hook',
  'https://[::ffff:169.254.169.254]/hook',
  'https://169.254.169.254/latest/meta-data/',
  'https://10.1.2.3/hook',
  'https://172.16.0.1/hook',
  'https://192.168.1.1/hook',
  'https://100.64.0.1/hook',
  'https://[fd00::1]/hook',
  'https://[fe80::1]/hook',
  'https://224.0.0.1/hook',
  'https://255.255.255.255/hook',
  'https://[64:ff9b::7f00:1]/hook',
];

describe('webhook SSRF guard with MLflow defaults (https only, no private addresses)', () => {
  let t: TestServer;
  // Names resolve as this table says (a stand-in for DNS: "rebind" answers public at creation and loopback later).
  const dnsAnswers = new Map<string, string[]>();
  const resolver = async (hostname: string): Promise<LookupAddress[]> => {
    const answer = dnsAnswers.get(hostname);
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: false, urlPolicy: MLFLOW_DEFAULTS, resolver } });
  });
  after(async () => t.close());

  test('creating a webhook for a loopback, link-local or private address is refused in every spelling', async () => {
    for (const [i, url] of INTERNAL_URLS.entries()) {
      const res = await t.call('POST', W, { name: `internal-${i}`, url, events: EVENTS });
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error_code, 'INVALID_PARAMETER_VALUE', url);
      assert.match(res.body.message, /MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS/, url);
    }
    const listed = await t.call('GET', W);
    assert.equal(listed.body.webhooks, undefined, 'nothing was created');
  });

  test('plain http is refused by default, as MLFLOW_WEBHOOK_ALLOWED_SCHEMES defaults to https', async () => {
    const res = await t.call('POST', W, { name: 'plain', url: 'http://hooks.example.com/x', events: EVENTS });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /scheme/);
  });

  test('a URL with user info is refused', async () => {
    const res = await t.call('POST', W, { name: 'creds', url: 'https://user:pw@hooks.example.com/x', events: EVENTS });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /user info/);
  });

  test('a host name that resolves to a private address is refused at creation', async () => {
    dnsAnswers.set('internal.example.test', ['93.184.216.34', '10.0.0.7']);
    const res = await t.call('POST', W, { name: 'dns-private', url: 'https://internal.example.test/x', events: EVENTS });
    assert.equal(res.status, 400);
    assert.match(res.body.message, /resolves to 10\.0\.0\.7/);
  });

  test('changing a webhook to an internal address is refused and leaves it as it was', async () => {
    dnsAnswers.set('hooks.example.test', ['93.184.216.34']);
    const created = await t.call('POST', W, { name: 'public', url: 'https://hooks.example.test/x', events: EVENTS });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = created.body.webhook.webhook_id as string;
    for (const url of ['https://169.254.169.254/latest/meta-data/', 'https://[::ffff:127.0.0.1]/', 'https://localhost:8080/']) {
      const res = await t.call('PATCH', `${W}/${id}`, { url });
      assert.equal(res.status, 400, url);
    }
    const got = await t.call('GET', `${W}/${id}`);
    assert.equal(got.body.webhook.url, 'https://hooks.example.test/x');
  });

  test('a name that resolves to a public address at creation and to loopback at delivery (DNS rebinding) is refused when connecting', async () => {
    const receiver = await WebhookReceiver.create();
    receiver.answer = () => ({ status: 200, body: 'internal admin panel' });
    const rebinding = await startTestServer({
      webhooks: { dispatcher: { pollIntervalMs: 20, retry: { baseDelayMs: 10_000 } }, urlPolicy: { allowedSchemes: ['http'], allowPrivateIps: false }, resolver },
    });
    try {
      dnsAnswers.set('rebind.example.test', ['93.184.216.34']);
      const created = await rebinding.call('POST', W, { name: 'rebind', url: `http://rebind.example.test:${receiver.port}/hook`, events: EVENTS });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = created.body.webhook.webhook_id as string;
      dnsAnswers.set('rebind.example.test', ['127.0.0.1']);

      const tested = await rebinding.call('POST', `${W}/${id}/test`, {});
      assert.equal(tested.status, 200);
      assert.equal(tested.body.result.success, false);
      assert.equal(tested.body.result.response_body, undefined, 'no body of an internal service');
      assert.match(tested.body.result.error_message, /127\.0\.0\.1/);

      // A real event: the delivery is attempted, refused at connect time, and logged without any answer.
      const model = await rebinding.call('POST', 'registered-models/create', { name: 'rebind-model' });
      assert.equal(model.status, 200);
      const delivery = await eventually(async () => {
        const log = await rebinding.call('GET', `/api/2.0/trove/webhooks/${id}/deliveries`);
        const first = log.body.deliveries?.[0];
        return first?.attempts > 0 ? first : undefined;
      });
      assert.match(delivery.last_error, /refused/);
      assert.equal(delivery.last_response_body, undefined);
      assert.equal(receiver.requests.length, 0, 'the internal service got no request');
    } finally {
      await rebinding.close();
      await receiver.stop();
    }
  });
});

describe('webhook responses and secrets', () => {
  let t: TestServer;
  let receiver: WebhookReceiver;
  before(async () => {
    t = await startTestServer({ webhooks: { dispatcher: { pollIntervalMs: 20 } } });
    receiver = await WebhookReceiver.create();
  });
  after(async () => {
    await receiver.stop();
    await t.close();
  });

  test('the delivery log keeps a summary of the answer, never its content', async () => {
    receiver.answer = () => ({ status: 200, body: 'db_password=hunter2 and other things the receiver said' });
    const created = await t.call('POST', W, { name: 'summary', url: receiver.url, events: EVENTS });
    const id = created.body.webhook.webhook_id as string;
    await t.call('POST', 'registered-models/create', { name: 'summarised' });
    const delivery = await eventually(async () => {
      const log = await t.call('GET', `/api/2.0/trove/webhooks/${id}/deliveries`);
      const first = log.body.deliveries?.[0];
      return first?.status === 'DELIVERED' ? first : undefined;
    });
    assert.equal(delivery.last_response_body, 'HTTP 200, 54 bytes, text/plain');
    assert.equal(delivery.last_response_status, 200);
  });

  test('the test endpoint shows at most the first KiB of an answer', async () => {
    receiver.answer = () => ({ status: 200, body: 'x'.repeat(50_000) });
    const created = await t.call('POST', W, { name: 'long-answer', url: receiver.url, events: EVENTS });
    const tested = await t.call('POST', `${W}/${created.body.webhook.webhook_id}/test`, {});
    assert.equal(tested.body.result.success, true);
    assert.equal(tested.body.result.response_body.length, 1024);
  });

  test('a redirect is reported, never followed', async () => {
    const inner = await WebhookReceiver.create();
    receiver.answer = () => ({ status: 302, headers: { location: inner.url } });
    try {
      const created = await t.call('POST', W, { name: 'redirect', url: receiver.url, events: EVENTS });
      const tested = await t.call('POST', `${W}/${created.body.webhook.webhook_id}/test`, {});
      assert.equal(tested.body.result.success, false);
      assert.equal(tested.body.result.response_status, 302);
      assert.equal(inner.requests.length, 0);
    } finally {
      await inner.stop();
    }
  });

  test('secrets are stored encrypted under a key file of mode 0600, and deliveries are still signed with them', async () => {
    receiver.answer = () => ({ status: 200, body: 'ok' });
    const secret = 'whsec-plain-text-must-not-be-stored';
    const created = await t.call('POST', W, { name: 'sealed', url: `${receiver.url}/sealed`, secret, events: EVENTS });
    assert.equal(created.status, 200);
    assert.equal(JSON.stringify(created.body).includes(secret), false, 'never returned');
    const stored = await new SqlEventsStore(t.server.database.db).listWebhookSecrets();
    assert.equal(stored.length, 1);
    assert.match(stored[0]!.secret, /^trove-secret:v1:/);
    assert.equal(stored[0]!.secret.includes(secret), false);
    const keyFile = path.join(t.dataDir, SECRET_KEY_FILE_NAME);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);

    await t.call('POST', 'registered-models/create', { name: 'signed-model' });
    const [request] = await receiver.waitFor(1, { filter: (r) => r.url === '/hook/sealed' });
    const h = request!.headers;
    assert.equal(
      verifyWebhookSignature(secret, String(h['x-mlflow-delivery-id']), String(h['x-mlflow-timestamp']), request!.body, String(h['x-mlflow-signature'])),
      true,
    );
  });

  test('plain-text secrets from before are encrypted when the server starts', async () => {
    const dataDir = t.dataDir;
    const store = new SqlEventsStore(t.server.database.db);
    const [row] = await store.listWebhookSecrets();
    await store.replaceWebhookSecret(row!.pk, row!.secret, 'legacy-plain-secret');
    const again = await startTestServer({ backendStoreUri: t.backendStoreUri, dataDir, webhooks: { dispatcher: false } });
    try {
      const [sealed] = await new SqlEventsStore(again.server.database.db).listWebhookSecrets();
      assert.match(sealed!.secret, /^trove-secret:v1:/);
    } finally {
      await again.server.close();
    }
  });
});

describe('webhook URL policy settings', () => {
  test('MLFLOW_WEBHOOK_ALLOWED_SCHEMES and MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS are read with MLflow’s defaults', () => {
    assert.deepEqual(webhookUrlPolicyFromEnv({}), { allowedSchemes: ['https'], allowPrivateIps: false });
    assert.deepEqual(webhookUrlPolicyFromEnv({ MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http, HTTPS', MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true' }), {
      allowedSchemes: ['http', 'https'],
      allowPrivateIps: true,
    });
  });

  test('public addresses pass and every special-purpose range is refused', () => {
    for (const ok of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1']) assert.equal(privateAddressReason(ok), null, ok);
    for (const bad of ['127.0.0.1', '0.0.0.0', '10.0.0.1', '169.254.169.254', '100.64.0.1', '192.168.0.1', '::1', '::', 'fd12::1', 'fe80::1', 'ff02::1', '::ffff:8.8.8.8']) {
      assert.notEqual(privateAddressReason(bad), null, bad);
    }
  });
});
