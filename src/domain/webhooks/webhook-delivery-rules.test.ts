import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyAnswer, DEFAULT_RETRY_POLICY, retryDelay, withinRetryWindow } from './retry-policy.ts';
import { signWebhookPayload, verifyWebhookSignature } from './signature.ts';
import { parseRetryAfter, pythonIsoTimestamp, webhookBody } from './webhook-sender.ts';
import { parseEvent } from './webhook-events.ts';
import { toOutboxEvent } from '../events/outbox-sink.ts';

describe('webhook delivery rules', () => {
  test('2xx is delivered; no answer, 408, 429 and 5xx are retried; other answers fail at once', () => {
    assert.equal(classifyAnswer(200), 'delivered');
    assert.equal(classifyAnswer(204), 'delivered');
    for (const status of [null, 408, 429, 500, 502, 503, 504]) assert.equal(classifyAnswer(status), 'retry', String(status));
    for (const status of [301, 302, 400, 401, 403, 404, 410, 422]) assert.equal(classifyAnswer(status), 'failed', String(status));
  });

  test('retries back off exponentially from 1 s, capped, and honour a longer Retry-After', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelay(n, null, policy)), [1000, 2000, 4000, 8000, 16000]);
    assert.equal(retryDelay(30, null, policy), policy.maxDelayMs);
    assert.equal(retryDelay(1, 120_000, policy), 120_000);
    assert.equal(retryDelay(9, 1000, policy), 256_000, 'a shorter Retry-After does not shorten the backoff');
    assert.equal(retryDelay(1, 10 * 3600_000, policy), policy.maxRetryAfterMs);
    const jittered = retryDelay(3, null, { ...policy, jitter: 0.5 }, () => 1);
    assert.equal(jittered, 6000);
  });

  test('a delivery is retried for 24 hours by default, far longer than a receiver restart', () => {
    assert.ok(withinRetryWindow(0, 60 * 60 * 1000, DEFAULT_RETRY_POLICY));
    assert.ok(withinRetryWindow(0, 24 * 60 * 60 * 1000, DEFAULT_RETRY_POLICY));
    assert.equal(withinRetryWindow(0, 24 * 60 * 60 * 1000 + 1, DEFAULT_RETRY_POLICY), false);
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('7', 0), 7000);
    assert.equal(parseRetryAfter(new Date(65_000).toUTCString(), 5_000), 60_000);
    assert.equal(parseRetryAfter('soon', 0), null);
    assert.equal(parseRetryAfter(null, 0), null);
  });

  test('the signature is MLflow\'s v1 HMAC-SHA256 over id, timestamp and body', () => {
    // The value Python's hmac gives for MLflow's recipe (mlflow/webhooks/delivery.py _generate_hmac_signature).
    assert.equal(signWebhookPayload('s3cret', 'id-1', '1700000000', '{"a": 1}'), 'v1,YW5PRvKTy+IERaaAfKQzg15qWC7EzIzNmMWjrKRbRvY=');
    const header = signWebhookPayload('s3cret', 'id-1', '1700000000', 'body');
    assert.ok(verifyWebhookSignature('s3cret', 'id-1', '1700000000', 'body', header));
    assert.ok(verifyWebhookSignature('s3cret', 'id-1', '1700000000', 'body', `v1,bogus ${header}`));
    assert.equal(verifyWebhookSignature('s3cret', 'id-1', '1700000001', 'body', header), false);
    assert.equal(verifyWebhookSignature('other', 'id-1', '1700000000', 'body', header), false);
  });

  test('the payload carries Python-style ISO timestamps', () => {
    assert.equal(pythonIsoTimestamp(Date.UTC(2025, 5, 1, 12, 0, 0, 123)), '2025-06-01T12:00:00.123000+00:00');
    const body = JSON.parse(webhookBody({ entity: 'model_version', action: 'created', eventTimestamp: 0, data: { name: 'm' } }));
    assert.deepEqual(body, { entity: 'model_version', action: 'created', timestamp: '1970-01-01T00:00:00.000000+00:00', data: { name: 'm' } });
  });

  test('events parse from proto names, values and numbers', () => {
    assert.deepEqual(parseEvent({ entity: 'PROMPT_ALIAS', action: 'DELETED' }), { entity: 'prompt_alias', action: 'deleted' });
    assert.deepEqual(parseEvent({ entity: 'budget_policy', action: 'exceeded' }), { entity: 'budget_policy', action: 'exceeded' });
    assert.deepEqual(parseEvent({ entity: '2', action: 1 }), { entity: 'model_version', action: 'created' });
    assert.throws(() => parseEvent({ entity: 'MODEL_VERSION' }), /Invalid webhook event action null/);
  });

  test('prompt changes become MLflow\'s prompt events with prompt payloads', () => {
    const base = { name: 'greeting', timestamp: 1 };
    const created = toOutboxEvent({
      ...base,
      entity: 'registered_model',
      action: 'created',
      data: { name: 'greeting', tags: { 'mlflow.prompt.is_prompt': 'true', _mlflow_prompt_type: 'text', team: 'x' }, description: null, is_prompt: true },
    });
    assert.deepEqual(created, { ...base, entity: 'prompt', action: 'created', data: { name: 'greeting', tags: { team: 'x' }, description: null } });
    const version = toOutboxEvent({
      ...base,
      entity: 'model_version',
      action: 'created',
      data: { name: 'greeting', version: '2', source: 'x', run_id: null, tags: { 'mlflow.prompt.text': 'Hi {{name}}', 'mlflow.prompt.is_prompt': 'true', k: 'v' }, description: 'd', is_prompt: true },
    });
    assert.deepEqual(version.data, { name: 'greeting', version: '2', template: 'Hi {{name}}', tags: { k: 'v' }, description: 'd' });
    assert.equal(version.entity, 'prompt_version');
    const tag = toOutboxEvent({ ...base, entity: 'registered_model', action: 'updated', data: { name: 'greeting', tag: { key: 'k', value: 'v' }, is_prompt: true } });
    assert.deepEqual([tag.entity, tag.action, tag.data], ['prompt_tag', 'set', { name: 'greeting', key: 'k', value: 'v' }]);
    const alias = toOutboxEvent({ ...base, entity: 'model_version_alias', action: 'deleted', data: { name: 'greeting', alias: 'prod', is_prompt: true } });
    assert.deepEqual([alias.entity, alias.data], ['prompt_alias', { name: 'greeting', alias: 'prod' }]);
    const plain = toOutboxEvent({ ...base, entity: 'model_version_alias', action: 'created', data: { name: 'm', alias: 'a', version: '1' } });
    assert.deepEqual([plain.entity, plain.data], ['model_version_alias', { name: 'm', alias: 'a', version: '1' }]);
  });
});
